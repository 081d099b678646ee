package dockerbench

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// CollectOptions configure Collect.
type CollectOptions struct {
	// Host is the engine address: unix:///var/run/docker.sock or tcp://….
	// Empty means DOCKER_HOST, else the default socket.
	Host string
	// Root is where the host's filesystem is mounted, "/" by default. With
	// another root, host paths (and symlinks in them) are resolved inside
	// it and never escape it.
	Root string
	// KnownLatestDocker is the newest Docker release the user considers
	// current, for 1.2.2 (optional).
	KnownLatestDocker string
	Logger            *slog.Logger
	// Auditctl runs `auditctl -l` and returns its lines. nil: exec it when
	// Root is "/" and the binary exists. Injectable for tests.
	Auditctl func(ctx context.Context) ([]string, error)
	// Timeout bounds the engine calls when ctx has no deadline (0: 60s).
	Timeout time.Duration
}

// collectDefaultEngineTimeout bounds the engine calls of one Collect when
// the caller's context has no deadline, so a hung engine can't hang us.
const collectDefaultEngineTimeout = 60 * time.Second

// Collect gathers one Snapshot of the host. It never fails: every source
// that could not be read is left empty and named in Snapshot.Errors with a
// clear reason, and the other sources are still collected. The engine and
// the host files are read concurrently.
func Collect(ctx context.Context, o CollectOptions) *Snapshot {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	root = filepath.Clean(root)

	s := &Snapshot{Root: root, KnownLatestDocker: o.KnownLatestDocker, Errors: map[string]string{}}
	var mu sync.Mutex // guards s.Errors while both halves run
	setErr := func(src, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := s.Errors[src]; !dup {
			s.Errors[src] = msg
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ectx, cancel := ctx, context.CancelFunc(func() {})
		if _, ok := ctx.Deadline(); !ok {
			t := o.Timeout
			if t <= 0 {
				t = collectDefaultEngineTimeout
			}
			ectx, cancel = context.WithTimeout(ctx, t)
		}
		defer cancel()
		collectEngine(ectx, o.Host, s, setErr, log)
	}()

	// Host files are read while the engine answers; the paths that depend
	// on what the engine says (its root dir, its containerd socket) after.
	h, err := collectOpenHostFS(root)
	if err != nil {
		for _, src := range []string{SourceDaemon, SourceFiles, SourceAudit, SourceMounts, SourceGroup} {
			setErr(src, err.Error())
		}
	} else {
		defer h.close()
	}
	var names collectOwners
	if h != nil {
		names = collectHost(ctx, o, h, s, setErr, log)
	}
	wg.Wait()
	if h != nil {
		collectEngineDependentFiles(h, s, names)
	}

	log.Debug("docker host collected", "root", root, "containers", len(s.Containers), "images", len(s.Images),
		"files", len(s.Files), "errors", len(s.Errors), "took", time.Since(start))
	return s
}
