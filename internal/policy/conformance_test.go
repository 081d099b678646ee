package policy_test

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// psaFixtures is the reference implementation's own test data: for every
// version and level, the pods its PodSecurity admission must admit (pass)
// and deny (fail). Read from ../shared, never copied into the repository.
const psaFixtures = "conformance/pod-security-admission-testdata.tar.gz"

// psaFixture is one pod of the archive.
type psaFixture struct {
	level   policy.PSSLevel
	version policy.PSSVersion
	pass    bool
	name    string // baseline/v1.36/pass/base.yaml
	pod     map[string]any
}

// loadPSAFixtures reads test/testdata/<level>/<version>/<pass|fail>/*.yaml.
func loadPSAFixtures(t *testing.T) []psaFixture {
	t.Helper()
	var out []psaFixture
	testenv.TarGzFiles(t, psaFixtures, func(name string, data []byte) {
		rel, ok := strings.CutPrefix(path.Clean(name), "test/testdata/")
		parts := strings.Split(rel, "/")
		if !ok || len(parts) != 4 || path.Ext(rel) != ".yaml" {
			return // the README
		}
		level, err := policy.ParsePSSLevel(parts[0])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, err := policy.ParsePSSVersion(parts[1])
		if err != nil || v == policy.PSSLatest {
			t.Fatalf("%s: version %q: %v", name, parts[1], err)
		}
		if parts[2] != "pass" && parts[2] != "fail" {
			t.Fatalf("%s: neither pass nor fail", name)
		}
		var pod map[string]any
		if err := yaml.Unmarshal(data, &pod); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, psaFixture{level: level, version: v, pass: parts[2] == "pass", name: rel, pod: pod})
	})
	if len(out) == 0 {
		t.Fatalf("%s holds no fixtures", psaFixtures)
	}
	return out
}

// TestPSSConformance runs every fixture of every version and level through
// the engine as the admission webhook does for a namespace labelled
// pod-security.kubernetes.io/enforce=<level>, enforce-version=<version>,
// and fails on any verdict that differs from the reference's.
func TestPSSConformance(t *testing.T) {
	fixtures := loadPSAFixtures(t)
	ctx := context.Background()
	eng, err := policy.New(ctx, &policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	newest := policy.PSSVersion(0)
	type key struct {
		level   policy.PSSLevel
		version policy.PSSVersion
	}
	byKey := map[key][]psaFixture{}
	for _, f := range fixtures {
		newest = max(newest, f.version)
		k := key{f.level, f.version}
		byKey[k] = append(byKey[k], f)
	}
	// latest must mean the newest version the reference describes.
	if got := policy.PSSLatestKnown(); got != newest {
		t.Errorf("the versions table's latest is %s; the newest fixtures are %s", got, newest)
	}
	keys := make([]key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].version != keys[j].version {
			return keys[i].version < keys[j].version
		}
		return keys[i].level < keys[j].level
	})
	var total, agree atomic.Int32
	// The group returns when its parallel subtests are done (the engine
	// is safe for concurrent use).
	t.Run("versions", func(t *testing.T) {
		for _, k := range keys {
			t.Run(fmt.Sprintf("%s/%s", k.level, k.version), func(t *testing.T) {
				t.Parallel()
				conform(t, eng, k.level, k.version, byKey[k], &total, &agree)
			})
		}
	})
	t.Logf("%d of %d fixtures agree with the reference (%d versions × 2 levels)", agree.Load(), total.Load(), int(newest)+1)
}

// conform evaluates the fixtures of one level and version.
func conform(t *testing.T, eng *policy.Engine, level policy.PSSLevel, version policy.PSSVersion, fixtures []psaFixture, total, agree *atomic.Int32) {
	ctx := context.Background()
	ns := policy.PSSNamespace{Enforce: policy.PSSLevelVersion{Level: level, Version: version}}
	for _, f := range fixtures {
		total.Add(1)
		doc, err := policy.NewDocument(f.pod)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		res, err := eng.EvaluateNamespaced(ctx, doc, ns)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if denied := len(res.Enforce) > 0; denied == f.pass {
			var msgs []string
			for _, v := range res.Enforce {
				msgs = append(msgs, v.PolicyID+": "+v.Message)
			}
			t.Errorf("%s: denied=%v, the reference %s it; violations %q", f.name, denied, map[bool]string{true: "admits", false: "denies"}[f.pass], msgs)
			continue
		}
		agree.Add(1)
	}
}
