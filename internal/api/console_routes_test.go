package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestConsoleRoutes: the vulnerability search, alert counts and log-in
// methods over HTTP on both stores.
func TestConsoleRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := model.Finding{ID: "CVE-2026-1234", Aliases: []string{"GHSA-1111-2222-3333"}, Severity: model.SeverityCritical, Status: model.StatusFixed, KnownExploited: true,
			Package: model.Package{Name: "openssl", Version: "1"}, InstalledVersion: "1", FixedVersion: "2"}
		if _, err := e.st.Ingest(ctx, &store.Batch{Kind: "image", Subject: "sha256:aa", ContentHash: "h", At: e.now, Matched: true, Findings: []model.Finding{f},
			Resources: []model.Resource{{Kind: model.KindImage, ID: "sha256:aa", Name: "app:1"}}}); err != nil {
			t.Fatal(err)
		}
		al := model.Alert{ID: "a1", Type: "T", Title: "t", Severity: model.SeverityHigh, Count: 1, Status: model.AlertActive,
			Resource: model.Resource{Kind: model.KindWorkload, ID: "w"}, FirstSeen: e.now.Add(-3 * time.Hour), LastSeen: e.now.Add(-3 * time.Hour)}
		if _, err := e.st.Ingest(ctx, &store.Batch{Kind: "alerts", At: e.now, Alerts: []model.Alert{al}}); err != nil {
			t.Fatal(err)
		}
		get := func(path string, want int, v any) {
			t.Helper()
			resp := e.do(t, "GET", path, e.tokens["read"], nil, nil, nil)
			if resp.StatusCode != want {
				t.Fatalf("%s: %d, want %d", path, resp.StatusCode, want)
			}
			if v != nil {
				if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
					t.Fatal(err)
				}
			}
		}
		var vl store.VulnList
		get("/api/v1/vulnerabilities?q=GHSA-1111-2222-3333&kev=true&severity=high", 200, &vl)
		if vl.Match != "id" || len(vl.Items) != 1 || vl.Items[0].ID != "CVE-2026-1234" || !vl.Items[0].KnownExploited || vl.Items[0].Images != 1 {
			t.Errorf("search by alias: %+v", vl)
		}
		get("/api/v1/vulnerabilities?severity=dire", 400, nil)
		get("/api/v1/vulnerabilities?q="+strings.Repeat("x", 201), 400, nil)
		var st api.AlertStats
		get("/api/v1/alerts/stats?days=7", 200, &st)
		// The clock is 2026-12-01 00:00: the alert was last seen the day before.
		if st.From != "2026-11-25" || st.Days != 7 || len(st.Items) != 1 || st.Items[0].Day != "2026-11-30" || st.BySeverity["high"] != 1 || st.ByStatus["active"] != 1 {
			t.Errorf("alert stats: %+v", st)
		}
		get("/api/v1/alerts/stats?days=0", 400, nil)
		var m api.LoginMethods
		resp := e.do(t, "GET", "/api/v1/login/methods", "", nil, nil, nil)
		json.NewDecoder(resp.Body).Decode(&m) //nolint:errcheck
		if resp.StatusCode != 200 || !m.Password || m.OIDC != nil {
			t.Errorf("login methods without OIDC: %d %+v", resp.StatusCode, m)
		}
	})
}

// TestLoginMethodsOIDC: a server with single sign-on names its provider
// and never its secret.
func TestLoginMethodsOIDC(t *testing.T) {
	st, err := store.Open(context.Background(), "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct{ name, want string }{{"", "idp.example:8443"}, {"Corp SSO", "Corp SSO"}} {
		a := api.New(api.Options{Store: st, OIDC: &api.OIDCOptions{Issuer: "https://idp.example:8443/realms/x", ClientID: "c", ClientSecret: "s3cr3t-value", Name: tc.name}})
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/login/methods", nil))
		var m api.LoginMethods
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.OIDC == nil || m.OIDC.Name != tc.want || m.OIDC.Login != "/api/v1/oidc/login" {
			t.Errorf("%q: %s", tc.name, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "s3cr3t") {
			t.Error("the client secret is in the answer")
		}
	}
}
