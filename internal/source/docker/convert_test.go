package docker

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

const cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestConvert turns the engine's messages (the shapes engines 20.10–28
// send) into events and compares them with testdata/convert.golden.
func TestConvert(t *testing.T) {
	msgs := []events.Message{
		{Type: "container", Action: "create", Actor: events.Actor{ID: cid, Attributes: map[string]string{"image": "nginx:1.27", "name": "web", "io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.name": "web-0"}}, TimeNano: 1700000000123456789},
		{Type: "container", Action: "exec_create: /bin/sh -c id", Actor: events.Actor{ID: cid, Attributes: map[string]string{"image": "nginx:1.27", "name": "web", "execID": "e1"}}, Time: 1700000001},
		{Type: "container", Action: "exec_start: bash -i ", Actor: events.Actor{ID: cid, Attributes: map[string]string{"image": "nginx:1.27", "name": "web"}}, Time: 1700000002},
		{Type: "container", Action: "die", Actor: events.Actor{ID: cid, Attributes: map[string]string{"exitCode": "137", "name": "web"}}, Time: 1700000003},
		{Type: "container", Action: "health_status: healthy", Actor: events.Actor{ID: cid}, Time: 1700000004},
		{Type: "image", Action: "pull", Actor: events.Actor{ID: "alpine:3.20", Attributes: map[string]string{"name": "alpine"}}, Time: 1700000005},
		{Type: "image", Action: "import", Actor: events.Actor{ID: "sha256:abc"}, Time: 1700000006},
		{Type: "builder", Action: "prune", Actor: events.Actor{ID: "", Attributes: map[string]string{"reclaimed": "0"}}, Time: 1700000007},
		{Type: "network", Action: "connect", Actor: events.Actor{ID: "n1", Attributes: map[string]string{"container": cid, "name": "bridge", "type": "bridge"}}, Time: 1700000008},
		{Type: "volume", Action: "mount", Actor: events.Actor{ID: "v1", Attributes: map[string]string{"container": cid, "destination": "/data", "driver": "local"}}, Time: 1700000009},
		{Type: "daemon", Action: "reload", Actor: events.Actor{ID: "d"}, Time: 1700000010},
		{Type: "plugin", Action: "enable", Actor: events.Actor{ID: "p"}, Time: 1700000011},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		ev, ok := convert(m)
		if !ok {
			buf.WriteString("skipped " + string(m.Type) + "\n")
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	golden(t, "convert.golden", buf.Bytes())
}

func TestFromInspect(t *testing.T) {
	in := container.InspectResponse{
		ID: cid, Name: "/web", Image: "sha256:img",
		Config:     &container.Config{Image: "nginx:1.27", User: "1000", Labels: map[string]string{"io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.name": "web-0"}},
		HostConfig: &container.HostConfig{Privileged: true, PidMode: "host", NetworkMode: "host", IpcMode: "shareable", CapAdd: []string{"CAP_SYS_ADMIN", "net_raw"}},
		Mounts: []container.MountPoint{
			{Type: mount.TypeBind, Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock", RW: true},
			{Type: mount.TypeVolume, Source: "/var/lib/docker/volumes/x/_data", Destination: "/data", RW: false},
		},
	}
	got := fromInspect(in)
	ev := &event.Event{Container: &event.Container{ID: cid, Exec: []string{"sh"}, Name: "web-renamed"}}
	mergeContainer(ev.Container, got)
	b, err := json.MarshalIndent(ev.Container, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect.golden", append(b, '\n'))
}

func TestCacheEvicts(t *testing.T) {
	c := newCache(2)
	c.put("a", event.Container{ID: "a"})
	c.put("b", event.Container{ID: "b"})
	c.get("a") // a is now the most recent
	c.put("c", event.Container{ID: "c"})
	if _, ok := c.get("b"); ok {
		t.Errorf("b should have been evicted")
	}
	for _, id := range []string{"a", "c"} {
		if _, ok := c.get(id); !ok {
			t.Errorf("%s evicted", id)
		}
	}
	c.del("a")
	if c.len() != 1 {
		t.Errorf("len %d after delete, want 1", c.len())
	}
}

// FuzzConvert feeds arbitrary engine messages (JSON as the stream carries
// them) through the decoder and convert: never a panic, and every
// reported event has a kind and source.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(`{"Type":"container","Action":"exec_start: sh -c id","Actor":{"ID":"x","Attributes":{"execID":"1"}},"time":1}`))
	f.Add([]byte(`{"Type":"image","Action":"","Actor":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m events.Message
		if json.Unmarshal(data, &m) != nil {
			return
		}
		ev, ok := convert(m)
		if !ok {
			return
		}
		if ev.Kind == "" || ev.Source != event.SourceDocker {
			t.Fatalf("bad event %+v", ev)
		}
	})
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	sourcetest.Golden(t, filepath.Join("testdata", name), got)
}

// TestResumeDedup replays what a reconnect with `since` returns (the
// engine's since is inclusive): events already emitted are skipped.
func TestResumeDedup(t *testing.T) {
	s, err := New(Options{Host: "unix:///nonexistent.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	vol := func(ns int64, id string) events.Message {
		return events.Message{Type: "volume", Action: "create", Actor: events.Actor{ID: id}, TimeNano: ns}
	}
	var got []string
	emit := func(e *event.Event) { got = append(got, e.Object.ID) }
	for _, m := range []events.Message{
		vol(10, "a"), vol(10, "b"), vol(10, "a"), vol(9, "old"),
		// reconnect: since=10 replays a and b, then new ones
		vol(10, "a"), vol(10, "b"), vol(10, "c"), vol(11, "d"), vol(11, "d"),
	} {
		s.handle(t.Context(), m, emit)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("emitted %v, want %v", got, want)
	}
}
