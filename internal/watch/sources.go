package watch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/auditd"
	"github.com/bulwarkdev/bulwark/internal/source/docker"
	"github.com/bulwarkdev/bulwark/internal/source/ebpf"
	"github.com/bulwarkdev/bulwark/internal/source/falco"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
	"github.com/bulwarkdev/bulwark/internal/source/procscan"
)

// Source is one started event source and how to release it.
type Source struct {
	Reader event.Reader
	Close  func() error
}

// SourceConfig chooses the sources of a watch. Zero values leave a source
// off. Flag combinations are the caller's to check; this only starts what
// it is given.
type SourceConfig struct {
	// AuditWebhook serves the API server's audit webhook backend.
	AuditWebhook *k8saudit.WebhookOptions
	// AuditLogs are audit log files followed across rotation.
	AuditLogs []string
	// Docker watches the Engine API event stream.
	Docker *docker.Options
	// EBPF runs the node sensor, falling back to /proc scanning when it
	// cannot load; Proc runs /proc scanning only.
	EBPF, Proc   bool
	ProcInterval time.Duration
	// ProcPoll makes /proc scanning poll for processes even where the
	// kernel's process events could be used (to compare the two).
	ProcPoll bool
	// Auditd follows the Linux audit log at this path.
	Auditd string
	// Falco reads Falco JSON output from this file, or Stdin for "-".
	Falco string
	Stdin io.Reader
	// Cluster and Node name the events that carry no name of their own.
	Cluster, Node string
	// CheckpointDir keeps the followed logs' positions ("": none).
	CheckpointDir string
	Logger        *slog.Logger
}

// builder starts the sources one part of the config asks for.
type builder func(ctx context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error)

// builders is the table of sources, in start-up order.
var builders = []builder{
	auditWebhookSource,
	auditLogSources,
	dockerSource,
	nodeSensorSource,
	auditdSource,
	falcoSource,
}

// OpenSources starts every source c chooses. On an error the ones already
// started are closed.
func OpenSources(ctx context.Context, c SourceConfig) ([]Source, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out []Source
	for _, b := range builders {
		ss, err := b(ctx, &c, log)
		out = append(out, ss...)
		if err != nil {
			CloseSources(out, log)
			return nil, err
		}
	}
	return out, nil
}

// CloseSources releases sources, logging what fails.
func CloseSources(sources []Source, log *slog.Logger) {
	for _, s := range sources {
		if s.Close != nil {
			if err := s.Close(); err != nil {
				log.Warn("closing runtime source", "source", s.Reader.Name(), "err", err)
			}
		}
	}
}

func auditWebhookSource(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	if c.AuditWebhook == nil {
		return nil, nil
	}
	o := *c.AuditWebhook
	if o.Cluster == "" {
		o.Cluster = c.Cluster
	}
	if o.Logger == nil {
		o.Logger = log
	}
	w, err := k8saudit.NewWebhook(o)
	if err != nil {
		return nil, fmt.Errorf("starting the audit webhook receiver: %w", err)
	}
	return []Source{{Reader: w}}, nil
}

func auditLogSources(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	var out []Source
	for _, path := range c.AuditLogs {
		t := k8saudit.NewTailer(k8saudit.TailerOptions{Path: path, Cluster: c.Cluster, Logger: log,
			CheckpointPath: CheckpointPath(c.CheckpointDir, "k8s-audit", path)})
		out = append(out, Source{Reader: t})
	}
	if len(out) > 0 && c.CheckpointDir != "" {
		if err := os.MkdirAll(c.CheckpointDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
		}
	}
	return out, nil
}

func dockerSource(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	if c.Docker == nil {
		return nil, nil
	}
	o := *c.Docker
	if o.Logger == nil {
		o.Logger = log
	}
	if o.NodeName == "" {
		o.NodeName = c.Node
	}
	s, err := docker.New(o)
	if err != nil {
		return nil, fmt.Errorf("starting the docker source: %w", err)
	}
	return []Source{{Reader: s, Close: s.Close}}, nil
}

// nodeSensorSource is the eBPF sensor, or /proc scanning when Proc is set
// or the sensor cannot load.
func nodeSensorSource(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	if !c.EBPF && !c.Proc {
		return nil, nil
	}
	if c.EBPF {
		s, err := ebpf.New(ebpf.Options{Logger: log, NodeName: c.Node})
		if err == nil {
			for _, h := range s.Hooks() {
				if h.Live {
					log.Info("ebpf hook live", "hook", h.Name)
				} else {
					log.Warn("ebpf hook not attached", "hook", h.Name, "err", h.Err)
				}
			}
			return []Source{{Reader: s, Close: s.Close}}, nil
		}
		log.Warn("ebpf sensor cannot load; falling back to /proc scanning (short-lived processes may be missed)", "err", err)
	}
	return []Source{{Reader: procscan.New(procscan.Options{Interval: c.ProcInterval, Logger: log, NodeName: c.Node, Poll: c.ProcPoll})}}, nil
}

func auditdSource(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	if c.Auditd == "" {
		return nil, nil
	}
	cp := CheckpointPath(c.CheckpointDir, "auditd", c.Auditd)
	if cp != "" {
		if err := os.MkdirAll(c.CheckpointDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
		}
	}
	// FromEnd: a first start does not replay the node's whole audit
	// history; later starts resume from the checkpoint.
	t := auditd.NewTailer(auditd.Options{Path: c.Auditd, CheckpointPath: cp, Host: c.Node, FromEnd: true, Logger: log})
	return []Source{{Reader: t}}, nil
}

func falcoSource(_ context.Context, c *SourceConfig, log *slog.Logger) ([]Source, error) {
	if c.Falco == "" {
		return nil, nil
	}
	o := falco.Options{Logger: log}
	if c.Falco == "-" {
		o.Input = c.Stdin
	} else {
		o.Path = c.Falco
		o.CheckpointPath = CheckpointPath(c.CheckpointDir, "falco", c.Falco)
		if o.CheckpointPath != "" {
			if err := os.MkdirAll(c.CheckpointDir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
			}
		}
	}
	r, err := falco.NewReader(o)
	if err != nil {
		return nil, fmt.Errorf("starting the falco source: %w", err)
	}
	return []Source{{Reader: r}}, nil
}

// CheckpointPath names the position file of one followed log inside dir.
func CheckpointPath(dir, kind, path string) string {
	if dir == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	name := strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(strings.TrimPrefix(abs, "/"))
	return filepath.Join(dir, kind+"-"+name+".checkpoint")
}
