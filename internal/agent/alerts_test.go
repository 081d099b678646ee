package agent_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/server/servertest"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestClusterAuditWebhook: the cluster agent's receiver of the API server's
// audit webhook turns an exec into a pod into an alert on the real server,
// on the resource the inventory names (CLUSTER-ID/NS/Pod/NAME), through the
// agent's outbox and its credential (bound to the cluster). An
// unauthenticated batch is refused and raises nothing.
func TestClusterAuditWebhook(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, url := servertest.Start(t, server.Options{DataDir: t.TempDir(), CacheDir: t.TempDir(), ShutdownTimeout: 5 * time.Second})
	_, enrol, err := api.CreateToken(ctx, srv.Store, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := agent.Connect(ctx, agent.Options{Server: url, Token: enrol, StateDir: t.TempDir(), Kind: "cluster", Name: "uid-1", Version: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng, err := runtime.New(ctx, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- agent.RunAlerts(ctx, conn, agent.AlertOptions{Engine: eng, Window: time.Second, Name: "test audit webhook",
			Sources: watch.SourceConfig{AuditWebhook: &k8saudit.WebhookOptions{Addr: addr, Tokens: []string{"s3cret"}, Insecure: true}, Cluster: "uid-1"}})
	}()
	defer func() { cancel(); <-done }()

	batch := []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[
{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods/web-1/exec?command=sh","verb":"create",
 "user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"shop","name":"web-1","subresource":"exec","apiVersion":"v1"},
 "responseStatus":{"code":101},"requestReceivedTimestamp":"2026-12-06T09:00:00.000000Z","stageTimestamp":"2026-12-06T09:00:00.100000Z"}]}`)
	post := func(token string) int {
		for deadline := time.Now().Add(10 * time.Second); ; {
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/audit", bytes.NewReader(batch))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			if time.Now().After(deadline) {
				t.Fatalf("the audit webhook never answered: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if st := post(""); st != http.StatusUnauthorized {
		t.Fatalf("a batch without the token: %d, want 401", st)
	}
	if st := post("s3cret"); st != http.StatusOK {
		t.Fatalf("the batch: %d", st)
	}
	want := "uid-1/shop/Pod/web-1"
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		p, err := srv.Store.ListAlerts(ctx, store.AlertQuery{Type: "K8S_ExecIntoPod"})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, a := range p.Items {
			got = append(got, a.Resource.ID)
		}
		if len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("exec alerts on %v, want one on %s (outbox %+v)", got, want, conn.OutboxStats())
	}
}
