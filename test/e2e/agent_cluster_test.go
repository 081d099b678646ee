package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

// TestAgentCluster: `bulwark agent cluster` enrols with an enrolment token
// and keeps a real server's picture of a real cluster current through
// informers: a privileged Deployment created is unhealthy on the server
// within seconds and linked to its image, made unprivileged it turns
// healthy for that policy, deleted it leaves the inventory, and the agent
// is listed.
func TestAgentCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := kubeenv.Start(t, kubeenv.Options{})
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
	kc := c.Kubeconfig(t, c.Admin, "")
	agent := testproc.Start(t, t.TempDir(), "agent", bulwark.Path(t), "--cache-dir", t.TempDir(), "agent", "cluster", "--kubeconfig", kc,
		"--server", base, "--token", enrol, "--cluster-name", "e2e", "--settle", "200ms", "--heartbeat", "1s")

	get := func(path string, q url.Values, out any) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+read)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		json.NewDecoder(r.Body).Decode(out) //nolint:errcheck
		return r.StatusCode
	}
	privileged := func(id string) string {
		var as struct {
			Items []struct {
				Rule   string `json:"rule"`
				Status string `json:"status"`
			} `json:"items"`
		}
		get("/api/v1/assessments", url.Values{"resource": {id}, "rule": {"BW-PSS-PRIVILEGED"}}, &as)
		if len(as.Items) != 1 {
			return fmt.Sprint(as.Items)
		}
		return as.Items[0].Status
	}
	wait := func(what string, d time.Duration, cond func() (bool, string)) time.Duration {
		t.Helper()
		start := time.Now()
		last := ""
		for time.Since(start) < d {
			ok, s := cond()
			if ok {
				return time.Since(start)
			}
			last = s
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not within %s (last %s)\nagent log:\n%s", what, d, last, agent.Tail(30))
		return 0
	}
	// The cluster appears under its identity.
	wait("the cluster on the server", 30*time.Second, func() (bool, string) {
		var cl struct{ Items []struct{ ID string } }
		get("/api/v1/resources", url.Values{"kind": {"cluster"}}, &cl)
		return len(cl.Items) == 1 && cl.Items[0].ID == uid, fmt.Sprint(cl.Items)
	})

	// A node (no kubelet here: the object is made, its status written as
	// a kubelet would) is in the inventory under the node agent's id for
	// it, with the API's facts.
	nodeObj, err := c.AdminClient.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "e2e-node-1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeObj.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.33.1", OSImage: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-30-amd64",
		ContainerRuntimeVersion: "containerd://1.7.24", Architecture: "amd64", OperatingSystem: "linux"}
	nodeObj.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := c.AdminClient.CoreV1().Nodes().UpdateStatus(ctx, nodeObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the node in the inventory with its facts", 30*time.Second, func() (bool, string) {
		var n struct {
			Kind   string            `json:"kind"`
			Parent string            `json:"parent"`
			Facts  map[string]string `json:"facts"`
		}
		get("/api/v1/resources/"+uid+"/e2e-node-1", nil, &n)
		return n.Kind == "node" && n.Parent == uid && n.Facts["kubelet_version"] == "v1.33.1" && n.Facts["ready"] == "true", fmt.Sprintf("%+v", n)
	})

	c.CreateNamespace(t, "shop", nil)
	priv := true
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/shop/web:1.0",
					SecurityContext: &corev1.SecurityContext{Privileged: &priv}}}},
			},
		},
	}
	if _, err := c.AdminClient.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	id := uid + "/shop/Deployment/web"
	took := wait("the privileged Deployment unhealthy on the server", 30*time.Second, func() (bool, string) {
		s := privileged(id)
		return s == "unhealthy", s
	})
	t.Logf("a created Deployment's policy result on the server after %s", took)
	// What it runs is linked: the workload uses its image reference.
	var d struct {
		Uses []string `json:"uses"`
	}
	get("/api/v1/resources/"+uid+"/shop/Deployment/web", nil, &d)
	if !strings.Contains(fmt.Sprint(d.Uses), "registry.example/shop/web:1.0") {
		t.Errorf("the Deployment runs %v, want registry.example/shop/web:1.0", d.Uses)
	}

	cur, err := c.AdminClient.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	cur.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &no
	if _, err := c.AdminClient.AppsV1().Deployments("shop").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the Deployment made unprivileged healthy for BW-PSS-PRIVILEGED", 30*time.Second, func() (bool, string) {
		s := privileged(id)
		return s == "healthy", s
	})

	// Deleted: gone from the server's inventory.
	if err := c.AdminClient.AppsV1().Deployments("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the deleted Deployment gone from the server", 30*time.Second, func() (bool, string) {
		var x map[string]any
		code := get("/api/v1/resources/"+id, nil, &x)
		return code == http.StatusNotFound, fmt.Sprint(code)
	})

	// What a pod runs, as the kubelet resolved it, is linked by digest;
	// a digest the server has not seen, in a registry it does not watch,
	// is an image not assessed, with why.
	digest := "sha256:" + strings.Repeat("ab", 32)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "shop"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "registry.example/shop/api:2"}}}}
	created, err := c.AdminClient.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "api", Image: "registry.example/shop/api:2", ImageID: "docker-pullable://registry.example/shop/api@" + digest, Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	created.Status.Phase = corev1.PodRunning
	if _, err := c.AdminClient.CoreV1().Pods("shop").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	podID := uid + "/shop/Pod/run"
	wait("the pod linked to the digest it runs", 30*time.Second, func() (bool, string) {
		var d struct {
			Uses []string `json:"uses"`
		}
		get("/api/v1/resources/"+podID, nil, &d)
		return strings.Contains(fmt.Sprint(d.Uses), digest), fmt.Sprint(d.Uses)
	})
	wait("the unseen digest not assessed: registry not configured", 30*time.Second, func() (bool, string) {
		var as struct {
			Items []struct {
				Status   string   `json:"status"`
				Evidence []string `json:"evidence"`
			} `json:"items"`
		}
		get("/api/v1/assessments", url.Values{"resource": {digest}, "rule": {"VULN-image"}}, &as)
		return len(as.Items) == 1 && as.Items[0].Status == "not-assessed" && strings.Contains(fmt.Sprint(as.Items[0].Evidence), "registry not configured"), fmt.Sprint(as.Items)
	})

	// The API server restarts, etcd compacted while it is down: the
	// watches break (resumed from a compacted revision); the agent says
	// so, resyncs once the server is back, and catches up with what
	// changes after.
	// Without its watch cache, the API server watches etcd itself: a
	// watch from a compacted revision is answered 410 Gone.
	c.RestartAPIServer(t, time.Second, func() { compactEtcd(t, c.EtcdURL) }, "--watch-cache=false")
	if err := c.AdminClient.CoreV1().Pods("shop").Delete(ctx, "run", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	dep.ResourceVersion = ""
	dep.Name = "after"
	if _, err := c.AdminClient.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("a Deployment created after the restart on the server", 60*time.Second, func() (bool, string) {
		s := privileged(uid + "/shop/Deployment/after")
		return s == "unhealthy", s
	})
	wait("the pod deleted after the restart gone from the server", 30*time.Second, func() (bool, string) {
		var x map[string]any
		code := get("/api/v1/resources/"+podID, nil, &x)
		return code == http.StatusNotFound, fmt.Sprint(code)
	})
	logText := agent.Tail(400)
	for _, want := range []string{"the API server is unreachable", "the API server answers again", "full resync queued"} {
		if !strings.Contains(logText, want) {
			t.Errorf("agent log lacks %q:\n%s", want, agent.Tail(40))
		}
	}
	// client-go's reflectors relist an expired watch themselves; the
	// agent's watch error handler says so when one reaches it.
	t.Logf("a watch error handled by the agent (410 Gone or other): %v", strings.Contains(logText, "cluster agent: watch"))

	var agents struct {
		Items []struct {
			Kind, Version string
			Silent        bool
		} `json:"items"`
	}
	if code := get("/api/v1/agents", nil, &agents); code != 200 || len(agents.Items) != 1 || agents.Items[0].Kind != "cluster" || agents.Items[0].Silent {
		t.Errorf("agents: %d %+v", code, agents)
	}
}

// compactEtcd writes a key and compacts etcd up to it: every watch that
// resumes from an older resourceVersion then expires (410 Gone).
func compactEtcd(t *testing.T, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var rev int64
	for i := range 3 {
		r, err := cli.Put(ctx, fmt.Sprintf("/bulwark-e2e/bump-%d", i), "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = r.Header.Revision
	}
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
}
