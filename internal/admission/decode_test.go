package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/jsonast"
	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// keyEvaluator enforces one violation when the object has a "deny" key.
type keyEvaluator struct{}

func (keyEvaluator) EvaluateDocument(ctx context.Context, doc *policy.Document) (policy.Result, error) {
	res := policy.Result{Violations: []policy.Violation{}}
	obj, err := doc.Map()
	if err != nil {
		return res, err
	}
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
		var in admissionv1.AdmissionReview
		if code != http.StatusOK && json.Unmarshal(body, &in) == nil && in.APIVersion == "admission.k8s.io/v1" &&
			in.Kind == "AdmissionReview" && in.Request != nil && in.Request.UID != "" && len(body) < 10000 {
			t.Fatalf("ServeHTTP answered HTTP %d to a review the typed decoder accepts: %q", code, body)
		}
		if code == http.StatusOK && (served.Allowed != reviewed.Allowed || (served.Result == nil) != (reviewed.Result == nil) ||
			(served.Result != nil && served.Result.Code != reviewed.Result.Code)) {
			t.Errorf("ServeHTTP %+v, Review %+v for %q", served, reviewed, body)
		}
	})
}

// TestSplitReviewMatchesTypedDecoder: splitReview reads the same request
// and object as encoding/json into admissionv1.AdmissionReview does.
func TestSplitReviewMatchesTypedDecoder(t *testing.T) {
	const env = `"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"`
	for _, body := range []string{
		`{` + env + `,"request":{"uid":"u","operation":"CREATE","namespace":"ns","object":{"kind":"Pod"}}}`,
		`{` + env + `,"Request":{"UID":"u","OBJECT":{"kind":"Pod"}}}`,
		`{` + env + `,"requeſt":{"uid":"u","object":{"a":1}}}`,                       // encoding/json folds ſ to s
		`{` + env + `,"request":{"uid":"u","object":{"a":1},"object":{"b":2}}}`,      // the last wins
		`{` + env + `,"request":{"uid":"u","object":{"a":1},"oldObject":{"b":[]}}}`,  // oldObject not kept
		`{` + env + `,"request":{"uid":"u","object":null}}`,                          // no object
		`{` + env + `,"request":{"uid":"u"},"request":{"uid":"v","object":{"c":3}}}`, // the last request wins
		`{` + env + `,"request":null}`,                                               // no request
		`{` + env + `,"request":{"uid":5}}`,                                          // rejected: uid is a string
		`{` + env + `,"request":[]}`,                                                 // rejected
		`{` + env + `,"response":7,"request":{"uid":"u"}}`,                           // rejected: response is an object
		`{` + env + `,"request":{"uid":"u","object":{"a":01}}}`,                      // rejected: invalid JSON
		`{` + env + `,"request":{"uid":"u","userInfo":{"username":"a","groups":["g"]},"dryRun":true,"object":{}}}`,
	} {
		t.Run(body, func(t *testing.T) {
			var typed admissionv1.AdmissionReview
			terr := json.Unmarshal([]byte(body), &typed)
			got, err := splitReview([]byte(body))
			if err == nil && got.object != nil {
				err = jsonast.Valid(got.object) // ServeHTTP decodes it next, refusing invalid JSON
			}
			if (err == nil) != (terr == nil) {
				t.Fatalf("splitReview error %v, encoding/json error %v", err, terr)
			}
			if err != nil {
				return
			}
			if got.TypeMeta != typed.TypeMeta || (got.Request == nil) != (typed.Request == nil) {
				t.Fatalf("splitReview = %+v, encoding/json %+v", got, typed)
			}
			if got.Request == nil {
				return
			}
			want := *typed.Request
			want.Object, want.OldObject = got.Request.Object, got.Request.OldObject
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(got.Request)
			if string(wb) != string(gb) {
				t.Errorf("request = %s, want %s", gb, wb)
			}
			wantObj := typed.Request.Object.Raw
			if string(got.object) != string(wantObj) {
				t.Errorf("object = %q, want %q", got.object, wantObj)
			}
		})
	}
}
