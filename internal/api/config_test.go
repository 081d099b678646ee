package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

const verdictImage = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestImageVerdictRoutes: one image by reference, a batch in order, an
// unknown and an unparsable reference, the bound on a batch.
func TestImageVerdictRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		crit := model.Finding{ID: "CVE-2026-1", Severity: model.SeverityCritical, Status: model.StatusFixed, Package: model.Package{Name: "bash", Version: "1", Type: "deb"},
			InstalledVersion: "1", FixedVersion: "2"}
		_, err := e.st.Ingest(ctx, &store.Batch{Kind: "image", Subject: verdictImage, ContentHash: "h", At: e.now,
			Resources: []model.Resource{{Kind: model.KindImage, ID: verdictImage, Name: "nginx:1.27"}},
			ImageRefs: []store.ImageRef{{ImageID: verdictImage, Repository: "index.docker.io/library/nginx", Tag: "1.27"}},
			Findings:  []model.Finding{crit}, Matched: true,
			Health: &store.Health{Verdict: model.VerdictUnhealthy, Counts: model.Counts{Critical: 1, Total: 1}, DBVersion: "2026-12-01T00:00:00Z"}})
		if err != nil {
			t.Fatal(err)
		}
		resp := e.do(t, "GET", "/api/v1/images/verdict?image=nginx:1.27", e.tokens["read"], nil, nil, nil)
		var v model.ImageVerdict
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET verdict: %d %v", resp.StatusCode, err)
		}
		if !v.Known || v.Digest != verdictImage || v.ResolvedBy != "reference" || v.WorstSeverity != model.SeverityCritical || v.Fixable.Critical != 1 || v.DBVersion == "" {
			t.Errorf("verdict of nginx:1.27 = %+v", v)
		}
		if got := e.do(t, "GET", "/api/v1/images/verdict", e.tokens["read"], nil, nil, nil).StatusCode; got != 400 {
			t.Errorf("GET without image = %d, want 400", got)
		}
		resp = e.do(t, "POST", "/api/v1/images/verdicts", e.tokens["read"], map[string]any{"images": []string{"docker.io/library/nginx:1.27", "nginx:9", "Not A Ref", "x@" + verdictImage}}, nil, nil)
		var batch struct{ Items []model.ImageVerdict }
		if err := json.NewDecoder(resp.Body).Decode(&batch); err != nil || resp.StatusCode != 200 || len(batch.Items) != 4 {
			t.Fatalf("POST verdicts: %d %v %+v", resp.StatusCode, err, batch)
		}
		known := []bool{true, false, false, true}
		for i, v := range batch.Items {
			if v.Known != known[i] {
				t.Errorf("item %d (%s) known = %v", i, v.Image, v.Known)
			}
		}
		if batch.Items[2].Error == "" || batch.Items[3].ResolvedBy != "digest" {
			t.Errorf("unparsable / by digest = %+v / %+v", batch.Items[2], batch.Items[3])
		}
		if got := e.do(t, "POST", "/api/v1/images/verdicts", e.tokens["read"], map[string]any{"images": make([]string, 501)}, nil, nil).StatusCode; got != 400 {
			t.Errorf("501 images = %d, want 400", got)
		}
	})
}

// TestConfigRoutes: read (version 0, ETag, 304), replace (admin), a
// broken document refused with the parser's message while the old one
// stays, If-Match, the audit log.
func TestConfigRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name, good, broken, wantMsg string
		}{
			{"policies", "policies:\n  BW-K8S-IMAGE-VULNS:\n    mode: enforce\n    params: {severity: high}\n", "policies:\n  BW-K8S-IMAGE-VULNS:\n    params: {severity: urgent}\n", "params.severity"},
			{"runtime-exceptions", "exceptions:\n  - rules: [K8S_PrivilegedContainer]\n    namespaces: [ci]\n    reason: CI builds\n", "exceptions:\n  - rules: [K8S_PrivilegedContainer]\n", "reason is required"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := "/api/v1/config/" + tc.name
				resp := e.do(t, "GET", path, e.tokens["read"], nil, nil, nil)
				var d store.ConfigDoc
				json.NewDecoder(resp.Body).Decode(&d) //nolint:errcheck
				etag0 := resp.Header.Get("ETag")
				if resp.StatusCode != 200 || d.Version != 0 || d.Body != "" || etag0 == "" {
					t.Fatalf("unset: %d %+v etag %q", resp.StatusCode, d, etag0)
				}
				if got := e.do(t, "GET", path, e.tokens["read"], nil, map[string]string{"If-None-Match": etag0}, nil).StatusCode; got != 304 {
					t.Errorf("If-None-Match current = %d, want 304", got)
				}
				if got := e.do(t, "PUT", path, e.tokens["read"], map[string]string{"config": tc.good}, nil, nil).StatusCode; got != 403 {
					t.Errorf("PUT with read = %d, want 403", got)
				}
				resp = e.do(t, "PUT", path, e.tokens["admin"], map[string]string{"config": tc.good}, map[string]string{"If-Match": etag0}, nil)
				json.NewDecoder(resp.Body).Decode(&d) //nolint:errcheck
				etag1 := resp.Header.Get("ETag")
				if resp.StatusCode != 200 || d.Version != 1 || d.Body != tc.good || etag1 == etag0 {
					t.Fatalf("PUT good: %d %+v", resp.StatusCode, d)
				}
				resp = e.do(t, "PUT", path, e.tokens["admin"], map[string]string{"config": tc.broken}, nil, nil)
				var p struct{ Detail string }
				json.NewDecoder(resp.Body).Decode(&p) //nolint:errcheck
				if resp.StatusCode != 422 || !strings.Contains(p.Detail, tc.wantMsg) {
					t.Errorf("PUT broken = %d %q, want 422 with %q", resp.StatusCode, p.Detail, tc.wantMsg)
				}
				if got := e.do(t, "PUT", path, e.tokens["admin"], map[string]string{"config": tc.good + "\n"}, map[string]string{"If-Match": etag0}, nil).StatusCode; got != http.StatusPreconditionFailed {
					t.Errorf("PUT against an old ETag = %d, want 412", got)
				}
				resp = e.do(t, "GET", path, e.tokens["read"], nil, map[string]string{"If-None-Match": etag0}, nil)
				json.NewDecoder(resp.Body).Decode(&d) //nolint:errcheck
				if resp.StatusCode != 200 || d.Version != 1 || d.Body != tc.good || resp.Header.Get("ETag") != etag1 {
					t.Errorf("after the refusals: %d %+v", resp.StatusCode, d)
				}
			})
		}
		resp := e.do(t, "GET", "/api/v1/audit-log", e.tokens["admin"], nil, nil, nil)
		var log struct{ Items []store.AuditEntry }
		json.NewDecoder(resp.Body).Decode(&log) //nolint:errcheck
		n := 0
		for _, it := range log.Items {
			if it.Action == "config.update" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("audit log has %d config changes, want 2: %+v", n, log.Items)
		}
		if got := e.do(t, "PUT", "/api/v1/config/policies", e.tokens["admin"], map[string]string{"config": "policy_dirs: [/tmp]\n"}, nil, nil).StatusCode; got != 422 {
			t.Errorf("policy_dirs from the server = %d, want 422", got)
		}
	})
}
