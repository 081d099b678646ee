package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// kinds maps the engine's event types to ours; types not here (daemon,
// plugin, swarm objects) are not reported.
var kinds = map[events.Type]event.Kind{
	events.ContainerEventType: event.KindContainer,
	events.ImageEventType:     event.KindImage,
	events.BuilderEventType:   event.KindImage,
	events.NetworkEventType:   event.KindNetwork,
	events.VolumeEventType:    event.KindVolume,
}

// Labels the kubelet (dockershim, cri-dockerd) puts on a pod's containers.
const (
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodName      = "io.kubernetes.pod.name"
)

// convert turns one engine message into an Event (without the inspect
// join); ok is false for types we do not report.
func convert(m events.Message) (*event.Event, bool) {
	kind, ok := kinds[m.Type]
	if !ok {
		return nil, false
	}
	t := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		t = time.Unix(m.Time, 0)
	}
	action, cmd := splitAction(string(m.Action))
	ev := &event.Event{Time: t.UTC(), Source: event.SourceDocker, Kind: kind, Action: action}
	attrs := m.Actor.Attributes
	switch m.Type {
	case events.ContainerEventType:
		c := &event.Container{ID: m.Actor.ID, Name: attrs["name"], Image: attrs["image"]}
		// Container event attributes are the container's labels plus
		// name, image and a few action-specific ones.
		labels := map[string]string{}
		for k, v := range attrs {
			switch k {
			case "name", "image", "execID", "exitCode", "signal":
			default:
				labels[k] = v
			}
		}
		if len(labels) > 0 {
			c.Labels = labels
		}
		c.Namespace, c.Pod = labels[labelPodNamespace], labels[labelPodName]
		if cmd != "" && strings.HasPrefix(action, "exec_") {
			c.Exec = splitCommand(cmd)
		}
		ev.Container = c
	default:
		// Builder events (BuildKit's prune, …) keep their engine action
		// with Object.Type "builder"; a finished build shows as image tag.
		ev.Object = &event.Object{Type: string(m.Type), ID: m.Actor.ID, Name: attrs["name"], Attributes: maps.Clone(attrs)}
		// Network connect/disconnect and volume mount/unmount name the
		// container they concern; it gets the inspect join too.
		if id := attrs["container"]; id != "" {
			ev.Container = &event.Container{ID: id}
		}
	}
	return ev, true
}

// splitAction separates "exec_create: /bin/sh -c id" into the action and
// the command the engine appended; "health_status: healthy" keeps its
// status as the command part, which callers ignore.
func splitAction(a string) (action, rest string) {
	action, rest, _ = strings.Cut(a, ":")
	return strings.TrimSpace(action), strings.TrimSpace(rest)
}

// splitCommand splits the command the engine appends to exec actions. The
// engine joins argv with single spaces, so arguments containing spaces are
// not recoverable from it; exec inspect gives the exact argv when it can.
func splitCommand(s string) []string {
	return strings.Fields(s)
}

// fromInspect keeps the inspect fields rules read.
func fromInspect(in container.InspectResponse) event.Container {
	c := event.Container{ID: in.ID, Name: strings.TrimPrefix(in.Name, "/"), ImageID: in.Image}
	if in.Config != nil {
		c.Image = in.Config.Image
		c.User = in.Config.User
		if len(in.Config.Labels) > 0 {
			c.Labels = maps.Clone(in.Config.Labels)
		}
	}
	if hc := in.HostConfig; hc != nil {
		c.Privileged = hc.Privileged
		c.PidMode = string(hc.PidMode)
		c.NetworkMode = string(hc.NetworkMode)
		c.IpcMode = string(hc.IpcMode)
		// Engines report "NET_ADMIN" or "CAP_NET_ADMIN" depending on the
		// version and how it was asked; rules see one spelling.
		for _, cp := range hc.CapAdd {
			c.CapAdd = append(c.CapAdd, strings.TrimPrefix(strings.ToUpper(cp), "CAP_"))
		}
	}
	for _, mp := range in.Mounts {
		c.Mounts = append(c.Mounts, event.Mount{Type: string(mp.Type), Source: mp.Source, Destination: mp.Destination, ReadOnly: !mp.RW})
	}
	c.Namespace, c.Pod = c.Labels[labelPodNamespace], c.Labels[labelPodName]
	return c
}

// mergeContainer fills dst (from the event) with the inspect data; the
// event's own name, image and exec command win where set.
func mergeContainer(dst *event.Container, c event.Container) {
	exec, name, image := dst.Exec, dst.Name, dst.Image
	*dst = c
	dst.Exec = exec
	if name != "" {
		dst.Name = name
	}
	if image != "" {
		dst.Image = image
	}
	dst.CapAdd = append([]string(nil), c.CapAdd...)
	dst.Mounts = append([]event.Mount(nil), c.Mounts...)
	dst.Labels = maps.Clone(c.Labels)
}

// execArgv asks the engine for an exec's exact argv (entrypoint and
// arguments). The moby client's ExecInspect leaves ProcessConfig out, so
// this is a plain GET over the client's own dialer; nil when it fails
// (TLS hosts, exec already gone), and the action's command is kept.
func (s *Source) execArgv(ctx context.Context, execID string) []string {
	// The engine's API version, as the client negotiated it; the host part
	// is ignored by the dialer (unix socket, or TCP with the client's TLS).
	url := fmt.Sprintf("http://docker/v%s/exec/%s/json", s.cli.ClientVersion(), execID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := s.execHTTP.Do(req)
	if err != nil {
		s.execFailed(execID, err)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode != http.StatusNotFound { // an exec already gone is ordinary
			s.execFailed(execID, fmt.Errorf("HTTP %s", resp.Status))
		}
		return nil
	}
	var out struct {
		ProcessConfig struct {
			Entrypoint string   `json:"entrypoint"`
			Arguments  []string `json:"arguments"`
		}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.ProcessConfig.Entrypoint == "" {
		return nil
	}
	return append([]string{out.ProcessConfig.Entrypoint}, out.ProcessConfig.Arguments...)
}

// execFailed says once, at warning level, that exec command lines come
// from the engine's event text (arguments with spaces split) because exec
// inspect fails; later failures are debug.
func (s *Source) execFailed(execID string, err error) {
	warned := false
	s.execWarn.Do(func() {
		warned = true
		s.log.Warn("docker exec inspect failed; exec command lines come from the event text", "host", s.cli.DaemonHost(), "exec", execID, "err", err)
	})
	if !warned {
		s.log.Debug("docker exec inspect failed", "exec", execID, "err", err)
	}
}
