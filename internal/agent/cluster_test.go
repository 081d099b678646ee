package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/server/servertest"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

const testCluster = "c0ffee00-0000-4000-8000-0000000000c1"

// debianImage is the real Debian test image (debootstrap minbase), plus
// a layer of extra files when extra is set (another digest, same packages).
func debianImage(t *testing.T, extra bool) v1.Image {
	t.Helper()
	layer, err := tarball.LayerFromFile(testenv.DebianRootfs(t, "bookworm-minbase"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: "amd64", OS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	if extra {
		l, err := random.Layer(512, "application/vnd.docker.image.rootfs.diff.tar.gzip")
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func pushImage(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d.String()
}

// clusterServer runs a real server (SQLite) with a vulnerability DB in
// which Debian 12's dpkg is vulnerable, its registry watch and posture
// refresher on short intervals.
func clusterServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	return clusterServerWith(t, "high")
}

// clusterServerWith is clusterServer with the dpkg vulnerability at the
// given severity.
func clusterServerWith(t *testing.T, severity model.Severity) (*server.Server, string) {
	t.Helper()
	cache := t.TempDir()
	if _, err := vulndb.Build(context.Background(), scan.DBDir(cache), func(ctx context.Context, s advisory.Sink) error {
		if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2099-7", Source: "test", Severity: severity}); err != nil {
			return err
		}
		return s.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2099-7", Ecosystem: "Debian:12", Package: "dpkg", Source: "test",
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "99.0"}}}}})
	}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, server.Options{DataDir: t.TempDir(), CacheDir: cache, ShutdownTimeout: 5 * time.Second,
		PostureInterval: 200 * time.Millisecond, Watch: registry.Options{PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond, MaxAttempts: 3, CrawlTick: time.Hour}})
}

func podObj(ns, name string, owner map[string]any, containers ...[3]string) map[string]any {
	var spec, statuses []any
	for _, c := range containers {
		spec = append(spec, map[string]any{"name": c[0], "image": c[1]})
		if c[2] != "" {
			statuses = append(statuses, map[string]any{"name": c[0], "image": c[1], "imageID": c[2], "ready": true, "restartCount": int64(0)})
		}
	}
	md := map[string]any{"name": name, "namespace": ns, "uid": "uid-" + name,
		"managedFields": []any{map[string]any{"manager": "kubectl"}}}
	if owner != nil {
		md["ownerReferences"] = []any{owner}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": map[string]any{"containers": spec},
		"status": map[string]any{"phase": "Running", "containerStatuses": statuses, "conditions": []any{map[string]any{"type": "Ready"}}}}
}

func ownerRef(kind, name string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "uid-" + name, "controller": true}
}

// TestClusterRunningImages: the cluster agent resolves what its pods run
// to image digests (kubelet's imageID) and the real server links them to
// the images it knows: the Debian test image, scanned from a real
// registry and vulnerable, running in a Deployment's pod makes the
// running-image recommendation unhealthy for it; a digest the server has
// not seen in a watched registry is scanned and judged in turn; one in a
// registry the server does not watch is an image not assessed, with why.
// Then only what changed is sent: an unchanged re-evaluation nothing, a
// deleted pod its removal.
func TestClusterRunningImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	known := pushImage(t, reg+"/team/debian:12", debianImage(t, false))
	srv, url := clusterServer(t)
	if _, err := srv.Watch.Add(ctx, registry.Config{Name: "local", URL: "http://" + reg}, ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Watch.Crawl(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the Debian image scanned from the registry", func() (bool, string) {
		r, err := srv.Store.Resource(ctx, known)
		if err != nil {
			return false, err.Error()
		}
		return r.Health == "unhealthy", r.Health
	})
	// Pushed after the crawl: the server has not seen it.
	unseen := pushImage(t, reg+"/team/app:2", debianImage(t, true))
	foreign := "sha256:" + strings.Repeat("e", 64)

	_, enrol, err := api.CreateToken(ctx, srv.Store, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	conn, err := agent.Connect(ctx, agent.Options{Server: url, Token: enrol, StateDir: t.TempDir(), Kind: "cluster", Name: "test", Version: "dev",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng, err := policy.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := agent.NewTestCluster(conn, agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "test"}, Engine: eng, Version: "dev", Chunk: 2,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}, testCluster)
	tc.Put("Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}})
	tc.Put("Deployment", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop", "uid": "uid-web"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": reg + "/team/debian:12"}}}}}})
	tc.Put("ReplicaSet", map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": map[string]any{"name": "web-1", "namespace": "shop", "uid": "uid-web-1",
		"ownerReferences": []any{ownerRef("Deployment", "web")}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": reg + "/team/debian:12"}}}}}})
	tc.Put("Pod", podObj("shop", "web-1-a", ownerRef("ReplicaSet", "web-1"), [3]string{"web", reg + "/team/debian:12", "docker-pullable://" + reg + "/team/debian@" + known}))
	tc.Put("Pod", podObj("shop", "app", nil, [3]string{"app", reg + "/team/app:2", reg + "/team/app@" + unseen}))
	tc.Put("Pod", podObj("shop", "ext", nil, [3]string{"ext", "registry.example/other:1", "docker-pullable://registry.example/other@" + foreign}))
	tc.Resync(ctx)

	web := testCluster + "/shop/Deployment/web"
	waitFor(t, 30*time.Second, "the Deployment linked to the image digest its pod runs", func() (bool, string) {
		r, err := srv.Store.Resource(ctx, web)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(fmt.Sprint(r.Uses), known), fmt.Sprint(r.Uses)
	})
	runningStatus := func(id string) string {
		p, err := srv.Store.RecResources(ctx, store.RecResourceQuery{Recommendation: "REC-RUNNING-IMAGE-VULNS"})
		if err != nil {
			return err.Error()
		}
		for _, r := range p.Items {
			if r.ResourceID == id {
				return r.Status
			}
		}
		return "absent"
	}
	waitFor(t, 30*time.Second, "REC-RUNNING-IMAGE-VULNS unhealthy for the vulnerable image running in the cluster", func() (bool, string) {
		s := runningStatus(known)
		return s == "unhealthy", s
	})
	waitFor(t, time.Minute, "the unseen image in the watched registry scanned and judged as running", func() (bool, string) {
		s := runningStatus(unseen)
		return s == "unhealthy", s
	})
	waitFor(t, 30*time.Second, "the image of an unwatched registry not assessed, with why", func() (bool, string) {
		p, err := srv.Store.ListAssessments(ctx, store.AssessmentQuery{Resource: foreign, Rule: "VULN-image"})
		if err != nil || len(p.Items) != 1 {
			return false, fmt.Sprint(p.Items, err)
		}
		a := p.Items[0]
		return a.Status == "not-assessed" && strings.Contains(fmt.Sprint(a.Evidence), "not scanned: registry not configured"), fmt.Sprintf("%+v", a)
	})

	// Incremental: nothing changed, nothing is sent; a pod deleted is
	// its removal alone.
	waitFor(t, 10*time.Second, "the resync delivered", func() (bool, string) {
		s := conn.OutboxStats()
		return s.Queued == 0, fmt.Sprintf("%+v", s)
	})
	before := conn.OutboxStats().Sent
	tc.Put("Pod", podObj("shop", "app", nil, [3]string{"app", reg + "/team/app:2", reg + "/team/app@" + unseen}))
	tc.Changes(ctx)
	if st := tc.Stats(); st.Unchanged == 0 || conn.OutboxStats().Sent+conn.OutboxStats().Queued != before {
		t.Errorf("an unchanged object was sent: %+v, outbox %+v", st, conn.OutboxStats())
	}
	tc.Remove("Pod", podObj("shop", "ext", nil))
	tc.Changes(ctx)
	waitFor(t, 10*time.Second, "the deleted pod gone from the server", func() (bool, string) {
		_, err := srv.Store.Resource(ctx, testCluster+"/shop/Pod/ext")
		return err == store.ErrNotFound, fmt.Sprint(err)
	})
	if s := conn.OutboxStats(); s.Sent != before+1 || s.Failed != 0 {
		t.Errorf("outbox %+v: want the delete as one message", s)
	}
	if st := tc.Stats(); st.Deletes != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, err := srv.Store.Resource(ctx, testCluster+"/shop/Pod/app"); err != nil {
		t.Errorf("the unchanged pod: %v", err)
	}
}

func nodeObj(name, ready string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "uid": "uid-" + name, "labels": map[string]any{"node-role.kubernetes.io/control-plane": ""}},
		"spec":     map[string]any{"podCIDR": "10.0.0.0/24"},
		"status": map[string]any{
			"nodeInfo": map[string]any{"kubeletVersion": "v1.33.2", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-30-amd64",
				"containerRuntimeVersion": "containerd://1.7.24", "architecture": "amd64", "operatingSystem": "linux"},
			"conditions": []any{map[string]any{"type": "MemoryPressure", "status": "False"}, map[string]any{"type": "Ready", "status": ready, "lastHeartbeatTime": "2026-12-06T08:00:00Z"}},
			"images":     []any{map[string]any{"names": []any{"registry.k8s.io/pause:3.10"}, "sizeBytes": int64(320368)}},
		}}
}

// TestClusterNodes: the cluster agent inventories the cluster's nodes
// under the node agent's id for them (agent.NodeID), with the API
// server's facts; a node turning NotReady is an update, a node removed a
// delete; the node agent's facts of the same node are kept beside them.
func TestClusterNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, url := clusterServer(t)
	_, enrol, err := api.CreateToken(ctx, srv.Store, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := agent.Connect(ctx, agent.Options{Server: url, Token: enrol, StateDir: t.TempDir(), Kind: "cluster", Name: "test", Version: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng, err := policy.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := agent.NewTestCluster(conn, agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "test"}, Engine: eng, Version: "dev"}, testCluster)
	tc.Put("Node", nodeObj("cp-1", "True"))
	tc.Put("Node", nodeObj("worker-1", "True"))
	tc.Resync(ctx)
	id := agent.NodeID(testCluster, "cp-1")
	node := func(id string) (model.Resource, error) {
		r, err := srv.Store.Resource(ctx, id)
		if err != nil {
			return model.Resource{}, err
		}
		return model.Resource{Kind: model.ResourceKind(r.Kind), ID: r.ID, Name: r.Name, Parent: r.Parent, Facts: r.Facts}, nil
	}
	waitFor(t, 20*time.Second, "the node in the inventory with its facts", func() (bool, string) {
		r, err := node(id)
		if err != nil {
			return false, err.Error()
		}
		f := r.Facts
		return r.Kind == model.KindNode && r.Parent == testCluster && r.Name == "cp-1" && f["kubelet_version"] == "v1.33.2" && f["ready"] == "true" &&
				f["kernel_version"] == "6.1.0-30-amd64" && f["container_runtime_version"] == "containerd://1.7.24" && f["role"] == "control-plane" && f["images"] == "",
			fmt.Sprintf("%+v", r)
	})
	// What the node agent reports of the same node (its host facts) is
	// kept beside the API's.
	if _, err := srv.Store.Ingest(ctx, &store.Batch{Kind: "k8s-bench", Subject: testCluster, At: time.Now(), Source: "k8s-bench",
		Resources: []model.Resource{{Kind: model.KindNode, ID: id, Name: "cp-1", Parent: testCluster, Facts: map[string]string{"kernel": "6.1.0-30-amd64", "os": "Debian GNU/Linux 12 (bookworm)"}}}}); err != nil {
		t.Fatal(err)
	}
	tc.Put("Node", nodeObj("cp-1", "False"))
	tc.Changes(ctx)
	waitFor(t, 20*time.Second, "the node NotReady, both agents' facts kept", func() (bool, string) {
		r, err := node(id)
		if err != nil {
			return false, err.Error()
		}
		return r.Facts["ready"] == "false" && r.Facts["os"] != "" && r.Facts["kubelet_version"] != "", fmt.Sprint(r.Facts)
	})
	tc.Remove("Node", nodeObj("worker-1", "True"))
	tc.Changes(ctx)
	waitFor(t, 20*time.Second, "the removed node gone", func() (bool, string) {
		_, err := node(agent.NodeID(testCluster, "worker-1"))
		return err == store.ErrNotFound, fmt.Sprint(err)
	})
	if st := tc.Stats(); st.Deletes != 1 || st.Upserts != 3 {
		t.Errorf("stats %+v: want 3 upserts (2 in the resync, 1 update), 1 delete", st)
	}
}
