package runtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Patterns the helper/comprehension pairs are evaluated with.
const (
	pfImages = `["registry.k8s.io/*", "xmrig*"]`
	pfMarks  = `["stratum+tcp", "3333"]`
	pfPaths  = `["/etc", "/"]`
)

// podFactPairs: each workload helper and the comprehension it replaced;
// $O stands for the object read.
var podFactPairs = []struct{ name, helper, comprehension string }{
	{"privileged", `any_privileged($O)`, `containers($O).exists(c, c.securityContext.privileged == true)`},
	{"all_glob", `images_all_glob($O, ` + pfImages + `)`,
		`containers($O).all(c, has(c.image) && any_glob(c.image, ` + pfImages + `))`},
	{"any_glob", `images_any_glob($O, ` + pfImages + `)`,
		`containers($O).exists(c, has(c.image) && any_glob(c.image, ` + pfImages + `))`},
	{"any_not_glob", `images_any_not_glob($O, ` + pfImages + `)`,
		`containers($O).exists(c, has(c.image) && !any_glob(c.image, ` + pfImages + `))`},
	{"args", `contains_any(container_args($O), ` + pfMarks + `)`,
		`containers($O).exists(c, [c.command, c.args].exists(l, l.exists(a, contains_any(string(a), ` + pfMarks + `))))`},
	{"host_paths", `any_glob(host_paths($O), ` + pfPaths + `)`,
		`pod_specs($O).exists(s, s.volumes.exists(v, has(v.hostPath.path) && (any_glob(v.hostPath.path, ` + pfPaths + `) ||
		  (v.hostPath.path.endsWith("/") && size(v.hostPath.path) > 1 &&
		   any_glob(v.hostPath.path.substring(0, size(v.hostPath.path) - 1), ` + pfPaths + `)))))`},
	{"env", `"trust" in env_values($O, "POSTGRES_HOST_AUTH_METHOD") || contains_any(env_values($O, "POSTGRES_INITDB_ARGS"), ["trust"])`,
		`pod_specs($O).exists(s, s.containers.exists(c, c.env.exists(e,
		  (e.name == "POSTGRES_HOST_AUTH_METHOD" && e.value == "trust") ||
		  (e.name == "POSTGRES_INITDB_ARGS" && has(e.value) && e.value.contains("trust")))))`},
}

// TestPodFactHelpers checks each workload helper against the CEL
// comprehension it replaced in the built-in rules, on objects read in place
// (evt.k8s.object) and through CEL (the same object in evt.falco.fields),
// including awkward shapes: missing images, numeric args, trailing-slash
// pfPaths, escaped env names, fields of the wrong type.
func TestPodFactHelpers(t *testing.T) {
	objects := map[string]string{
		"privileged system pod": `{"spec":{"containers":[{"name":"p","image":"registry.k8s.io/kube-proxy:v1","securityContext":{"privileged":true},
			"args":["--x", 3333]}],"volumes":[{"name":"v","hostPath":{"path":"/etc/"}}]}}`,
		"deployment": `{"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"a","image":"web:1","command":["sh","-c","run stratum+tcp://pool"]},
			{"name":"noimage","env":[{"name":"POSTGRES_HOST_AUTH_METHOD","value":"trust"}]}],
			"volumes":[{"name":"d","hostPath":{"path":"/data"}},{"name":"e","emptyDir":{}}]}}}}`,
		"cronjob": `{"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"image":"xmrig/xmrig"}],
			"containers":[{"image":"registry.k8s.io/pause","env":[{"name":"POSTGRES_INITDB_ARGS","value":"--auth-host=trust"}]}],
			"volumes":[{"hostPath":{"path":"/"}}]}}}}}}`,
		"ephemeral patch":  `{"spec":{"ephemeralContainers":[{"name":"dbg","image":"busybox","securityContext":{"privileged":true}}]}}`,
		"escaped env name": `{"spec":{"containers":[{"image":"postgres","env":[{"name":"\u0050OSTGRES_HOST_AUTH_METHOD","value":"trust"}]}]}}`,
		"env elsewhere": `{"metadata":{"annotations":{"POSTGRES_HOST_AUTH_METHOD":"trust"}},"spec":{"containers":[{"image":"postgres",
			"env":[{"name":"POSTGRES_HOST_AUTH_METHOD","value":"md5"},{"name":"POSTGRES_INITDB_ARGS"}]}]}}`,
		"init env ignored":     `{"spec":{"initContainers":[{"image":"pg","env":[{"name":"POSTGRES_HOST_AUTH_METHOD","value":"trust"}]}]}}`,
		"privileged as string": `{"spec":{"containers":[{"image":"a","securityContext":{"privileged":"true"}}],"volumes":[{"hostPath":{}}]}}`,
		"no containers":        `{"spec":{"containers":[]}}`,
		"spec not an object":   `{"spec":5}`,
		"empty":                `{}`,
	}
	hits := map[string]int{}
	for _, p := range podFactPairs {
		for oname, obj := range objects {
			var native map[string]any
			if err := json.Unmarshal([]byte(obj), &native); err != nil {
				t.Fatalf("%s: %v", oname, err)
			}
			for _, via := range []string{"evt.k8s.object", "evt.falco.fields.o"} {
				t.Run(p.name+"/"+oname+"/"+via, func(t *testing.T) {
					fired := func(expr string) bool {
						rule := "id: T_Expr\ntitle: x\nseverity: low\ncondition: " +
							strconvQuote(strings.ReplaceAll(expr, "$O", via)) + "\n"
						e := engineFor(t, Options{}, rule)
						ev := auditEvent("create", "pods", "ns", "p", obj)
						ev.Falco = &event.Falco{Rule: "r", Fields: map[string]any{"o": native}}
						return len(collect(e, ev)) == 1
					}
					got, want := fired(p.helper), fired(p.comprehension)
					if got != want {
						t.Errorf("helper %v, comprehension %v", got, want)
					}
					if got {
						hits[p.name]++
					}
				})
			}
		}
		// Every helper must hold for some object (through both readers),
		// or the comparison proves little.
		if hits[p.name] < 2 {
			t.Errorf("%s held for %d object readings, want at least 2", p.name, hits[p.name])
		}
	}
}

// TestPodFactHelpersFire pins the answers the equivalence test compares,
// so that both sides being wrong the same way is noticed.
func TestPodFactHelpersFire(t *testing.T) {
	cases := []struct {
		expr, obj string
		want      bool
	}{
		{`any_privileged(evt.k8s.object)`, `{"spec":{"template":{"spec":{"containers":[{"securityContext":{"privileged":true}}]}}}}`, true},
		{`any_privileged(evt.k8s.object)`, `{"spec":{"containers":[{"securityContext":{"privileged":false}}]}}`, false},
		{`host_paths(evt.k8s.object) == ["/var/run/", "/var/run", "/"]`, `{"spec":{"volumes":[{"hostPath":{"path":"/var/run/"}},{"hostPath":{"path":"/"}}]}}`, true},
		{`container_args(evt.k8s.object) == ["a", "7", "true"]`, `{"spec":{"containers":[{"command":["a"],"args":[7, true, null, {}]}]}}`, true},
		{`images_all_glob(evt.k8s.object, ["x*"])`, `{"spec":{"containers":[{"image":"x1"},{"name":"noimage"}]}}`, false},
		{`images_all_glob(evt.k8s.object, ["x*"]) && !images_any_glob(evt.k8s.object, ["x*"])`, `{"spec":{}}`, true},
		{`env_values(evt.k8s.object, "A") == ["1", "2"]`, `{"spec":{"containers":[{"env":[{"name":"A","value":"1"},{"name":"B","value":"x"}]},{"env":[{"name":"A","value":"2"}]}]}}`, true},
		{`env_values(evt.k8s.object, "A\u005c") == ["1"]`, `{"spec":{"containers":[{"env":[{"name":"A\\","value":"1"}]}]}}`, true},
		{`size(env_values(evt.k8s.object, "A")) == 0`, `{"kind":"Service","spec":{"ports":[]}}`, true},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := engineFor(t, Options{}, "id: T_Expr\ntitle: x\nseverity: low\ncondition: "+strconvQuote(tc.expr)+"\n")
			if got := len(collect(e, auditEvent("create", "pods", "ns", "p", tc.obj))) == 1; got != tc.want {
				t.Errorf("fired=%v, want %v", got, tc.want)
			}
			if st := e.Stats(); st.EvalErrors != 0 {
				t.Errorf("eval errors: %d", st.EvalErrors)
			}
		})
	}
}

// FuzzPodFacts: for any request object whose pod fields have the types the
// API server enforces (it rejects others, and the rules read successful
// requests only), each workload helper gives the answer of the
// comprehension it replaced. Of ill-typed fields the helpers read only
// strings (and true), where the comprehensions dispatch on the JSON type
// (an image that is a list goes to any_glob's list overload).
func FuzzPodFacts(f *testing.F) {
	var rules []string
	for i, p := range podFactPairs {
		for j, expr := range []string{p.helper, p.comprehension} {
			rules = append(rules, fmt.Sprintf("id: T_%d_%d\ntitle: x\nseverity: low\ncondition: %s\n", i, j,
				strconvQuote(strings.ReplaceAll(expr, "$O", "evt.k8s.object"))))
		}
	}
	parsed, err := ParseRules("pairs.yaml", []byte(strings.Join(rules, "---\n")))
	if err != nil {
		f.Fatal(err)
	}
	e, err := NewFromSet(&RuleSet{Rules: parsed}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		var typed pfObject
		if json.Unmarshal(obj, &typed) != nil {
			return
		}
		fired := map[string]bool{}
		e.Process(auditEvent("create", "pods", "ns", "p", string(obj)), func(a model.Alert) { fired[a.Type] = true })
		for i, p := range podFactPairs {
			if h, c := fired[fmt.Sprintf("T_%d_0", i)], fired[fmt.Sprintf("T_%d_1", i)]; h != c {
				t.Errorf("%s: helper %v, comprehension %v", p.name, h, c)
			}
		}
	})
}

// pfObject: the fields the helpers read, with the API server's types.
type pfObject struct {
	Spec *struct {
		pfSpec
		Template    *struct{ Spec *pfSpec }
		JobTemplate *struct {
			Spec *struct{ Template *struct{ Spec *pfSpec } }
		}
	}
}

type pfSpec struct {
	Containers, InitContainers, EphemeralContainers []pfContainer
	Volumes                                         []struct {
		HostPath *struct{ Path *string }
	}
}

type pfContainer struct {
	Image           *string
	Command, Args   []string
	SecurityContext *struct{ Privileged *bool }
	Env             []struct {
		Name  string
		Value *string
	}
}
