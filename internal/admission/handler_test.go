package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// fakeEvaluator: a privileged container is an enforce-mode violation, an
// image tagged :latest an audit-mode one.
type fakeEvaluator struct {
	calls atomic.Int32
	last  atomic.Value // map[string]any
}

func (f *fakeEvaluator) EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error) {
	f.calls.Add(1)
	obj, err := doc.Map()
	if err != nil {
		return policy.Result{}, err
	}
	f.last.Store(obj)
	res := policy.Result{Kind: obj["kind"].(string), Violations: []policy.Violation{}}
	spec, _ := obj["spec"].(map[string]any)
	if tmpl, ok := spec["template"].(map[string]any); ok {
		spec, _ = tmpl["spec"].(map[string]any)
	}
	cs, _ := spec["containers"].([]any)
	for i, c := range cs {
		c := c.(map[string]any)
		if sc, _ := c["securityContext"].(map[string]any); sc["privileged"] == true {
			res.Violations = append(res.Violations, policy.Violation{PolicyID: "BW-K8S-PRIVILEGED", Mode: policy.ModeEnforce,
				Message: fmt.Sprintf("container %q is privileged", c["name"]), Path: fmt.Sprintf("spec.containers[%d].securityContext.privileged", i),
				Remediation: "set securityContext.privileged to false"})
		}
		if img, _ := c["image"].(string); strings.HasSuffix(img, ":latest") {
			res.Violations = append(res.Violations, policy.Violation{PolicyID: "BW-K8S-LATEST-TAG", Mode: policy.ModeAudit,
				Message: fmt.Sprintf("container %q uses the :latest tag", c["name"]), Remediation: "pin the image by digest"})
		}
	}
	return res, nil
}

// slowEvaluator ignores its context and answers after d.
type slowEvaluator struct{ d time.Duration }

func (s slowEvaluator) EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error) {
	time.Sleep(s.d)
	return policy.Result{}, nil
}

func post(t *testing.T, c *http.Client, url, contentType string, body []byte) (*http.Response, *admissionv1.AdmissionReview) {
	t.Helper()
	resp, err := c.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	var rev admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&rev); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp, &rev
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerReviews(t *testing.T) {
	tests := []struct {
		file         string
		wantAllowed  bool
		wantCode     int32
		wantMsg      []string
		wantWarnings []string
		wantAudit    string
		wantEval     bool
		wantDecision string
	}{
		{file: "privileged-pod.json", wantAllowed: false, wantCode: 403, wantEval: true, wantDecision: DecisionDeny,
			wantMsg:      []string{"Pod team-a/debug violates 1 policy", "[BW-K8S-PRIVILEGED]", `container "shell" is privileged; container "side" is privileged`, "fix: set securityContext.privileged to false"},
			wantWarnings: []string{`bulwark [BW-K8S-LATEST-TAG] container "shell" uses the :latest tag (fix: pin the image by digest)`},
			wantAudit:    `"policy":"BW-K8S-LATEST-TAG"`},
		{file: "compliant-deployment.json", wantAllowed: true, wantEval: true, wantDecision: DecisionAllow},
		{file: "delete.json", wantAllowed: true, wantDecision: DecisionSkip},
		{file: "exempt-namespace.json", wantAllowed: true, wantDecision: DecisionSkip},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := &fakeEvaluator{}
			m := NewMetrics()
			h, err := NewHandler(HandlerOptions{Evaluator: ev, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewTLSServer(h)
			defer srv.Close()
			body := readFile(t, tt.file)
			resp, rev := post(t, srv.Client(), srv.URL, "application/json", body)
			if rev == nil {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			var in admissionv1.AdmissionReview
			_ = json.Unmarshal(body, &in)
			r := rev.Response
			if rev.APIVersion != "admission.k8s.io/v1" || rev.Kind != "AdmissionReview" || r == nil || r.UID != in.Request.UID {
				t.Fatalf("response header/uid wrong: %+v", rev)
			}
			if r.Allowed != tt.wantAllowed {
				t.Errorf("allowed = %v, want %v", r.Allowed, tt.wantAllowed)
			}
			if tt.wantCode != 0 && (r.Result == nil || r.Result.Code != tt.wantCode) {
				t.Errorf("result = %+v, want code %d", r.Result, tt.wantCode)
			}
			for _, w := range tt.wantMsg {
				if r.Result == nil || !strings.Contains(r.Result.Message, w) {
					t.Errorf("message %q does not contain %q", r.Result.Message, w)
				}
			}
			if strings.Join(r.Warnings, "|") != strings.Join(tt.wantWarnings, "|") {
				t.Errorf("warnings = %q, want %q", r.Warnings, tt.wantWarnings)
			}
			if got := r.AuditAnnotations[AuditAnnotationKey]; !strings.Contains(got, tt.wantAudit) || (tt.wantAudit == "") != (got == "") {
				t.Errorf("audit annotation = %q, want it to contain %q", got, tt.wantAudit)
			}
			if (ev.calls.Load() > 0) != tt.wantEval {
				t.Errorf("evaluator called %d times, want called=%v", ev.calls.Load(), tt.wantEval)
			}
			var buf bytes.Buffer
			_, _ = m.WriteTo(&buf)
			if want := fmt.Sprintf("bulwark_admission_requests_total{decision=%q} 1", tt.wantDecision); !strings.Contains(buf.String(), want) {
				t.Errorf("metrics lack %q:\n%s", want, buf.String())
			}
		})
	}
}

func TestHandlerFillsNamespace(t *testing.T) {
	ev := &fakeEvaluator{}
	h, _ := NewHandler(HandlerOptions{Evaluator: ev})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(readFile(t, "privileged-pod.json")))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	obj := ev.last.Load().(map[string]any)
	if ns := obj["metadata"].(map[string]any)["namespace"]; ns != "team-a" {
		t.Errorf("evaluated object namespace = %v, want team-a from the request", ns)
	}
}

func TestHandlerRejects(t *testing.T) {
	big := append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","x":"`), bytes.Repeat([]byte("a"), MaxBodySize)...)
	big = append(big, `"}}`...)
	v1beta1 := bytes.Replace(readFile(t, "privileged-pod.json"), []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1)
	tests := []struct {
		name, method, contentType string
		body                      []byte
		wantCode                  int
		wantBody                  string
	}{
		{"malformed body", "POST", "application/json", readFile(t, "malformed.json"), 400, "decode AdmissionReview"},
		{"wrong apiVersion", "POST", "application/json", v1beta1, 400, `want admission.k8s.io/v1 AdmissionReview`},
		{"no request", "POST", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400, "no request"},
		{"not JSON", "POST", "application/yaml", readFile(t, "privileged-pod.json"), 415, "want application/json"},
		{"too big", "POST", "application/json", big, 413, "larger than"},
		{"GET", "GET", "application/json", nil, 405, "POSTed"},
	}
	ev := &fakeEvaluator{}
	m := NewMetrics()
	h, _ := NewHandler(HandlerOptions{Evaluator: ev, Metrics: m})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, "/validate", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("HTTP %d %q, want %d containing %q", rec.Code, rec.Body, tt.wantCode, tt.wantBody)
			}
		})
	}
	if ev.calls.Load() != 0 {
		t.Errorf("evaluator called for invalid requests")
	}
	var buf bytes.Buffer
	_, _ = m.WriteTo(&buf)
	if want := fmt.Sprintf(`bulwark_admission_requests_total{decision="invalid"} %d`, len(tests)); !strings.Contains(buf.String(), want) {
		t.Errorf("metrics lack %q:\n%s", want, buf.String())
	}
}

func TestHandlerTimeout(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			h, _ := NewHandler(HandlerOptions{Evaluator: slowEvaluator{time.Second}, Timeout: 50 * time.Millisecond, FailOpen: failOpen})
			srv := httptest.NewTLSServer(h)
			defer srv.Close()
			start := time.Now()
			_, rev := post(t, srv.Client(), srv.URL, "application/json", readFile(t, "compliant-deployment.json"))
			if el := time.Since(start); el > 500*time.Millisecond {
				t.Errorf("answered after %s, want about the 50ms timeout", el)
			}
			if rev == nil {
				t.Fatal("no review")
			}
			r := rev.Response
			if r.Allowed != failOpen {
				t.Errorf("allowed = %v, want %v", r.Allowed, failOpen)
			}
			if failOpen && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "timed out after 50ms")) {
				t.Errorf("warnings = %q, want the timeout", r.Warnings)
			}
			if !failOpen && (r.Result == nil || r.Result.Code != 500 || !strings.Contains(r.Result.Message, "timed out after 50ms")) {
				t.Errorf("result = %+v, want a 500 naming the timeout", r.Result)
			}
		})
	}
}

func TestWarningsBounded(t *testing.T) {
	var vs []policy.Violation
	for i := range 30 {
		vs = append(vs, policy.Violation{PolicyID: fmt.Sprintf("P%d", i), Message: strings.Repeat("é", 300), Mode: policy.ModeAudit})
	}
	ws := warnings(vs)
	if len(ws) != MaxWarnings {
		t.Fatalf("%d warnings, want %d", len(ws), MaxWarnings)
	}
	for _, w := range ws {
		if len(w) > MaxWarningLen || !utf8.ValidString(w) {
			t.Errorf("warning of %d bytes (valid UTF-8: %v)", len(w), utf8.ValidString(w))
		}
	}
	if !strings.Contains(ws[MaxWarnings-1], "11 more") {
		t.Errorf("last warning = %q, want the count left out", ws[MaxWarnings-1])
	}
}

func TestExemptNamespacesConfigurable(t *testing.T) {
	ev := &fakeEvaluator{}
	h, _ := NewHandler(HandlerOptions{Evaluator: ev, ExemptNamespaces: []string{"team-a"}})
	var rev admissionv1.AdmissionReview
	_ = json.Unmarshal(readFile(t, "exempt-namespace.json"), &rev)
	if r, d := h.Review(context.Background(), rev.Request); r.Allowed || d != DecisionDeny {
		t.Errorf("kube-system no longer exempt: allowed=%v decision=%s", r.Allowed, d)
	}
	_ = json.Unmarshal(readFile(t, "privileged-pod.json"), &rev)
	if r, d := h.Review(context.Background(), rev.Request); !r.Allowed || d != DecisionSkip {
		t.Errorf("team-a exempt: allowed=%v decision=%s", r.Allowed, d)
	}
}
