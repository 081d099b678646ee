package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// keyEvaluator enforces one violation when the object has a "deny" key.
type keyEvaluator struct{}

func (keyEvaluator) Evaluate(ctx context.Context, obj map[string]any) (policy.Result, error) {
	res := policy.Result{Violations: []policy.Violation{}}
	if _, ok := obj["deny"]; ok {
		res.Violations = append(res.Violations, policy.Violation{PolicyID: "BW-TEST", Mode: policy.ModeEnforce, Message: "has deny"})
	}
	return res, nil
}

func reviewWithObject(object string) []byte {
	obj := ""
	if object != "" {
		obj = `,"object":` + object
	}
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ns","name":"p"` + obj + `}}`)
}

// serveAndReview answers body through ServeHTTP (request.object decoded
// with the review) and through Review (decoded a second time, as callers
// of the exported method do); both must agree.
func serveAndReview(t testing.TB, h *Handler, body []byte) (code int, served, reviewed *admissionv1.AdmissionResponse) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, PathValidate, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, nil, nil
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("HTTP 200 with an undecodable AdmissionReview (%v): %s", err, rec.Body)
	}
	var in admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
		t.Fatalf("ServeHTTP accepted a review the typed decoder rejects (%v): %q", err, body)
	}
	reviewed, _ = h.Review(context.Background(), in.Request)
	return rec.Code, out.Response, reviewed
}

func TestHandlerDecodesObjectOnce(t *testing.T) {
	tests := []struct {
		name, object string
		wantAllowed  bool
		wantCode     int32  // of the response's result, 0: none
		wantMsg      string // in the result's message
	}{
		{"object", `{"kind":"Pod","metadata":{}}`, true, 0, ""},
		{"violating object", `{"kind":"Pod","deny":1}`, false, 403, "BW-TEST"},
		{"numbers kept exact", `{"kind":"Pod","n":12345678901234567890}`, true, 0, ""},
		{"null object", `null`, false, 400, "has no object"},
		{"no object", ``, false, 400, "has no object"},
		{"array object", `[1,2]`, false, 400, "not an object"},
		{"string object", `"pod"`, false, 400, "not an object"},
		{"number object", `7`, false, 400, "not an object"},
	}
	h, _ := NewHandler(HandlerOptions{Evaluator: keyEvaluator{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, served, reviewed := serveAndReview(t, h, reviewWithObject(tt.object))
			if code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
			for name, r := range map[string]*admissionv1.AdmissionResponse{"ServeHTTP": served, "Review": reviewed} {
				if r.Allowed != tt.wantAllowed {
					t.Errorf("%s: allowed = %v, want %v (%+v)", name, r.Allowed, tt.wantAllowed, r.Result)
				}
				var gotCode int32
				var msg string
				if r.Result != nil {
					gotCode, msg = r.Result.Code, r.Result.Message
				}
				if gotCode != tt.wantCode || !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("%s: result code %d %q, want %d containing %q", name, gotCode, msg, tt.wantCode, tt.wantMsg)
				}
			}
		})
	}
}

// FuzzServeHTTP: any body gets an HTTP error or a well-formed
// AdmissionReview, never a panic, and the decode-once path decides as
// Review does on the same request.
func FuzzServeHTTP(f *testing.F) {
	h, _ := NewHandler(HandlerOptions{Evaluator: keyEvaluator{}})
	f.Fuzz(func(t *testing.T, body []byte) {
		code, served, reviewed := serveAndReview(t, h, body)
		if code == http.StatusOK && (served.Allowed != reviewed.Allowed || (served.Result == nil) != (reviewed.Result == nil) ||
			(served.Result != nil && served.Result.Code != reviewed.Result.Code)) {
			t.Errorf("ServeHTTP %+v, Review %+v for %q", served, reviewed, body)
		}
	})
}
