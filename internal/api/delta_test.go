package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestClusterDeltaReport: a cluster agent's credential stores its deltas
// (201, the object on the server, deleted by a later delta), and its
// deltas only for its own cluster: another cluster's is refused (403),
// a malformed one 422; on both stores.
func TestClusterDeltaReport(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			dsn := ""
			if b == "postgres" {
				dsn = testenv.Postgres(t)
			}
			ctx := context.Background()
			e := &env{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), tokens: map[string]string{}}
			st, err := store.Open(ctx, dsn, t.TempDir(), store.Options{Now: func() time.Time { return e.now }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			e.st = st
			e.srv = httptest.NewServer(api.New(api.Options{Store: st, Now: func() time.Time { return e.now }, Version: "dev"}))
			t.Cleanup(e.srv.Close)
			_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", e.now)
			if err != nil {
				t.Fatal(err)
			}
			resp := e.do(t, "POST", "/api/v1/agents/enroll", enrol, api.EnrolRequest{Kind: "cluster", Name: "prod", Version: "dev"}, nil, nil)
			var cred api.Credential
			json.NewDecoder(resp.Body).Decode(&cred) //nolint:errcheck
			if resp.StatusCode != 201 {
				t.Fatalf("enrol: %d", resp.StatusCode)
			}
			delta := func(cluster string, ups []policyreport.DeltaObject, dels ...string) policyreport.Delta {
				return policyreport.Delta{SchemaVersion: "1", Delta: policyreport.DeltaFormat, Cluster: "prod", ClusterID: cluster, Seq: 1, Upserts: ups, Deletes: dels}
			}
			id := model.KubeObjectID("uid-a", "shop", "Deployment", "web")
			web := policyreport.DeltaObject{Resource: model.Resource{Kind: model.KindWorkload, ID: id, Name: "web", Parent: "uid-a/shop"},
				Assessments: []model.Assessment{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessUnhealthy, Severity: model.SeverityHigh}}}
			if code := e.do(t, "POST", "/api/v1/reports", cred.Token, delta("uid-a", []policyreport.DeltaObject{web}), nil, nil).StatusCode; code != 201 {
				t.Fatalf("delta: %d, want 201", code)
			}
			if _, err := st.Resource(ctx, id); err != nil {
				t.Fatalf("the delta's object: %v", err)
			}
			other := web
			other.Resource.ID, other.Resource.Parent = model.KubeObjectID("uid-b", "shop", "Deployment", "web"), "uid-b/shop"
			if code := e.do(t, "POST", "/api/v1/reports", cred.Token, delta("uid-b", []policyreport.DeltaObject{other}), nil, nil).StatusCode; code != 403 {
				t.Errorf("another cluster's delta: %d, want 403", code)
			}
			if code := e.do(t, "POST", "/api/v1/reports?kind=k8s-delta", cred.Token, delta("uid-a", []policyreport.DeltaObject{other}), nil, nil).StatusCode; code != 422 {
				t.Errorf("an object outside the delta's cluster: %d, want 422", code)
			}
			if code := e.do(t, "POST", "/api/v1/reports", cred.Token, delta("uid-a", nil, id), nil, nil).StatusCode; code != 201 {
				t.Errorf("delete: %d", code)
			}
			if _, err := st.Resource(ctx, id); err != store.ErrNotFound {
				t.Errorf("deleted object: %v", err)
			}
		})
	}
}
