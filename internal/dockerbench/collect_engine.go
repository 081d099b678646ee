package dockerbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// collectEngineParallel bounds concurrent inspect calls against the engine.
const collectEngineParallel = 8

// collectEngineSources are the Snapshot sources read from the engine API.
var collectEngineSources = []string{SourceEngine, SourceContainers, SourceImages, SourceNetworks, SourcePlugins, SourceSwarm}

// collectEngine reads everything the controls need from the Engine API:
// info and version, every container inspected, every image inspected with
// its history, networks inspected, plugins, and the swarm with its services
// when this node is a manager. The lists run concurrently and each fans its
// inspects out over a shared bound.
func collectEngine(ctx context.Context, host string, s *Snapshot, setErr func(src, msg string), log *slog.Logger) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		msg := fmt.Sprintf("cannot connect to the Docker engine at %s: %v", collectHostLabel(host), err)
		for _, src := range collectEngineSources {
			setErr(src, msg)
		}
		return
	}
	defer cli.Close()
	addr := cli.DaemonHost()

	// Fail fast, with one clear message for every engine source, when the
	// engine does not answer at all.
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		msg := fmt.Sprintf("cannot reach the Docker engine at %s: %v", addr, collectEngineErr(err))
		for _, src := range collectEngineSources {
			setErr(src, msg)
		}
		log.Warn("docker engine unreachable", "host", addr, "err", err)
		return
	}

	sem := make(chan struct{}, collectEngineParallel)
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	fail := func(src, what string, err error) {
		setErr(src, fmt.Sprintf("%s from the Docker engine at %s: %v", what, addr, collectEngineErr(err)))
	}

	run(func() {
		r, err := cli.Info(ctx, client.InfoOptions{})
		if err != nil {
			fail(SourceEngine, "get info", err)
			setErr(SourceSwarm, "swarm state unknown: engine info failed")
			return
		}
		info := r.Info
		s.Info = &info
		if info.Swarm.ControlAvailable {
			collectSwarm(ctx, cli, s, fail)
		}
	})
	run(func() {
		r, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
		if err != nil {
			fail(SourceEngine, "get version", err)
			return
		}
		s.Version = collectVersion(r)
	})
	run(func() { collectContainers(ctx, cli, s, sem, fail, log) })
	run(func() { collectImages(ctx, cli, s, sem, fail, log) })
	run(func() { collectNetworks(ctx, cli, s, sem, fail, log) })
	run(func() {
		r, err := cli.PluginList(ctx, client.PluginListOptions{})
		if err != nil {
			fail(SourcePlugins, "list plugins", err)
			return
		}
		s.Plugins = r.Items
	})
	wg.Wait()
}

// collectHostLabel names the engine address for messages.
func collectHostLabel(host string) string {
	if host == "" {
		return "the default address (DOCKER_HOST or " + client.DefaultDockerHost + ")"
	}
	return host
}

// collectEngineErr strips the client's generic wrapping ("failed to
// connect to the docker API at …; check if the path is correct …") down to
// the network error underneath, when there is one.
func collectEngineErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}

// collectBounded runs f(i) for i in [0,n) with at most cap(sem) calls in
// flight across every caller sharing sem.
func collectBounded(n int, sem chan struct{}, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// collectVersion turns the client's version result back into the API type,
// filling the engine fields the client drops from the Engine component.
func collectVersion(r client.ServerVersionResult) *system.VersionResponse {
	v := &system.VersionResponse{
		Platform: system.PlatformInfo{Name: r.Platform.Name},
		Version:  r.Version, APIVersion: r.APIVersion, MinAPIVersion: r.MinAPIVersion,
		Os: r.Os, Arch: r.Arch, Components: r.Components,
		Experimental: r.Experimental, //nolint:staticcheck // still what the engine reports
	}
	for _, c := range r.Components {
		if c.Name != "Engine" {
			continue
		}
		d := c.Details
		v.GitCommit, v.GoVersion, v.KernelVersion, v.BuildTime = d["GitCommit"], d["GoVersion"], d["KernelVersion"], d["BuildTime"]
		if d["Experimental"] == "true" {
			v.Experimental = true
		}
	}
	return v
}

// collectContainers lists all containers and inspects each. A container
// removed meanwhile is skipped; any other inspect failure makes the whole
// source an error, since a control passing without having seen a container
// would be a false pass.
func collectContainers(ctx context.Context, cli *client.Client, s *Snapshot, sem chan struct{}, fail func(string, string, error), log *slog.Logger) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		fail(SourceContainers, "list containers", err)
		return
	}
	out := make([]*container.InspectResponse, len(list.Items))
	errs := make([]error, len(list.Items))
	collectBounded(len(list.Items), sem, func(i int) {
		id := list.Items[i].ID
		r, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			log.Debug("container gone before inspect", "id", id)
		case err != nil:
			errs[i] = fmt.Errorf("container %s: %w", collectShortID(id), err)
		default:
			out[i] = &r.Container
		}
	})
	if err := errors.Join(errs...); err != nil {
		fail(SourceContainers, "inspect containers", err)
		return
	}
	for _, c := range out {
		if c != nil {
			s.Containers = append(s.Containers, *c)
		}
	}
	sort.SliceStable(s.Containers, func(i, j int) bool { return s.Containers[i].Name < s.Containers[j].Name })
}

// collectImages lists the images `docker images` shows and inspects each,
// with its history.
func collectImages(ctx context.Context, cli *client.Client, s *Snapshot, sem chan struct{}, fail func(string, string, error), log *slog.Logger) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		fail(SourceImages, "list images", err)
		return
	}
	out := make([]*ImageFacts, len(list.Items))
	errs := make([]error, len(list.Items))
	collectBounded(len(list.Items), sem, func(i int) {
		id := list.Items[i].ID
		insp, err := cli.ImageInspect(ctx, id)
		if err == nil {
			var h client.ImageHistoryResult
			h, err = cli.ImageHistory(ctx, id)
			if err == nil {
				out[i] = &ImageFacts{Inspect: insp.InspectResponse, History: h.Items}
				return
			}
		}
		if cerrdefs.IsNotFound(err) {
			log.Debug("image gone before inspect", "id", id)
			return
		}
		errs[i] = fmt.Errorf("image %s: %w", collectShortID(id), err)
	})
	if err := errors.Join(errs...); err != nil {
		fail(SourceImages, "inspect images", err)
		return
	}
	for _, f := range out {
		if f != nil {
			s.Images = append(s.Images, *f)
		}
	}
}

// collectNetworks lists networks and inspects each: only inspect reports
// the containers attached (5.29 looks at the default bridge's).
func collectNetworks(ctx context.Context, cli *client.Client, s *Snapshot, sem chan struct{}, fail func(string, string, error), log *slog.Logger) {
	list, err := cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		fail(SourceNetworks, "list networks", err)
		return
	}
	out := make([]*network.Inspect, len(list.Items))
	errs := make([]error, len(list.Items))
	collectBounded(len(list.Items), sem, func(i int) {
		id := list.Items[i].ID
		r, err := cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			log.Debug("network gone before inspect", "id", id)
		case err != nil:
			errs[i] = fmt.Errorf("network %s: %w", list.Items[i].Name, err)
		default:
			out[i] = &r.Network
		}
	})
	if err := errors.Join(errs...); err != nil {
		fail(SourceNetworks, "inspect networks", err)
		return
	}
	for _, n := range out {
		if n != nil {
			s.Networks = append(s.Networks, *n)
		}
	}
	sort.SliceStable(s.Networks, func(i, j int) bool { return s.Networks[i].Name < s.Networks[j].Name })
}

// collectSwarm reads the swarm and its services; only managers can.
func collectSwarm(ctx context.Context, cli *client.Client, s *Snapshot, fail func(string, string, error)) {
	sw, err := cli.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		fail(SourceSwarm, "inspect swarm", err)
		return
	}
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		fail(SourceSwarm, "list services", err)
		return
	}
	s.Swarm = &sw.Swarm
	s.SwarmServices = svcs.Items
}

// collectShortID shortens "sha256:0123…" ids for messages.
func collectShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
