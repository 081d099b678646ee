package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestAgentEnrolment: an enrolment token is exchanged for an agent's own
// credential bound to its host; the enrolment token can do nothing else;
// an agent two minor versions behind is refused, one behind warned; the
// credential rotates (the old one lasts the grace, then fails); the
// agents list shows the last contact and marks a silent agent.
func TestAgentEnrolment(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			dsn := ""
			if b == "postgres" {
				dsn = testenv.Postgres(t)
			}
			agentEnrolment(t, dsn)
		})
	}
}

func agentEnrolment(t *testing.T, dsn string) {
	ctx := context.Background()
	e := &env{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), tokens: map[string]string{}}
	st, err := store.Open(ctx, dsn, t.TempDir(), store.Options{Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	e.srv = httptest.NewServer(api.New(api.Options{Store: st, Now: func() time.Time { return e.now }, Version: "v1.4.2", AgentCredentialTTL: 48 * time.Hour}))
	t.Cleanup(e.srv.Close)
	mk := func(scopes, expires, binding string) (string, error) {
		_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "t", Scopes: scopes, Expires: expires, Resource: binding}, "test", e.now)
		return tok, err
	}
	for _, bad := range []struct{ scopes, expires string }{{"enroll", ""}, {"enroll", "30d"}, {"enroll,ingest", "1h"}} {
		if _, err := mk(bad.scopes, bad.expires, ""); err == nil {
			t.Errorf("enrolment token %s expiring %q accepted", bad.scopes, bad.expires)
		}
	}
	enrol, err := mk("enroll", "1h", "docker-host/web-1")
	if err != nil {
		t.Fatal(err)
	}
	read, _ := mk("read", "", "")
	// The enrolment token cannot report.
	if code := e.do(t, "POST", "/api/v1/reports", enrol, map[string]any{}, nil, nil).StatusCode; code != 403 {
		t.Errorf("report with an enrolment token: %d, want 403", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/enroll", enrol, api.EnrolRequest{Kind: "docker", Name: "web-1", Version: "v1.2.0"}, nil, nil).StatusCode; code != 426 {
		t.Errorf("enrol of a 1.2 agent on a 1.4 server: %d, want 426", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/enroll", enrol, api.EnrolRequest{Kind: "toaster", Name: "web-1"}, nil, nil).StatusCode; code != 400 {
		t.Errorf("enrol of an unknown kind: %d, want 400", code)
	}
	resp := e.do(t, "POST", "/api/v1/agents/enroll", enrol, api.EnrolRequest{Kind: "docker", Name: "web-1", Version: "v1.3.9", IntervalSeconds: 60}, nil, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("enrol: %d", resp.StatusCode)
	}
	var cred api.Credential
	json.NewDecoder(resp.Body).Decode(&cred) //nolint:errcheck
	if cred.Token == "" || !strings.Contains(cred.Warning, "one minor version behind") || !cred.ExpiresAt.Equal(e.now.Add(48*time.Hour)) {
		t.Fatalf("credential %+v", cred)
	}
	// Bound to its host: a report for another host is refused.
	other := map[string]any{"schema_version": "1", "host": map[string]any{"kind": "docker-host", "id": "ENGINE-B", "name": "web-2"}}
	if code := e.do(t, "POST", "/api/v1/reports?kind=docker-bench", cred.Token, other, nil, nil).StatusCode; code != 403 && code != 422 {
		t.Errorf("report for another host: %d, want refused", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/heartbeat", read, api.Heartbeat{Version: "v1.4.0"}, nil, nil).StatusCode; code != 403 {
		t.Errorf("heartbeat with a read token: %d, want 403", code)
	}
	resp = e.do(t, "POST", "/api/v1/agents/heartbeat", cred.Token, api.Heartbeat{Version: "v1.4.0", IntervalSeconds: 60, Health: json.RawMessage(`{"buffered":0}`)}, nil, nil)
	var hb api.HeartbeatReply
	json.NewDecoder(resp.Body).Decode(&hb) //nolint:errcheck
	if resp.StatusCode != 200 || hb.AgentID != cred.AgentID || hb.Warning != "" || hb.CredentialExpiresAt.IsZero() {
		t.Errorf("heartbeat: %d %+v", resp.StatusCode, hb)
	}
	// What the agents run with (Route.Agents): the engines' configuration
	// and the image verdicts, for the agent's credential; not the rest of
	// the read scope, and not for a hand-made ingest token.
	ingest, _ := mk("ingest", "", "")
	for _, c := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/config/policies", cred.Token, nil, 200},
		{"GET", "/api/v1/config/runtime-exceptions", cred.Token, nil, 200},
		{"POST", "/api/v1/images/verdicts", cred.Token, map[string]any{"images": []string{"nginx:1.27"}}, 200},
		{"GET", "/api/v1/images/verdict?image=nginx", cred.Token, nil, 200},
		{"PUT", "/api/v1/config/policies", cred.Token, map[string]any{"config": ""}, 403},
		{"GET", "/api/v1/resources", cred.Token, nil, 403},
		{"GET", "/api/v1/config/policies", ingest, nil, 403},
		{"POST", "/api/v1/images/verdicts", ingest, map[string]any{"images": []string{"nginx:1.27"}}, 403},
	} {
		if code := e.do(t, c.method, c.path, c.token, c.body, nil, nil).StatusCode; code != c.want {
			t.Errorf("%s %s as %s: %d, want %d", c.method, c.path, map[bool]string{true: "the agent", false: "an ingest token"}[c.token == cred.Token], code, c.want)
		}
	}
	// Rotation: a new credential; the old one works for the grace only,
	// and cannot rotate again.
	e.now = e.now.Add(40 * time.Hour)
	resp = e.do(t, "POST", "/api/v1/agents/rotate", cred.Token, nil, nil, nil)
	var next api.Credential
	json.NewDecoder(resp.Body).Decode(&next) //nolint:errcheck
	if resp.StatusCode != 201 || next.Token == "" || next.Token == cred.Token || next.AgentID != cred.AgentID {
		t.Fatalf("rotate: %d %+v", resp.StatusCode, next)
	}
	if code := e.do(t, "POST", "/api/v1/agents/rotate", cred.Token, nil, nil, nil).StatusCode; code != 409 {
		t.Errorf("second rotation with the old credential: %d, want 409", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/heartbeat", cred.Token, api.Heartbeat{Version: "v1.4.0"}, nil, nil).StatusCode; code != 200 {
		t.Errorf("old credential within the grace: %d, want 200", code)
	}
	e.now = e.now.Add(11 * time.Minute)
	if code := e.do(t, "POST", "/api/v1/agents/heartbeat", cred.Token, api.Heartbeat{Version: "v1.4.0"}, nil, nil).StatusCode; code != 401 {
		t.Errorf("old credential after the grace: %d, want 401", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/heartbeat", next.Token, api.Heartbeat{Version: "v1.2.0"}, nil, nil).StatusCode; code != 426 {
		t.Errorf("heartbeat of a downgraded agent: %d, want 426", code)
	}
	if code := e.do(t, "POST", "/api/v1/agents/heartbeat", next.Token, api.Heartbeat{Version: "v1.4.2", IntervalSeconds: 60}, nil, nil).StatusCode; code != 200 {
		t.Errorf("heartbeat with the new credential: %d", code)
	}
	list := func() []map[string]any {
		var out struct{ Items []map[string]any }
		json.NewDecoder(e.do(t, "GET", "/api/v1/agents", read, nil, nil, nil).Body).Decode(&out) //nolint:errcheck
		return out.Items
	}
	if as := list(); len(as) != 1 || as[0]["version"] != "v1.4.2" || as[0]["silent"] != false || as[0]["binding"] != "docker-host/web-1" {
		t.Errorf("agents: %v", as)
	}
	e.now = e.now.Add(4 * time.Minute)
	if as := list(); len(as) != 1 || as[0]["silent"] != true {
		t.Errorf("agents after four silent minutes: %v", as)
	}
}
