package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/events"
	mobyclient "github.com/moby/moby/client"

	"github.com/bulwarkdev/bulwark/internal/dockerbench"
	"github.com/bulwarkdev/bulwark/internal/memtrim"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/source/docker"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// DockerOptions configure the Docker host agent.
type DockerOptions struct {
	// Host is the engine address (default $DOCKER_HOST or the socket).
	Host string
	// Root is where the host's filesystem is mounted ("/" on the host,
	// "/host" for an agent in a container).
	Root string
	// BenchInterval re-runs the CIS Docker assessment this often besides
	// the engine events that change it (default 1h).
	BenchInterval time.Duration
	// Settle is how long the agent waits after an engine event for more
	// before it acts (default 100ms for images, 2s for the assessment).
	Settle time.Duration
	// CacheDir keeps the per-layer analysis cache.
	CacheDir string
	// HostScanInterval is how often the host's package databases are
	// looked at (default 10m): its OS package inventory is sent at start
	// and whenever they changed (their sizes and modification times).
	HostScanInterval time.Duration
	// NoHostScan turns the host's own inventory off.
	NoHostScan bool
	// Engine and Sources run the run-time watch; nil Engine: no watch.
	// The Docker event source is added to Sources by the agent.
	Engine  *runtime.Engine
	Sources watch.SourceConfig
	// Exceptions, when set, follows the server's run-time exceptions
	// (Conn.RuntimeExceptions): loaded before the first event, polled.
	Exceptions *remoteconfig.Watcher
	// Window aggregates repeats of one alert (default 10m).
	Window  time.Duration
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// DockerStats counts what the Docker agent did.
type DockerStats struct {
	Assessments   uint64 `json:"assessments"`
	Images        uint64 `json:"images_sent"`
	ImageErrors   uint64 `json:"image_errors"`
	EngineBreaks  uint64 `json:"engine_reconnects"`
	EngineEvents  uint64 `json:"engine_events"`
	ImagesPending int    `json:"images_pending"`
	// HostScans are host inventories sent; HostScansSkipped the checks
	// that found the package databases unchanged.
	HostScans        uint64 `json:"host_scans"`
	HostScansSkipped uint64 `json:"host_scans_unchanged"`
	HostScanErrors   uint64 `json:"host_scan_errors"`
}

// dockerAgent is one running Docker host agent.
type dockerAgent struct {
	o    DockerOptions
	c    *Conn
	log  *slog.Logger
	cli  *mobyclient.Client
	scan scan.Options

	benchNow, imagesNow                                    chan struct{}
	mu                                                     sync.Mutex
	sentImages                                             map[string]bool // image ids whose inventory was queued since start
	assessments, images, imageErrors, breaks, engineEvents atomic.Uint64
	hostSent, hostSkipped, hostErrors                      atomic.Uint64
	ident                                                  *watch.Identity
	trim                                                   *memtrim.Releaser
}

// RunDocker runs the Docker host agent until ctx ends: the host's CIS
// assessment at start, every BenchInterval and after the engine events
// that change it (a container started or removed, the daemon reloaded);
// the package inventory of every local image, and of each new one
// seconds after it arrives (pull, import, load, build); the run-time
// watch with its alerts; and the heartbeat. An engine restart is a
// reconnect followed by a full resync; the server being down only fills
// the outbox.
func RunDocker(ctx context.Context, c *Conn, o DockerOptions) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BenchInterval <= 0 {
		o.BenchInterval = time.Hour
	}
	if o.Settle <= 0 {
		// Short: a new image's findings are wanted within seconds; a
		// `docker load` of many images still arrives as one burst.
		o.Settle = 100 * time.Millisecond
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.HostScanInterval <= 0 {
		o.HostScanInterval = 10 * time.Minute
	}
	opts := []mobyclient.Opt{mobyclient.FromEnv}
	if o.Host != "" {
		opts = append(opts, mobyclient.WithHost(o.Host))
	}
	cli, err := mobyclient.New(opts...)
	if err != nil {
		return fmt.Errorf("docker client for %q: %w", o.Host, err)
	}
	defer cli.Close()
	hostname, _ := os.Hostname()
	a := &dockerAgent{o: o, c: c, log: o.Logger, cli: cli, benchNow: make(chan struct{}, 1), imagesNow: make(chan struct{}, 1),
		sentImages: map[string]bool{}, ident: watch.NewIdentity(hostname, o.Sources.Node), trim: memtrim.NewReleaser(o.Logger, 0, 0)}
	defer a.trim.Stop()
	// Alerts name the host and its containers as the CIS report does:
	// by the engine's ID, learnt now if the engine answers, else on the
	// first connection of the event stream.
	a.learnEngine(ctx)
	a.scan = scan.Options{CacheDir: o.CacheDir, Logger: o.Logger, Version: o.Version}
	a.scan.Image.DockerHost = o.Host

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); c.Run(ctx, a.health) }()
	go func() { defer wg.Done(); a.work(ctx) }()
	if !o.NoHostScan {
		wg.Add(1)
		go func() { defer wg.Done(); a.hostScans(ctx) }()
	}
	if o.Engine != nil {
		sc := o.Sources
		dopts := o.Sources.Docker
		if dopts == nil {
			dopts = &docker.Options{}
		}
		d := *dopts
		d.Host = o.Host
		sc.Docker = &d
		if err := startAlerts(ctx, &wg, c, AlertOptions{Engine: o.Engine, Sources: sc, Window: o.Window, Identity: a.ident,
			Exceptions: o.Exceptions, Logger: o.Logger, Name: "agent run-time watch"}); err != nil {
			return err
		}
	}
	a.followEngine(ctx)
	return nil
}

func (a *dockerAgent) health() map[string]any {
	a.mu.Lock()
	n := len(a.sentImages)
	a.mu.Unlock()
	return map[string]any{"docker": DockerStats{Assessments: a.assessments.Load(), Images: a.images.Load(), ImageErrors: a.imageErrors.Load(),
		EngineBreaks: a.breaks.Load(), EngineEvents: a.engineEvents.Load(), ImagesPending: n,
		HostScans: a.hostSent.Load(), HostScansSkipped: a.hostSkipped.Load(), HostScanErrors: a.hostErrors.Load()}}
}

func trigger(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// followEngine reads the engine's image, container and daemon events;
// each (re)connection starts with a full resync.
func (a *dockerAgent) followEngine(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for first := true; ; first = false {
		if !first {
			a.breaks.Add(1)
		}
		got, err := a.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if got {
			backoff = 200 * time.Millisecond
		}
		a.log.Warn("docker engine unreachable or its event stream broke; reconnecting (a full resync follows)", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

func (a *dockerAgent) stream(ctx context.Context) (bool, error) {
	if _, err := a.cli.Ping(ctx, mobyclient.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return false, fmt.Errorf("ping docker engine: %w", err)
	}
	a.learnEngine(ctx)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := mobyclient.Filters{}.Add("type", "image", "container", "daemon")
	res := a.cli.Events(sctx, mobyclient.EventsListOptions{Filters: f})
	// Resync after subscribing, so nothing between the two is missed.
	trigger(a.benchNow)
	trigger(a.imagesNow)
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return true, io.ErrUnexpectedEOF
			}
			a.engineEvents.Add(1)
			a.onEvent(m)
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return true, fmt.Errorf("reading docker events: %w", err)
		}
	}
}

// learnEngine gives the alert identity the engine's ID and name (the
// Docker host resource); an engine that does not answer is asked again
// at the next connection.
func (a *dockerAgent) learnEngine(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := a.cli.Info(ctx, mobyclient.InfoOptions{})
	if err != nil || info.Info.ID == "" {
		return
	}
	if a.ident.DockerHost() != info.Info.ID {
		a.log.Info("run-time alerts name the Docker host by its engine ID", "host", info.Info.ID, "name", info.Info.Name)
	}
	a.ident.SetDockerHost(info.Info.ID, info.Info.Name)
}

// onEvent decides what an engine event changes.
func (a *dockerAgent) onEvent(m events.Message) {
	switch m.Type {
	case events.ImageEventType:
		switch m.Action {
		case events.ActionPull, events.ActionImport, events.ActionLoad, events.ActionTag, events.ActionCreate:
			trigger(a.imagesNow)
		case events.ActionDelete, events.ActionUnTag:
			trigger(a.benchNow) // the host's held images changed
		}
	case events.ContainerEventType:
		switch m.Action {
		case events.ActionStart, events.ActionDie, events.ActionDestroy, events.ActionUpdate, events.ActionRename:
			trigger(a.benchNow)
		}
	case events.DaemonEventType:
		trigger(a.benchNow)
	}
}

// work runs the assessment and the inventories, one at a time, as they
// are asked for; requests arriving meanwhile coalesce.
func (a *dockerAgent) work(ctx context.Context) {
	tick := time.NewTicker(a.o.BenchInterval)
	defer tick.Stop()
	benchSettle := max(2*time.Second, a.o.Settle)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.bench(ctx)
		case <-a.imagesNow:
			if !sleep(ctx, a.o.Settle) {
				return
			}
			drain(a.imagesNow)
			a.inventories(ctx)
			a.trim.Soon()
			// The host's held images changed too.
			trigger(a.benchNow)
		case <-a.benchNow:
			if !sleep(ctx, benchSettle) {
				return
			}
			drain(a.benchNow)
			a.bench(ctx)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// bench assesses the host and queues the report if it changed.
func (a *dockerAgent) bench(ctx context.Context) {
	snap := dockerbench.Collect(ctx, dockerbench.CollectOptions{Host: a.o.Host, Root: a.o.Root, Logger: a.log})
	rep := dockerbench.Run(snap, dockerbench.Filter{}, a.o.Now())
	if rep.Resource.ID == "" {
		a.log.Warn("CIS Docker assessment: the engine did not answer; nothing sent", "errors", rep.Collection)
		return
	}
	doc, err := json.Marshal(rep)
	if err != nil {
		a.log.Error("encoding the CIS Docker report", "err", err)
		return
	}
	if err := a.c.Send(ctx, "docker-bench/"+rep.Resource.ID, benchHashInput(rep), doc); err != nil {
		a.log.Error("queueing the CIS Docker report", "err", err)
		return
	}
	a.assessments.Add(1)
	// An assessment, an inventory, a host scan: bursts between long idle
	// stretches; what they (and start-up) took goes back once the host is
	// quiet (the idle agent's RSS is what a host pays; target < 60 MiB).
	a.trim.Soon()
	a.log.Debug("CIS Docker assessment done", "host", rep.Resource.ID, "failed", rep.Score.Failed)
}

// benchHashInput is the report without its times: two assessments of an
// unchanged host hash the same.
func benchHashInput(rep *dockerbench.Report) any {
	r := *rep
	r.GeneratedAt = time.Time{}
	as := make([]model.Assessment, len(rep.Assessments))
	for i, x := range rep.Assessments {
		x.ObservedAt = time.Time{}
		as[i] = x
	}
	r.Assessments = as
	return r
}

// inventories queues the package inventory of every local image not yet
// sent since start; the server matches them.
func (a *dockerAgent) inventories(ctx context.Context) {
	res, err := a.cli.ImageList(ctx, mobyclient.ImageListOptions{})
	if err != nil {
		a.log.Warn("listing the engine's images", "err", err)
		return
	}
	for _, im := range res.Items {
		a.mu.Lock()
		done := a.sentImages[im.ID]
		a.mu.Unlock()
		if done || ctx.Err() != nil {
			continue
		}
		ref := im.ID
		if len(im.RepoTags) > 0 {
			ref = im.RepoTags[0]
		}
		rep, err := a.layerInventory(ctx, im.ID, ref)
		if rep == nil && err == nil {
			rep, err = scan.Catalog(ctx, scan.Target{Kind: scan.FromDocker, Ref: ref}, a.scan)
		}
		if err != nil {
			a.imageErrors.Add(1)
			a.log.Warn("inventory of a local image failed", "image", ref, "id", im.ID, "err", err)
			a.mu.Lock()
			a.sentImages[im.ID] = true // not retried until the next start
			a.mu.Unlock()
			continue
		}
		doc, err := json.Marshal(rep)
		if err != nil {
			continue
		}
		if err := a.c.Send(ctx, "image/"+im.ID, im.ID, doc); err != nil {
			a.log.Error("queueing an image inventory", "image", ref, "err", err)
			continue
		}
		a.images.Add(1)
		a.mu.Lock()
		a.sentImages[im.ID] = true
		a.mu.Unlock()
		a.log.Info("image inventory queued", "image", ref, "id", im.ID, "packages", len(rep.Packages))
	}
}

// hostScans sends the host's own OS package inventory (scan.Host over
// Root) at start and, every HostScanInterval, when the package databases
// changed since the last one sent; the server matches it and the host
// gets its vulnerability findings. A failure is retried sooner.
func (a *dockerAgent) hostScans(ctx context.Context) {
	last := ""
	wait := time.Duration(0)
	for {
		if !sleep(ctx, wait) {
			return
		}
		wait = a.o.HostScanInterval
		fp, err := scan.HostFingerprint(a.o.Root)
		if err != nil {
			a.hostErrors.Add(1)
			a.log.Warn("host package scan: the package databases cannot be read (is the host's / at --host-root?)", "root", a.o.Root, "err", err)
			continue
		}
		if fp == last {
			a.hostSkipped.Add(1)
			a.log.Debug("host package scan skipped: package databases unchanged", "root", a.o.Root)
			continue
		}
		if err := a.hostScan(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.hostErrors.Add(1)
			a.log.Warn("host package scan failed; retrying", "root", a.o.Root, "err", err, "in", min(wait, 30*time.Second))
			wait = min(wait, 30*time.Second)
			continue
		}
		last = fp
		a.trim.Soon()
	}
}

// hostScan inventories Root and queues it as the Docker host's packages.
func (a *dockerAgent) hostScan(ctx context.Context) error {
	// The host is named as its CIS report names it: the engine's ID.
	info, err := a.cli.Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return fmt.Errorf("asking the engine for the host's identity: %w", err)
	}
	if info.Info.ID == "" {
		return errors.New("the engine reports no ID: the host cannot be named")
	}
	rep, err := scan.Host(ctx, a.o.Root, a.scan)
	if err != nil {
		return err
	}
	rep.Resource = model.Resource{Kind: model.KindDockerHost, ID: info.Info.ID, Name: info.Info.Name}
	doc, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encoding the host inventory: %w", err)
	}
	hashInput := struct {
		R        model.Resource
		D        *model.Distro
		Packages []model.Package
	}{rep.Resource, rep.Distro, rep.Packages}
	if err := a.c.Send(ctx, "host-packages/"+info.Info.ID, hashInput, doc); err != nil {
		return fmt.Errorf("queueing the host inventory: %w", err)
	}
	a.hostSent.Add(1)
	distro := ""
	if rep.Distro != nil {
		distro = rep.Distro.PrettyName
	}
	a.log.Info("host package inventory queued", "host", info.Info.ID, "root", a.o.Root, "os", distro, "packages", len(rep.Packages))
	return nil
}

// layerInventory is the fast path for a single-layer image (what `docker
// import` makes): its one layer is a directory of the engine's storage
// (overlay2, fuse-overlayfs: UpperDir) the agent can read below Root, so
// it is catalogued in place instead of exported with `docker save`, which
// takes the engine seconds for an image of 100 MB. The report is the one
// the export would give, with the layer named by its diff ID. nil, nil:
// not such an image (several layers, another storage driver, a directory
// the agent cannot see): the export it is.
func (a *dockerAgent) layerInventory(ctx context.Context, id, ref string) (*model.Report, error) {
	insp, err := a.cli.ImageInspect(ctx, id)
	if err != nil || insp.GraphDriver == nil || len(insp.RootFS.Layers) != 1 {
		return nil, nil
	}
	d := insp.GraphDriver.Data
	upper := d["UpperDir"]
	if upper == "" || d["LowerDir"] != "" || !filepath.IsAbs(upper) {
		return nil, nil
	}
	dir := filepath.Join(a.o.Root, upper)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil
	}
	rep, err := scan.Catalog(ctx, scan.Target{Kind: scan.FromDir, Ref: dir}, a.scan)
	if err != nil {
		a.log.Debug("reading an image's layer in place failed; exporting it", "image", ref, "err", err)
		return nil, nil
	}
	layer := model.Layer{Index: 0, DiffID: insp.RootFS.Layers[0]}
	info := model.ImageInfo{Reference: ref, Source: string(scan.FromDocker), ConfigDigest: insp.ID, RepoTags: insp.RepoTags,
		RepoDigests: insp.RepoDigests, Created: insp.Created, Size: insp.Size, Layers: []model.Layer{layer}}
	if insp.Os != "" && insp.Architecture != "" {
		info.Platform = insp.Os + "/" + insp.Architecture
	}
	if len(insp.RepoDigests) > 0 {
		if _, dg, ok := strings.Cut(insp.RepoDigests[0], "@"); ok {
			info.Digest = dg
		}
	}
	for i := range rep.Packages {
		l := layer
		rep.Packages[i].Layer = &l
		// Paths are the image's, not the engine's storage directory.
		rep.Packages[i].Path = "/" + strings.TrimPrefix(strings.TrimPrefix(rep.Packages[i].Path, dir), "/")
	}
	rep.Image = info
	rid := info.Digest
	if rid == "" {
		rid = info.ConfigDigest
	}
	rep.Resource = model.Resource{Kind: model.KindImage, ID: rid, Name: ref, Facts: map[string]string{"source": info.Source}}
	return rep, nil
}
