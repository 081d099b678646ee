package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
)

// TestServerClusterIdentity: `audit k8s` and `bench k8s` of one real
// cluster, sent to a real `bulwark server`, land on one cluster resource
// keyed by kube-system's UID, whatever the kubeconfig calls the cluster;
// a token bound to another cluster is refused.
func TestServerClusterIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := kubeenv.Start(t, kubeenv.Options{})
	ks, err := c.AdminClient.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(ks.UID)
	srv := startServer(t)
	dir, base := srv.dir, srv.base
	token := func(args ...string) string { return srv.token(t, args...) }
	tok := token("--name", "e2e", "--scope", "ingest,read")
	kc := c.Kubeconfig(t, c.Admin, "")
	runBulwark(t, nil, nil, "audit", "k8s", "--kubeconfig", kc, "-A", "-f", "json", "-o", dir+"/audit.json", "--server", base, "--token", tok, "--cluster-name", "prod")
	runBulwark(t, nil, nil, "bench", "k8s", "--kubeconfig", kc, "--targets", "policies,cluster", "-f", "json", "-o", dir+"/bench.json", "--server", base, "--token", tok)

	get := func(path string, q url.Values, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, r.StatusCode)
		}
		json.NewDecoder(r.Body).Decode(out) //nolint:errcheck
	}
	var clusters struct {
		Items []struct {
			ID, Name string
		} `json:"items"`
	}
	get("/api/v1/resources", url.Values{"kind": {"cluster"}}, &clusters)
	if len(clusters.Items) != 1 || clusters.Items[0].ID != uid {
		t.Fatalf("clusters on the server = %+v, want one, id %s", clusters.Items, uid)
	}
	var as struct {
		Items []struct {
			Rule   string `json:"rule"`
			Source string `json:"source"`
		} `json:"items"`
	}
	get("/api/v1/assessments", url.Values{"resource": {uid}, "limit": {"500"}}, &as)
	sources := map[string]bool{}
	for _, a := range as.Items {
		sources[a.Source] = true
	}
	if !sources["cis-k8s"] {
		t.Errorf("the cluster's assessments come from %v, want cis-k8s (bench k8s)", sources)
	}
	var workloads struct {
		Items []struct{ ID string } `json:"items"`
	}
	get("/api/v1/resources", url.Values{"parent": {uid + "/kube-system"}}, &workloads)
	for _, w := range workloads.Items {
		if !strings.HasPrefix(w.ID, uid+"/kube-system/") {
			t.Errorf("object %s not under the cluster's identity", w.ID)
		}
	}
	// A token bound to another cluster may not write for this one.
	other := token("--name", "other", "--scope", "ingest", "--resource", "cluster/staging")
	_, code, stderr := execBulwark(t, nil, "bench", "k8s", "--kubeconfig", kc, "--targets", "policies", "-f", "json", "-o", dir+"/b2.json", "--server", base, "--token", other)
	if code != 1 || !strings.Contains(stderr, "403") {
		t.Errorf("bench k8s with a token bound to another cluster: exit %d\n%s", code, stderr)
	}
}
