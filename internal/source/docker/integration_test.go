package docker

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func containerEvent(id, action string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.Kind == event.KindContainer && e.Action == action && e.Container != nil && e.Container.ID == id
	}
}

func startSource(t *testing.T, o Options) (*Source, *sourcetest.Collector) {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &sourcetest.Collector{}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, c.Emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
	return s, c
}

func TestIntegrationEngineEvents(t *testing.T) {
	testenv.Docker(t)
	tag := fmt.Sprintf("bulwark-test-dockersrc:%d", os.Getpid())
	// Since before the import: the source replays from here, so events
	// that happen before the stream opens are not lost.
	s, c := startSource(t, Options{Since: time.Now().Add(-time.Second), MinBackoff: 50 * time.Millisecond})
	sourcetest.HostImage(t, tag)
	c.Wait(t, "image import", func(e *event.Event) bool {
		return e.Kind == event.KindImage && e.Action == "import" && e.Object != nil && e.Object.ID != ""
	})

	// Created, not started: this host's runtime cannot grant a privileged
	// container every capability, and the create event is what rules read.
	priv := sourcetest.CreateContainer(t, tag, "--privileged", "--pid", "host", "--cap-add", "NET_ADMIN",
		"--label", "io.kubernetes.pod.namespace=team-a", "--label", "io.kubernetes.pod.name=web-1", "--user", "0:0")
	sock := sourcetest.RunContainer(t, tag, "-v", "/var/run/docker.sock:/var/run/docker.sock")
	ctx := context.Background()
	if out, err := sourcetest.Docker(ctx, nil, "exec", sock, "sh", "-c", "id"); err != nil || out == "" {
		t.Fatalf("docker exec: %v: %s", err, out)
	}

	e := c.Wait(t, "privileged create", containerEvent(priv, "create"))
	pc := e.Container
	if !pc.Privileged || pc.PidMode != "host" || !slices.Contains(pc.CapAdd, "NET_ADMIN") || pc.User != "0:0" {
		t.Errorf("privileged container join: %+v", pc)
	}
	if pc.Namespace != "team-a" || pc.Pod != "web-1" || pc.Image != tag || pc.ImageID == "" || e.Host == "" {
		t.Errorf("privileged container labels/image: %+v host %q", pc, e.Host)
	}
	e = c.Wait(t, "socket container create", containerEvent(sock, "create"))
	if e.Container.Privileged || !slices.ContainsFunc(e.Container.Mounts, func(m event.Mount) bool {
		return m.Source == "/var/run/docker.sock" && m.Destination == "/var/run/docker.sock" && m.Type == "bind"
	}) {
		t.Errorf("socket container join: %+v", e.Container)
	}
	for _, a := range []string{"exec_create", "exec_start"} {
		e = c.Wait(t, a, containerEvent(sock, a))
		if !slices.Equal(e.Container.Exec, []string{"sh", "-c", "id"}) || len(e.Container.Mounts) == 0 {
			t.Errorf("%s: exec %q, container %+v", a, e.Container.Exec, e.Container)
		}
	}
	// An argument with a space: only exec inspect gives it back whole
	// (the action text joins argv with spaces).
	if out, err := sourcetest.Docker(ctx, nil, "exec", sock, "sh", "-c", "id -u"); err != nil || out != "0" {
		t.Fatalf("docker exec: %v: %s", err, out)
	}
	e = c.Wait(t, "exec_start id -u", func(e *event.Event) bool {
		return containerEvent(sock, "exec_start")(e) && slices.Contains(e.Container.Exec, "-c") && e.Container.Exec[len(e.Container.Exec)-1] != "id"
	})
	if !slices.Equal(e.Container.Exec, []string{"sh", "-c", "id -u"}) {
		t.Errorf("exec argv %q, want [sh -c \"id -u\"]", e.Container.Exec)
	}

	// Image tag/untag, a network and a volume.
	for _, args := range [][]string{
		{"tag", tag, tag + "-alias"}, {"rmi", tag + "-alias"},
		{"network", "create", "bulwark-test-net"}, {"network", "rm", "bulwark-test-net"},
		{"volume", "create", "bulwark-test-vol"}, {"volume", "rm", "bulwark-test-vol"},
	} {
		if out, err := sourcetest.Docker(ctx, nil, args...); err != nil {
			t.Fatalf("docker %v: %v: %s", args, err, out)
		}
	}
	c.Wait(t, "image tag", func(e *event.Event) bool { return e.Kind == event.KindImage && e.Action == "tag" })
	c.Wait(t, "image untag", func(e *event.Event) bool { return e.Kind == event.KindImage && e.Action == "untag" })
	c.Wait(t, "network create", func(e *event.Event) bool {
		return e.Kind == event.KindNetwork && e.Action == "create" && e.Object.Name == "bulwark-test-net"
	})
	c.Wait(t, "volume destroy", func(e *event.Event) bool {
		return e.Kind == event.KindVolume && e.Action == "destroy" && e.Object.ID == "bulwark-test-vol"
	})

	// Destroy carries the cached join, then the cache forgets the container.
	if out, err := sourcetest.Docker(ctx, nil, "rm", "-f", priv, sock); err != nil {
		t.Fatalf("docker rm: %v: %s", err, out)
	}
	e = c.Wait(t, "destroy", containerEvent(priv, "destroy"))
	if !e.Container.Privileged {
		t.Errorf("destroy lost the join: %+v", e.Container)
	}
	c.Wait(t, "die", containerEvent(sock, "die"))
	c.Wait(t, "destroy", containerEvent(sock, "destroy"))
	if _, ok := s.cache.get(priv); ok {
		t.Errorf("container %s still cached after destroy", priv)
	}
	if n := len(c.Find(containerEvent(sock, "exec_start"))); n != 2 {
		t.Errorf("exec_start seen %d times, want 2", n)
	}
	if st := s.Stats(); st.Events == 0 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// proxy forwards a unix socket to the engine's and can cut every
// connection and refuse new ones, as an engine restart does.
type proxy struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func startProxy(t *testing.T, target string) (*proxy, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &proxy{}
	t.Cleanup(func() { p.cut(false) })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				in.Close()
				continue
			}
			out, err := net.Dial("unix", target)
			if err != nil {
				p.mu.Unlock()
				in.Close()
				continue
			}
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p, path
}

// cut closes every open connection; down refuses new ones until cut(false).
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestIntegrationReconnectResumes(t *testing.T) {
	testenv.Docker(t)
	p, path := startProxy(t, "/var/run/docker.sock")
	s, c := startSource(t, Options{Host: "unix://" + path, Since: time.Now().Add(-time.Second), MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx := context.Background()
	vol := func(name string) func(*event.Event) bool {
		return func(e *event.Event) bool {
			return e.Kind == event.KindVolume && e.Action == "create" && e.Object != nil && e.Object.ID == name
		}
	}
	names := []string{"bulwark-test-rc-1", "bulwark-test-rc-2", "bulwark-test-rc-3"}
	t.Cleanup(func() {
		for _, n := range names {
			_, _ = sourcetest.Docker(context.Background(), nil, "volume", "rm", "-f", n)
		}
	})
	if out, err := sourcetest.Docker(ctx, nil, "volume", "create", names[0]); err != nil {
		t.Fatalf("volume create: %v: %s", err, out)
	}
	c.Wait(t, "first volume", vol(names[0]))

	// The "engine" goes away; events happen meanwhile (the real engine is
	// still up and records them); then it comes back.
	p.cut(true)
	for _, n := range names[1:] {
		if out, err := sourcetest.Docker(ctx, nil, "volume", "create", n); err != nil {
			t.Fatalf("volume create: %v: %s", err, out)
		}
	}
	time.Sleep(300 * time.Millisecond) // let at least one reconnect fail
	p.cut(false)
	for _, n := range names {
		c.Wait(t, n, vol(n))
	}
	for _, n := range names {
		if got := len(c.Find(vol(n))); got != 1 {
			t.Errorf("volume %s create seen %d times, want exactly 1", n, got)
		}
	}
	if s.Reconnects() == 0 {
		t.Errorf("no reconnect recorded")
	}
}
