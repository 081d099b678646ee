package kubeenv_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// auditEvent is the part of an audit.k8s.io/v1 Event the test reads.
type auditEvent struct {
	Level     string                    `json:"level"`
	Stage     string                    `json:"stage"`
	Verb      string                    `json:"verb"`
	User      struct{ Username string } `json:"user"`
	ObjectRef *struct {
		Resource, Namespace, Name string
	} `json:"objectRef"`
	RequestObject json.RawMessage `json:"requestObject"`
}

// TestCluster starts one API server with an audit webhook and checks what
// the e2e tests rely on: admin and plain-user identities under RBAC, the
// audit policy's levels in the log file, and events POSTed to the webhook
// with the bearer token.
func TestCluster(t *testing.T) {
	ca := testpki.NewCA(t)
	pair := ca.Issue(t, t.TempDir(), "audit-sink", "127.0.0.1")
	sink := &auditSink{token: "sink-token"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sink, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair.TLSCertificate(t)}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })

	c := kubeenv.Start(t, kubeenv.Options{
		AuditWebhookURL:   "https://" + ln.Addr().String() + "/audit",
		AuditWebhookCA:    ca.PEM,
		AuditWebhookToken: sink.token,
	})
	ctx := context.Background()

	c.CreateNamespace(t, "e2e", nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "e2e"}, Data: map[string]string{"k": "v"}}
	if _, err := c.AdminClient.CoreV1().ConfigMaps("e2e").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin creating a configmap: %v", err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "e2e"}, StringData: map[string]string{"password": "hunter2"}}
	if _, err := c.AdminClient.CoreV1().Secrets("e2e").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin creating a secret: %v", err)
	}
	_, err = c.UserClient.CoreV1().Secrets("e2e").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("plain user listing secrets: got %v, want Forbidden", err)
	}

	// The log is written synchronously (blocking mode) before the response.
	events := readAuditLog(t, c.AuditLogPath)
	find := func(verb, resource, user string) *auditEvent {
		for i, e := range events {
			if e.Verb == verb && e.User.Username == user && e.ObjectRef != nil && e.ObjectRef.Resource == resource {
				return &events[i]
			}
		}
		return nil
	}
	tests := []struct {
		verb, resource, level, user string
		body                        bool
	}{
		{"create", "configmaps", "RequestResponse", kubeenv.AdminUser, true},
		{"create", "secrets", "Metadata", kubeenv.AdminUser, false},
		{"list", "secrets", "Metadata", kubeenv.PlainUser, false},
		{"create", "namespaces", "Metadata", kubeenv.AdminUser, false},
	}
	for _, tt := range tests {
		e := find(tt.verb, tt.resource, tt.user)
		if e == nil {
			t.Errorf("audit log: no %s %s event by %s", tt.verb, tt.resource, tt.user)
			continue
		}
		if e.Level != tt.level || (len(e.RequestObject) > 0) != tt.body {
			t.Errorf("audit %s %s by %s: level %s, request body %t; want %s, %t", tt.verb, tt.resource, tt.user, e.Level, len(e.RequestObject) > 0, tt.level, tt.body)
		}
	}
	for _, e := range events {
		if e.Stage == "RequestReceived" {
			t.Fatalf("audit log has a RequestReceived event; the policy omits that stage")
		}
	}
	raw, _ := os.ReadFile(c.AuditLogPath)
	if strings.Contains(string(raw), "hunter2") {
		t.Fatal("audit log contains the secret's value")
	}

	// Batch mode flushes at least every second.
	deadline := time.Now().Add(15 * time.Second)
	for !sink.saw("configmaps", "cm") {
		if time.Now().After(deadline) {
			t.Fatalf("audit webhook: no event for configmap cm after 15 s (%d requests, %d unauthorized)", sink.requests(), sink.unauthorized())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := sink.unauthorized(); n > 0 {
		t.Errorf("audit webhook: %d requests without the bearer token", n)
	}
}

func readAuditLog(t *testing.T, path string) []auditEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening audit log: %v", err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading audit log: %v", err)
	}
	return out
}

// auditSink records the audit events POSTed to it.
type auditSink struct {
	token  string
	mu     sync.Mutex
	n      int
	unauth int
	seen   map[string]bool // "resource/name"
}

func (s *auditSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		s.unauth++
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var list struct {
		Kind  string       `json:"kind"`
		Items []auditEvent `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Kind != "EventList" {
		http.Error(w, "want an audit.k8s.io/v1 EventList", http.StatusBadRequest)
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, e := range list.Items {
		if e.ObjectRef != nil {
			s.seen[e.ObjectRef.Resource+"/"+e.ObjectRef.Name] = true
		}
	}
}

func (s *auditSink) saw(resource, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[resource+"/"+name]
}

func (s *auditSink) requests() int     { s.mu.Lock(); defer s.mu.Unlock(); return s.n }
func (s *auditSink) unauthorized() int { s.mu.Lock(); defer s.mu.Unlock(); return s.unauth }
