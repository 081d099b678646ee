package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func decode[T any](t *testing.T, r *http.Response) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPostureRoutes: recommendations and the score read what the refresher
// computed; exemptions are validated, audited and revocable once; a VEX
// document is parsed before it is kept, and kept once.
func TestPostureRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		wl := model.KubeObjectID("c1", "shop", "Deployment", "web")
		if _, err := e.st.Ingest(ctx, &store.Batch{Kind: "k8s-policy", Subject: "c1", At: e.now, Source: "k8s-policy",
			Resources: []model.Resource{{Kind: model.KindCluster, ID: "c1"}, {Kind: model.KindWorkload, ID: wl, Name: "web", Parent: "c1"}},
			Assessments: []store.ResourceAssessments{{ResourceID: wl, Items: []model.Assessment{
				{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessUnhealthy, Severity: model.SeverityHigh, Evidence: []string{"container c: privileged"}}}}}}); err != nil {
			t.Fatal(err)
		}
		cat, _ := recommend.Default()
		if _, err := e.st.RefreshPosture(ctx, cat, e.now, true); err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "GET", "/api/v1/recommendations?unhealthy=true", e.tokens["read"], nil, nil, nil)
		list := decode[struct{ Items []api.RecSummary }](t, r)
		if len(list.Items) != 1 || list.Items[0].ID != "REC-PRIVILEGED" || list.Items[0].Unhealthy != 1 {
			t.Fatalf("unhealthy recommendations: %+v", list.Items)
		}
		for path, want := range map[string]int{
			"/api/v1/recommendations/REC-NOPE":                           404,
			"/api/v1/recommendations/REC-PRIVILEGED":                     200,
			"/api/v1/recommendations?severity=dire":                      400,
			"/api/v1/recommendations/REC-PRIVILEGED/resources":           200,
			"/api/v1/recommendations/REC-PRIVILEGED/resources?sort=name": 400,
			"/api/v1/score/history?days=0":                               400,
			"/api/v1/history":                                            400,
			"/api/v1/history?resource=" + wl:                             200,
		} {
			if r := e.do(t, "GET", path, e.tokens["read"], nil, nil, nil); r.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, r.StatusCode, want)
			}
		}
		for name, body := range map[string]map[string]any{
			"no reason":       {"recommendation": "REC-PRIVILEGED", "scope": "all"},
			"both kinds":      {"recommendation": "REC-PRIVILEGED", "vulnerability": "CVE-1", "scope": "all", "reason": "r"},
			"unknown rec":     {"recommendation": "REC-NOPE", "scope": "all", "reason": "r"},
			"bad scope":       {"recommendation": "REC-PRIVILEGED", "scope": "team", "reason": "r"},
			"past expiry":     {"recommendation": "REC-PRIVILEGED", "scope": "all", "reason": "r", "expires": "2020-01-01T00:00:00Z"},
			"namespace value": {"recommendation": "REC-PRIVILEGED", "scope": "namespace", "value": "shop", "reason": "r"},
		} {
			if r := e.do(t, "POST", "/api/v1/exemptions", e.tokens["triage"], body, nil, nil); r.StatusCode != 400 {
				t.Errorf("%s: %d, want 400", name, r.StatusCode)
			}
		}
		r = e.do(t, "POST", "/api/v1/exemptions", e.tokens["triage"], map[string]any{"recommendation": "REC-PRIVILEGED", "scope": "namespace", "value": "c1/shop",
			"reason": "the node agent needs it", "expires": "30d"}, nil, nil)
		if r.StatusCode != 201 {
			t.Fatalf("create exemption: %d", r.StatusCode)
		}
		ex := decode[recommend.Exemption](t, r)
		if ex.Author != "token:triage" && ex.Author == "" || !ex.Expires.Equal(e.now.Add(30*24*time.Hour)) {
			t.Errorf("exemption: %+v", ex)
		}
		if _, err := e.st.RefreshPosture(ctx, cat, e.now, false); err != nil {
			t.Fatal(err)
		}
		r = e.do(t, "GET", "/api/v1/recommendations/REC-PRIVILEGED/resources", e.tokens["read"], nil, nil, nil)
		page := decode[store.Page[store.RecResourceRow]](t, r)
		if len(page.Items) != 1 || page.Items[0].Status != "exempt" || page.Items[0].Underlying != "unhealthy" || page.Items[0].ExemptionID != ex.ID {
			t.Errorf("exempt resource: %+v", page.Items)
		}
		if r := e.do(t, "DELETE", "/api/v1/exemptions/"+ex.ID, e.tokens["triage"], nil, nil, nil); r.StatusCode != 204 {
			t.Errorf("revoke: %d", r.StatusCode)
		}
		if r := e.do(t, "DELETE", "/api/v1/exemptions/"+ex.ID, e.tokens["triage"], nil, nil, nil); r.StatusCode != 404 {
			t.Errorf("revoke twice: %d, want 404", r.StatusCode)
		}
		log, _ := e.st.AuditLog(ctx, 10)
		actions := map[string]bool{}
		for _, l := range log {
			actions[l.Action] = true
		}
		if !actions["exemption.create"] || !actions["exemption.revoke"] {
			t.Errorf("audit log: %+v", log)
		}

		if r := e.do(t, "POST", "/api/v1/vex", e.tokens["triage"], map[string]any{"not": "vex"}, nil, nil); r.StatusCode != 422 {
			t.Errorf("a non-VEX document: %d, want 422", r.StatusCode)
		}
		doc := map[string]any{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "sec", "timestamp": "2026-12-01T00:00:00Z", "version": 1,
			"statements": []any{map[string]any{"vulnerability": map[string]any{"name": "CVE-2026-1"}, "products": []any{map[string]any{"@id": "pkg:oci/app"}},
				"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}}}
		if r := e.do(t, "POST", "/api/v1/vex", e.tokens["triage"], doc, nil, nil); r.StatusCode != 201 {
			t.Errorf("VEX: %d, want 201", r.StatusCode)
		}
		if r := e.do(t, "POST", "/api/v1/vex", e.tokens["triage"], doc, nil, nil); r.StatusCode != 409 {
			t.Errorf("the same VEX again: %d, want 409", r.StatusCode)
		}
		r = e.do(t, "GET", "/api/v1/vex", e.tokens["read"], nil, nil, nil)
		if v := decode[struct{ Items []store.VEXDocument }](t, r); len(v.Items) != 1 || v.Items[0].Statements != 1 {
			t.Errorf("VEX list: %+v", v)
		}
	})
}
