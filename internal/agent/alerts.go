package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// AlertOptions is the run-time part every agent runs: its sources feed the
// rules engine, and the aggregated alerts go to the server through the
// agent's disk outbox.
type AlertOptions struct {
	Engine  *runtime.Engine
	Sources watch.SourceConfig
	// Window aggregates repeats of one (type, resource); default 10 minutes.
	Window time.Duration
	// Identity names host and container alerts as the inventory does.
	Identity *watch.Identity
	// Sink, when set, stands between the engine and the outbox (the node
	// agent renames host alerts to its node); nil: the outbox itself.
	Sink alert.Sink
	// Exceptions follows the server's run-time alert exceptions.
	Exceptions *remoteconfig.Watcher
	// Name starts the watch's log lines.
	Name   string
	Logger *slog.Logger
}

// startAlerts opens o's sources (an error there is returned at once: a
// source asked for by name that cannot start is a start-up failure) and
// runs the watch in a goroutine counted by wg until ctx ends.
func startAlerts(ctx context.Context, wg *sync.WaitGroup, c *Conn, o AlertOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sc := o.Sources
	sc.Logger = log
	sources, err := watch.OpenSources(ctx, sc)
	if err != nil {
		return fmt.Errorf("starting the run-time sources: %w", err)
	}
	window := o.Window
	if window <= 0 {
		window = 10 * time.Minute
	}
	sink := o.Sink
	if sink == nil {
		sink = c.Sink()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := watch.Run(ctx, watch.Config{Engine: o.Engine, Sources: sources, Sink: sink, Window: window,
			Identity: o.Identity, Exceptions: o.Exceptions, Logger: log, Name: o.Name})
		if err != nil {
			log.Error("run-time watch stopped", "name", o.Name, "err", err)
		}
	}()
	return nil
}

// RunAlerts runs the run-time watch of o until ctx ends: the cluster
// agent's receiver of the API server's audit webhook.
func RunAlerts(ctx context.Context, c *Conn, o AlertOptions) error {
	var wg sync.WaitGroup
	if err := startAlerts(ctx, &wg, c, o); err != nil {
		return err
	}
	wg.Wait()
	return nil
}
