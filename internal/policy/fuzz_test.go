package policy

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// FuzzEvaluate feeds arbitrary JSON objects to the engine: it may return
// errors but must never panic, and every violation names its policy.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(realisticDeployment))
	f.Add([]byte(`{"kind": "Pod", "spec": {"containers": [{"name": 1, "image": ["x"]}, null, "c"]}}`))
	f.Add([]byte(`{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": []}}}}`))
	f.Add([]byte(`{"kind": "Ingress", "metadata": "x", "spec": {"tls": [{"hosts": [1]}], "rules": [{"host": 2}]}}`))
	f.Add([]byte(`{"kind": "Service", "spec": {"type": 7}}`))
	e, err := New(context.Background(), nil, WithImageVerdicts(func(img string) (model.ImageVerdict, bool) { return critical(len(img) % 3), len(img)%2 == 0 }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj Object
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		res, err := e.Evaluate(context.Background(), obj)
		if err != nil {
			return
		}
		for _, v := range res.Violations {
			if v.PolicyID == "" || v.Message == "" {
				t.Fatalf("violation without id or message: %+v", v)
			}
		}
	})
}

// FuzzParseConfig: a policy config (a file, or the server's copy an admin
// PUTs) either parses into a config or fails with a message; never a
// panic, never both nil.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("sets: [defender]\npolicies:\n  BW-K8S-IMAGE-TAG: {mode: enforce}\n"))
	f.Add([]byte("policies:\n  BW-K8S-IMAGE-VULNS: {params: {severity: medium, fixable_only: true}}\n"))
	f.Add([]byte("policies: {X: {mode: block}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err == nil && c == nil {
			t.Fatal("no config and no error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
