package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

// cutProxy is a TCP proxy to the API server that the test can cut (its
// listener closed, every connection through it dropped) and restore on
// the same address: the agent behind it loses the API server while the
// test still reaches it directly.
type cutProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close(); c.Close() }() //nolint:errcheck
			go func() { io.Copy(c, u); u.Close(); c.Close() }() //nolint:errcheck
		}
	}()
}

// cut closes the listener and every connection: new dials are refused.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("re-listening on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestAgentClusterWatchExpired provokes a real 410 Gone: the cluster
// agent reaches the API server (watch cache off, so watches are served
// from etcd) through a proxy; the proxy is cut, objects are created and
// deleted directly, etcd is compacted to its current revision, and the
// proxy is restored: the agent's reflectors resume their watches from
// resourceVersions etcd no longer has and are answered 410 (checked
// here with a watch of our own from such a version). The agent says so
// clearly and the server's inventory catches up. The same cut without the
// compaction resumes the watches: no such line, the same catch-up.
func TestAgentClusterWatchExpired(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compact bool
	}{{"compacted", true}, {"not compacted", false}} {
		t.Run(tc.name, func(t *testing.T) { testAgentClusterWatchExpired(t, tc.compact) })
	}
}

func testAgentClusterWatchExpired(t *testing.T, compact bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := kubeenv.Start(t, kubeenv.Options{ExtraArgs: []string{"--watch-cache=false"}})
	ks, err := c.AdminClient.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(ks.UID)
	srv := startServer(t)
	base := srv.base
	token := func(args ...string) string { return srv.token(t, args...) }
	enrol := token("--name", "enrol", "--scope", "enroll", "--expires", "1h")
	read := token("--name", "reader", "--scope", "read")

	u, _ := url.Parse(c.URL)
	proxy := startCutProxy(t, u.Host)
	// The agent's kubeconfig names the proxy (same certificate: 127.0.0.1).
	kc := c.Kubeconfig(t, c.Admin, "")
	b, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kc, []byte(strings.Replace(string(b), c.URL, "https://"+proxy.addr, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	agent := testproc.Start(t, t.TempDir(), "agent", bulwark.Path(t), "--cache-dir", t.TempDir(), "agent", "cluster", "--kubeconfig", kc,
		"--server", base, "--token", enrol, "--cluster-name", "e2e", "--settle", "200ms", "--heartbeat", "1s")

	status := func(id string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/resources/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+read)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var x map[string]any
		json.NewDecoder(r.Body).Decode(&x) //nolint:errcheck
		return r.StatusCode
	}
	wait := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Since(start) > d {
				t.Fatalf("%s: not within %s\nagent log:\n%s", what, d, agent.Tail(40))
			}
		}
	}
	c.CreateNamespace(t, "shop", nil)
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/shop/" + name + ":1"}}}}
	}
	pods := c.AdminClient.CoreV1().Pods("shop")
	for _, n := range []string{"old-1", "old-2"} {
		if _, err := pods.Create(ctx, pod(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"old-1", "old-2"} {
		wait(n+" on the server", 30*time.Second, func() bool { return status(uid+"/shop/Pod/"+n) == http.StatusOK })
	}
	// The agent's watches are at (or after) this version now.
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldRV := list.ResourceVersion

	// client-go relists at once after a watch that lasted under a second
	// with no event ("very short watch"); one that ran longer and breaks
	// is resumed from its resourceVersion — the case that can expire.
	time.Sleep(3 * time.Second)
	// Cut: the agent's watches break and cannot resume.
	proxy.cut()
	if err := pods.Delete(ctx, "old-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, pod("new-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if compact {
		compactEtcdNow(t, c.EtcdURL)
	}
	// The condition is real: a watch from the agent's last version is
	// answered 410 Gone now (after the compaction only).
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: oldRV})
	if err == nil && !compact {
		w.Stop()
	} else if err == nil {
		select {
		case ev := <-w.ResultChan():
			err = apierrors.FromObject(ev.Object)
			if ev.Type != watch.Error {
				err = fmt.Errorf("event %s", ev.Type)
			}
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("no event")
		}
		w.Stop()
	}
	if compact && !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) || !compact && err != nil {
		t.Fatalf("a watch from resourceVersion %s after the compaction: %v, want 410 Gone", oldRV, err)
	}
	t.Logf("a watch from resourceVersion %s now: %v", oldRV, err)

	proxy.restore(t)
	wait("the pod created while the agent was cut off on the server", 60*time.Second, func() bool {
		return status(uid+"/shop/Pod/new-1") == http.StatusOK
	})
	wait("the pod deleted while the agent was cut off gone from the server", 60*time.Second, func() bool {
		return status(uid+"/shop/Pod/old-1") == http.StatusNotFound
	})
	if status(uid+"/shop/Pod/old-2") != http.StatusOK {
		t.Errorf("the pod that stayed is gone from the server")
	}
	logText := agent.Tail(400)
	if said := strings.Contains(logText, "cluster agent: watch expired (410 Gone"); said != compact {
		t.Errorf("the agent said its watch expired (410 Gone): %v, want %v:\n%s", said, compact, agent.Tail(40))
	}
}

// compactEtcdNow compacts etcd to its current revision: every watch that
// resumes from an older resourceVersion expires (410 Gone).
func compactEtcdNow(t *testing.T, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	r, err := cli.Get(ctx, "/bulwark-e2e-none")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, r.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
}
