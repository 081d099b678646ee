package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// BenchmarkServeHTTP: one AdmissionReview through the handler (decode,
// evaluate, encode), with the fake evaluator, with the real engine and
// every built-in policy, and with the engine and a namespace cache holding
// Pod Security labels for the reviews' namespace (enforce baseline, warn
// and audit restricted, all at latest: one evaluation); engine-verdicts
// adds the server's image verdicts from a warm cache (BW-K8S-IMAGE-VULNS
// then runs on every review: the path of `admission serve --server`).
func BenchmarkServeHTTP(b *testing.B) {
	eng, err := policy.New(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache := NewVerdictCache(VerdictCacheOptions{Source: &fakeVerdicts{all: &model.ImageVerdict{Known: true, Verdict: model.VerdictUnhealthy,
		Counts: model.Counts{High: 2, Medium: 5, Total: 7}, Fixable: model.Counts{High: 1, Total: 1}}}})
	go cache.Run(ctx)
	withVerdicts, err := policy.New(ctx, nil, policy.WithImageVerdicts(cache.Lookup))
	if err != nil {
		b.Fatal(err)
	}
	nsc := NewNamespaceCache(eng, nil)
	for _, ns := range []string{"default", "team-a", "shop", "payments"} {
		nsc.Set(ns, map[string]string{policy.PSSLabelPrefix + "enforce": "baseline", policy.PSSLabelPrefix + "warn": "restricted", policy.PSSLabelPrefix + "audit": "restricted"})
	}
	for _, ev := range []struct {
		name string
		e    Evaluator
		ns   NamespacePolicies
	}{{"fake", &fakeEvaluator{}, nil}, {"engine", eng, nil}, {"engine-labels", eng, nsc}, {"engine-verdicts", withVerdicts, nil}} {
		for _, file := range []string{"privileged-pod.json", "compliant-deployment.json"} {
			body, err := os.ReadFile("testdata/" + file)
			if err != nil {
				b.Fatal(err)
			}
			h, err := NewHandler(HandlerOptions{Evaluator: ev.e, Metrics: NewMetrics(), Namespaces: ev.ns})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(ev.name+"/"+file, func(b *testing.B) {
				if ev.e == withVerdicts { // warm the cache: a review's first look is a miss
					var rev admissionv1.AdmissionReview
					json.Unmarshal(body, &rev) //nolint:errcheck
					for range 200 {
						if r, _ := h.Review(ctx, rev.Request); !strings.Contains(strings.Join(r.Warnings, " "), "no vulnerability verdict") {
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, PathValidate, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("HTTP %d", rec.Code)
					}
				}
			})
		}
	}
}

// TestHandlerWithEngine: the real engine denies the privileged pod with
// its PSS policy and admits the compliant deployment.
func TestHandlerWithEngine(t *testing.T) {
	eng, err := policy.New(context.Background(), nil)
	if err != nil {
		t.Fatalf("policy engine: %v", err)
	}
	h, _ := NewHandler(HandlerOptions{Evaluator: eng})
	for file, wantAllowed := range map[string]bool{"privileged-pod.json": false, "compliant-deployment.json": true} {
		var rev admissionv1.AdmissionReview
		if err := json.Unmarshal(readFile(t, file), &rev); err != nil {
			t.Fatal(err)
		}
		r, _ := h.Review(context.Background(), rev.Request)
		if r.Allowed != wantAllowed {
			t.Errorf("%s: allowed = %v, want %v (result %+v, warnings %q)", file, r.Allowed, wantAllowed, r.Result, r.Warnings)
		}
		if !wantAllowed && (r.Result == nil || !bytes.Contains([]byte(r.Result.Message), []byte("BW-PSS-PRIVILEGED"))) {
			t.Errorf("%s: message %+v lacks BW-PSS-PRIVILEGED", file, r.Result)
		}
	}
}
