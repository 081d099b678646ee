package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	osexec "os/exec"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/ebpf"
)

// profile is what the sources of a watch supply, as they actually came
// up: the eBPF sensor with the hooks that attached, /proc scanning when it
// fell back, auditd with the rules the kernel holds now.
func profile(ctx context.Context, sources []Source, levels blindspot.AuditLevels, log *slog.Logger) blindspot.Profile {
	var p blindspot.Profile
	for _, s := range sources {
		switch r := s.Reader.(type) {
		case *ebpf.Sensor:
			hooks := map[string]bool{}
			for _, h := range r.Hooks() {
				hooks[h.Name] = h.Live
			}
			p.Feeds = append(p.Feeds, blindspot.EBPFFeed(hooks))
			continue
		}
		switch name := s.Reader.Name(); {
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
	p.Audit = levels
	return p
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

// startCoverage grades the rules against what the watch's sources supply
// and records what is short. Rules none of whose sources was given (node
// rules on an audit-only watch) are one line, not one each.
func startCoverage(ctx context.Context, obs *blindspot.Observer, rules []*runtime.Rule, sources []Source, levels blindspot.AuditLevels, log *slog.Logger) {
	prof := profile(ctx, sources, levels, log)
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
