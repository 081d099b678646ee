package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/auditpolicy"
	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/auditd"
	"github.com/bulwarkdev/bulwark/internal/source/ebpf"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// coverageFlags describe the sources `rules list --coverage` judges the
// rules against.
type coverageFlags struct {
	coverage      bool
	sources       []string
	auditLevel    string
	auditPolicy   string
	auditctlRules string
}

func (c *coverageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&c.coverage, "coverage", false, "show which rules the given sources let fire fully, partly or not at all, and why")
	fl.StringSliceVar(&c.sources, "sources", []string{"k8s-audit", "docker", "ebpf", "auditd", "falco"}, "with --coverage: the sources a watch or replay has (k8s-audit, docker, ebpf, proc, auditd, falco)")
	fl.StringVar(&c.auditLevel, "audit-level", "", "with --coverage: the level every audit event is recorded at (Metadata, Request, RequestResponse)")
	fl.StringVar(&c.auditPolicy, "audit-policy", "", "with --coverage: the API server's audit policy file, evaluated for each rule's requests")
	fl.StringVar(&c.auditctlRules, "auditctl-rules", "", "with --coverage: a `FILE` holding the node's \"auditctl -l\" output (default: auditd assumed to have Bulwark's rules)")
}

func (c *coverageFlags) profile() (blindspot.Profile, error) {
	var p blindspot.Profile
	for _, s := range c.sources {
		src := event.Source(strings.TrimSpace(s))
		switch src {
		case event.SourceK8sAudit, event.SourceDocker, event.SourceEBPF, event.SourceProc, event.SourceFalco:
			p.Feeds = append(p.Feeds, blindspot.SourceFeed(src))
		case event.SourceAuditd:
			if c.auditctlRules == "" {
				p.Feeds = append(p.Feeds, blindspot.SourceFeed(src))
				continue
			}
			b, err := os.ReadFile(c.auditctlRules)
			if err != nil {
				return p, fmt.Errorf("reading --auditctl-rules: %w", err)
			}
			p.Feeds = append(p.Feeds, blindspot.AuditdFeed(string(b), ""))
		default:
			return p, &usageError{fmt.Errorf("--sources: unknown source %q", s)}
		}
	}
	levels, err := auditLevels(c.auditLevel, c.auditPolicy)
	if err != nil {
		return p, err
	}
	p.Audit = levels
	return p, nil
}

// auditLevels reads --audit-level or --audit-policy (nil: neither given).
func auditLevels(level, policyFile string) (blindspot.AuditLevels, error) {
	switch {
	case level != "" && policyFile != "":
		return nil, &usageError{errors.New("--audit-level and --audit-policy: give one")}
	case level != "":
		l, err := runtime.ParseAuditLevel(level)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--audit-level: %w", err)}
		}
		return blindspot.FixedLevel(l), nil
	case policyFile != "":
		fh, err := os.Open(policyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the audit policy: %w", err)
		}
		defer fh.Close()
		pol, err := auditpolicy.Parse(fh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", policyFile, err)
		}
		return auditpolicy.Levels{Policy: pol}, nil
	}
	return nil, nil
}

func writeCoverage(w io.Writer, cs []blindspot.Coverage, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if cs == nil {
			cs = []blindspot.Coverage{}
		}
		return enc.Encode(cs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOVERAGE\tWHY")
	counts := map[blindspot.Grade]int{}
	for _, c := range cs {
		counts[c.Grade]++
		why := strings.Join(c.Reasons, "; ")
		if why == "" {
			why = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Rule, c.Grade, termSafe(why))
	}
	fmt.Fprintf(tw, "\n%d rules: %d full, %d partial, %d blind\n", len(cs), counts[blindspot.Full], counts[blindspot.Partial], counts[blindspot.Blind])
	return tw.Flush()
}

// termSafe keeps a reason on one line, with control characters from
// events (resource names, verbs) escaped.
func termSafe(s string) string { return text.Escape(strings.Join(strings.Fields(s), " ")) }

func newRuntimeAuditPolicyCmd(g *globalFlags, f *runtimeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "audit-policy",
		Short: "Print the Kubernetes audit policy that gives every rule what it reads at the least cost, with the API server flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := runtime.Load(cmd.Context(), f.options(g))
			if err != nil {
				return err
			}
			return auditpolicy.Write(cmd.OutOrStdout(), auditpolicy.Generate(rs.Enabled()))
		},
	}
}

func newRuntimeAuditdRulesCmd(g *globalFlags, f *runtimeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "auditd-rules",
		Short: "Print the Linux audit rules that give the auditd source the events the rules read",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := runtime.Load(cmd.Context(), f.options(g))
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), auditd.Rules(auditdKinds(rs.Enabled())))
			return err
		},
	}
}

// auditdKinds are the node event kinds of the rules that read auditd.
func auditdKinds(rules []*runtime.Rule) []event.Kind {
	seen := map[event.Kind]bool{}
	var out []event.Kind
	for _, r := range rules {
		reads := len(r.Sources) == 0
		for _, s := range r.Sources {
			reads = reads || s == event.SourceAuditd
		}
		if !reads {
			continue
		}
		for _, k := range r.Kinds {
			switch k {
			case event.KindProcessExec, event.KindNetConnect, event.KindFile, event.KindNamespace:
				if !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// watchProfile is what the sources of a watch supply, as they actually
// came up: the eBPF sensor with the hooks that attached, /proc scanning
// when it fell back, auditd with the rules the kernel holds now.
func watchProfile(ctx context.Context, sources []watchSource, auditPolicy string, log *slog.Logger) (blindspot.Profile, error) {
	var p blindspot.Profile
	for _, s := range sources {
		switch r := s.r.(type) {
		case *ebpf.Sensor:
			hooks := map[string]bool{}
			for _, h := range r.Hooks() {
				hooks[h.Name] = h.Live
			}
			p.Feeds = append(p.Feeds, blindspot.EBPFFeed(hooks))
			continue
		}
		switch name := s.r.Name(); {
		case strings.HasPrefix(name, "k8s-audit"):
			p.Feeds = append(p.Feeds, blindspot.SourceFeed(event.SourceK8sAudit))
		case name == "auditd":
			if st, err := osexec.CommandContext(ctx, "auditctl", "-s").CombinedOutput(); err == nil && auditdStopped(string(st)) {
				p.Feeds = append(p.Feeds, blindspot.AuditdDown("auditctl -s reports no audit daemon (pid 0)"))
				continue
			}
			out, err := osexec.CommandContext(ctx, "auditctl", "-l").CombinedOutput()
			if err != nil {
				log.Warn("cannot list the kernel's audit rules; auditd coverage unknown", "err", err)
				p.Feeds = append(p.Feeds, blindspot.AuditdFeed("", fmt.Sprintf("auditctl -l: %v", err)))
				continue
			}
			p.Feeds = append(p.Feeds, blindspot.AuditdFeed(string(out), ""))
		default:
			p.Feeds = append(p.Feeds, blindspot.SourceFeed(event.Source(name)))
		}
	}
	levels, err := auditLevels("", auditPolicy)
	if err != nil {
		return p, err
	}
	p.Audit = levels
	return p, nil
}

// auditdStopped reads `auditctl -s`: the daemon's pid is 0 when none runs.
func auditdStopped(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "pid" {
			return f[1] == "0"
		}
	}
	return false
}

// newBlindObserver logs each blindness once, as it is first known.
func newBlindObserver(rules []*runtime.Rule, log *slog.Logger) *blindspot.Observer {
	return blindspot.NewObserver(rules, func(b blindspot.Blindness) {
		log.Warn("detection rule blind", "rule", b.Rule, "coverage", b.Grade, "reason", b.Reason)
	})
}

// startWatchCoverage grades the rules against what the watch's sources
// supply and records what is short. Rules none of whose sources was given
// (node rules on an audit-only watch) are one line, not one each.
func startWatchCoverage(ctx context.Context, obs *blindspot.Observer, rules []*runtime.Rule, sources []watchSource, auditPolicy string, log *slog.Logger) error {
	prof, err := watchProfile(ctx, sources, auditPolicy, log)
	if err != nil {
		return err
	}
	given := map[event.Source]bool{}
	for _, f := range prof.Feeds {
		given[f.Source] = true
	}
	var unwatched []string
	var degraded []blindspot.Coverage
	for _, c := range blindspot.Analyze(rules, prof) {
		if c.Grade == blindspot.Full {
			continue
		}
		if !readsAny(rules, c.Rule, given) {
			unwatched = append(unwatched, c.Rule)
			continue
		}
		degraded = append(degraded, c)
	}
	if len(unwatched) > 0 {
		log.Info("rules without any of their sources in this watch", "count", len(unwatched), "rules", strings.Join(unwatched, ","))
	}
	obs.AddCoverage(degraded)
	return nil
}

func readsAny(rules []*runtime.Rule, id string, given map[event.Source]bool) bool {
	for _, r := range rules {
		if r.ID != id {
			continue
		}
		for _, s := range r.Sources {
			if given[s] {
				return true
			}
		}
		return len(r.Sources) == 0
	}
	return false
}

// serveMetrics serves /metrics (the blind rules) on addr until ctx ends.
// Nothing else is served there.
func serveMetrics(ctx context.Context, addr string, obs *blindspot.Observer, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if err := obs.WriteMetrics(w); err != nil {
			log.Debug("writing metrics", "err", err)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
