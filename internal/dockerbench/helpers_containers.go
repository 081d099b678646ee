package dockerbench

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Helpers shared by the section 5 (container runtime) controls.

// ctrNoRunning is the evidence of a per-container control on a host with
// no running container.
const ctrNoRunning = "no running containers"

// ctrRunning returns the running containers of the snapshot, sorted by
// name, skipping entries without state.
func ctrRunning(s *Snapshot) []container.InspectResponse {
	if s == nil {
		return nil
	}
	var out []container.InspectResponse
	for _, c := range s.Containers {
		if c.State != nil && c.State.Running {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return ctrName(out[i]) < ctrName(out[j]) })
	return out
}

// ctrName is the container's name without the leading "/", or its short id.
func ctrName(c container.InspectResponse) string {
	if n := strings.TrimPrefix(c.Name, "/"); n != "" {
		return n
	}
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

// ctrHostConfig never returns nil.
func ctrHostConfig(c container.InspectResponse) *container.HostConfig {
	if c.HostConfig == nil {
		return &container.HostConfig{}
	}
	return c.HostConfig
}

// ctrEach runs a per-container test over the running containers: each
// finding becomes "container <name>: <finding>". No running container gives
// NotApplicable, any finding Fail, none Pass.
func ctrEach(s *Snapshot, test func(c container.InspectResponse, hc *container.HostConfig) []string) Result {
	cs := ctrRunning(s)
	if len(cs) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	var ev []string
	for _, c := range cs {
		for _, f := range test(c, ctrHostConfig(c)) {
			ev = append(ev, "container "+ctrName(c)+": "+f)
		}
	}
	if len(ev) > 0 {
		return Result{Status: Fail, Evidence: ev}
	}
	return Result{Status: Pass, Evidence: []string{ctrCheckedN(len(cs))}}
}

// ctrList is ctrEach for manual controls: the findings are evidence for a
// human (Info); none gives Info with the none message.
func ctrList(s *Snapshot, none string, list func(c container.InspectResponse, hc *container.HostConfig) []string) Result {
	cs := ctrRunning(s)
	if len(cs) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	var ev []string
	for _, c := range cs {
		for _, f := range list(c, ctrHostConfig(c)) {
			ev = append(ev, "container "+ctrName(c)+": "+f)
		}
	}
	if len(ev) == 0 {
		ev = []string{fmt.Sprintf("%s (%d running containers)", none, len(cs))}
	}
	return Result{Status: Info, Evidence: ev}
}

func ctrCheckedN(n int) string {
	if n == 1 {
		return "1 running container checked"
	}
	return fmt.Sprintf("%d running containers checked", n)
}

// ctrHostHasSecurityOption reports whether `docker info` SecurityOptions
// lists name=<name> (apparmor, selinux, seccomp, userns, rootless).
func ctrHostHasSecurityOption(s *Snapshot, name string) bool {
	if s == nil || s.Info == nil {
		return false
	}
	for _, o := range s.Info.SecurityOptions {
		for _, kv := range strings.Split(o, ",") {
			if strings.TrimSpace(kv) == "name="+name {
				return true
			}
		}
	}
	return false
}

// ctrSecurityOpt splits a HostConfig.SecurityOpt entry ("seccomp=unconfined",
// the legacy "seccomp:unconfined", "no-new-privileges") into key and value.
func ctrSecurityOpt(opt string) (key, value string) {
	i := strings.IndexAny(opt, "=:")
	if i < 0 {
		return strings.TrimSpace(opt), ""
	}
	return strings.TrimSpace(opt[:i]), strings.TrimSpace(opt[i+1:])
}

// ctrPorts returns the container ports of a port map in a stable order.
func ctrPorts(pm network.PortMap) []network.Port {
	ps := make([]network.Port, 0, len(pm))
	for p := range pm {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Num() != ps[j].Num() {
			return ps[i].Num() < ps[j].Num()
		}
		return ps[i].Proto() < ps[j].Proto()
	})
	return ps
}

// ctrPublished returns the actual port bindings of a running container
// (NetworkSettings.Ports), falling back to HostConfig.PortBindings.
func ctrPublished(c container.InspectResponse) network.PortMap {
	if c.NetworkSettings != nil && c.NetworkSettings.Ports != nil {
		return c.NetworkSettings.Ports
	}
	return ctrHostConfig(c).PortBindings
}

// ctrBindingAddr renders a binding as "0.0.0.0:80", "[::]:80", or ":80"
// when no host address is recorded.
func ctrBindingAddr(b network.PortBinding) string {
	switch {
	case !b.HostIP.IsValid():
		return ":" + b.HostPort
	case b.HostIP.Is6() && !b.HostIP.Is4In6():
		return "[" + b.HostIP.String() + "]:" + b.HostPort
	default:
		return b.HostIP.Unmap().String() + ":" + b.HostPort
	}
}

// ctrHostPort parses a binding's host port; ok is false when unset.
func ctrHostPort(b network.PortBinding) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(b.HostPort))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ctrCleanPath normalises a host path for comparison.
func ctrCleanPath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}
