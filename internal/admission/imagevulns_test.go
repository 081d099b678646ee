package admission_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/bulwarkdev/bulwark/internal/admission"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/store"
)

const (
	vulnImage  = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cleanImage = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// verdictServer is a real API server over a SQLite store that knows
// registry.example/shop:vuln (one critical finding) and
// registry.example/shop:clean (none); it returns the server and a read
// token.
func verdictServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, im := range []struct {
		id, tag string
		fs      []model.Finding
	}{
		{vulnImage, "vuln", []model.Finding{{ID: "CVE-2026-9", Severity: model.SeverityCritical, Status: model.StatusFixed,
			Package: model.Package{Name: "bash", Version: "1", Type: "deb"}, InstalledVersion: "1", FixedVersion: "2"}}},
		{cleanImage, "clean", nil},
	} {
		var c model.Counts
		for _, f := range im.fs {
			c.Add(f.Severity)
		}
		verdict := model.VerdictHealthy
		if c.Total > 0 {
			verdict = model.VerdictUnhealthy
		}
		if _, err := st.Ingest(ctx, &store.Batch{Kind: "image", Subject: im.id, ContentHash: im.tag,
			Resources: []model.Resource{{Kind: model.KindImage, ID: im.id, Name: "registry.example/shop:" + im.tag}},
			ImageRefs: []store.ImageRef{{ImageID: im.id, Repository: "registry.example/shop", Tag: im.tag}},
			Findings:  im.fs, Matched: true, Health: &store.Health{Verdict: verdict, Counts: c, DBVersion: "db1"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "webhook", Scopes: "read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: st}))
	t.Cleanup(srv.Close)
	return srv, tok
}

func podReview(image string) *admissionv1.AdmissionRequest {
	obj := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop", "namespace": "prod"},
		"spec": {"containers": [{"name": "app", "image": "` + image + `"}]}}`
	return &admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Create, Namespace: "prod", Name: "shop",
		Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Object: runtime.RawExtension{Raw: []byte(obj)}}
}

// TestImageVulnsGate: the webhook's BW-K8S-IMAGE-VULNS against a real
// server: unknown at first (warned), then denied for the vulnerable image
// and admitted for the clean one; with the server gone the verdicts held
// still decide, and a new image is decided by --image-vulns-unknown.
func TestImageVulnsGate(t *testing.T) {
	srv, tok := verdictServer(t)
	cl, err := client.New(srv.URL, tok, client.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache := admission.NewVerdictCache(admission.VerdictCacheOptions{Source: cl, RetryAfter: 50 * time.Millisecond})
	go cache.Run(ctx)
	cfg, err := policy.ParseConfig([]byte("sets: [defender]\npolicies:\n  BW-K8S-IMAGE-VULNS: {mode: enforce, params: {severity: high}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(ctx, cfg, policy.WithImageVerdicts(cache.Lookup))
	if err != nil {
		t.Fatal(err)
	}
	handler := func(a admission.UnknownAction) *admission.Handler {
		h, err := admission.NewHandler(admission.HandlerOptions{Evaluator: admission.NewEngine(eng), ImageVulnsUnknown: a})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		return h
	}
	warn, deny := handler(admission.UnknownWarn), handler(admission.UnknownDeny)
	vuln, clean := "registry.example/shop:vuln", "registry.example/shop:clean"

	resp, _ := warn.Review(ctx, podReview(vuln))
	if !resp.Allowed || !strings.Contains(strings.Join(resp.Warnings, "\n"), "no vulnerability verdict") {
		t.Fatalf("first review of an image never fetched: allowed %v warnings %q", resp.Allowed, resp.Warnings)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ = warn.Review(ctx, podReview(vuln))
		if !resp.Allowed || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp.Allowed || !strings.Contains(resp.Result.Message, "1 critical vulnerabilities at or above high") {
		t.Fatalf("vulnerable image: allowed %v %+v", resp.Allowed, resp.Result)
	}
	cache.Prefetch(clean)
	for deadline = time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, known := cache.Lookup(clean); known {
			break
		}
	}
	resp, _ = deny.Review(ctx, podReview(clean))
	if !resp.Allowed || strings.Contains(strings.Join(resp.Warnings, "\n"), "IMAGE-VULNS") {
		t.Fatalf("clean image: allowed %v warnings %q %+v", resp.Allowed, resp.Warnings, resp.Result)
	}

	srv.Close() // the server goes away
	if resp, _ = warn.Review(ctx, podReview(vuln)); resp.Allowed {
		t.Error("the verdict held was lost with the server")
	}
	if resp, _ = deny.Review(ctx, podReview("registry.example/shop:new")); resp.Allowed || !strings.Contains(resp.Result.Message, "--image-vulns-unknown is deny") {
		t.Errorf("unknown image with deny: allowed %v %+v", resp.Allowed, resp.Result)
	}
	if resp, _ = warn.Review(ctx, podReview("registry.example/shop:new")); !resp.Allowed || len(resp.Warnings) == 0 {
		t.Errorf("unknown image with warn: allowed %v warnings %q", resp.Allowed, resp.Warnings)
	}
	allow := handler(admission.UnknownAllow)
	if resp, _ = allow.Review(ctx, podReview("registry.example/shop:new")); !resp.Allowed || strings.Contains(strings.Join(resp.Warnings, "\n"), "IMAGE-VULNS") {
		t.Errorf("unknown image with allow: allowed %v warnings %q", resp.Allowed, resp.Warnings)
	}
}
