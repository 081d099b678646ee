package runtime

import (
	"bytes"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/valyala/fastjson"
)

// The workload rules (privileged, host paths, images, miner arguments, env)
// all ask questions about every container of the same pod or workload
// object. As CEL comprehensions over the lazily read object they cost tens
// of microseconds per create; here they are answered by one Go walk per
// event, kept until the event is done (provider.reset).

// podFacts is what the workload helpers read, gathered once per object.
type podFacts struct {
	// images holds each container's image (init, regular, ephemeral), and
	// imageOK whether the container names one as a string.
	images     []string
	imageOK    []bool
	privileged bool
	// hostPaths: every volume's hostPath.path, plus, for one with a
	// trailing slash, the same path without it (both spellings match).
	hostPaths []ref.Val
	// args: every container's command and args elements, as string(a).
	args []ref.Val
}

// factsMemo is a one-entry cache of podFacts, dropped per event.
type factsMemo struct {
	in    ref.Val
	facts *podFacts
}

// podSpecList is pod_specs(obj), memoised for the event.
func (p *provider) podSpecList(obj ref.Val) ref.Val {
	if !isJSONObject(obj) { // nothing to walk (and maybe not comparable)
		return types.NewRefValList(p, nil)
	}
	m := &p.podSpecs
	if m.in != obj || m.out == nil {
		m.in, m.out = obj, types.NewRefValList(p, podSpecVals(obj))
	}
	return m.out
}

// containerList is containers(obj), memoised for the event.
func (p *provider) containerList(obj ref.Val) ref.Val {
	if !isJSONObject(obj) {
		return types.NewRefValList(p, nil)
	}
	m := &p.containers
	if m.in != obj || m.out == nil {
		m.in, m.out = obj, types.NewRefValList(p, containerVals(obj))
	}
	return m.out
}

// podFactsOf returns the facts of obj (empty ones for a non-object).
func (p *provider) podFactsOf(obj ref.Val) *podFacts {
	if !isJSONObject(obj) {
		return &podFacts{}
	}
	m := &p.facts
	if m.in == obj && m.facts != nil {
		return m.facts
	}
	f := &podFacts{}
	for _, spec := range nodePodSpecs(p.rootNode(obj)) {
		for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
			spec.get(list).each(func(c node) {
				img, ok := c.get("image").str()
				f.images = append(f.images, img)
				f.imageOK = append(f.imageOK, ok)
				if c.get("securityContext").get("privileged").isTrue() {
					f.privileged = true
				}
				for _, k := range []string{"command", "args"} {
					c.get(k).each(func(a node) {
						if s, ok := a.asString(); ok && s != "" {
							f.args = append(f.args, types.String(s))
						}
					})
				}
			})
		}
	}
	for _, spec := range nodePodSpecs(p.rootNode(obj)) {
		spec.get("volumes").each(func(v node) {
			hp, ok := v.get("hostPath").get("path").str()
			if !ok {
				return
			}
			f.hostPaths = append(f.hostPaths, types.String(hp))
			if len(hp) > 1 && strings.HasSuffix(hp, "/") {
				f.hostPaths = append(f.hostPaths, types.String(hp[:len(hp)-1]))
			}
		})
	}
	m.in, m.facts = obj, f
	return f
}

// rootNode reads obj in place when it is the event's parsed object (no CEL
// values made), else through CEL.
func (p *provider) rootNode(obj ref.Val) node {
	if obj == p.objects.val && p.objects.root != nil {
		return fjNode{p.objects.root}
	}
	return celNode{obj}
}

// nodePodSpecs is podSpecVals over nodes: a pod's spec (a spec that is not
// a workload's), a workload's template spec, a cronjob's job template spec.
func nodePodSpecs(obj node) []node {
	var out []node
	spec := obj.get("spec")
	if spec.isObject() && !spec.has("template") && !spec.has("jobTemplate") {
		out = append(out, spec)
	}
	if s := spec.get("template").get("spec"); s.present() {
		out = append(out, s)
	}
	if s := spec.get("jobTemplate").get("spec").get("template").get("spec"); s.present() {
		out = append(out, s)
	}
	return out
}

// node is a JSON value read by the workload helpers; a missing key or null
// is a node that is not present.
type node interface {
	present() bool
	has(key string) bool
	get(key string) node
	each(f func(node))
	isObject() bool
	isTrue() bool
	str() (string, bool)
	// asString is CEL's string(x) of a scalar (false for objects, lists).
	asString() (string, bool)
}

// fjNode reads the fastjson tree directly.
type fjNode struct{ v *fastjson.Value }

func (n fjNode) present() bool { return n.v != nil && n.v.Type() != fastjson.TypeNull }
func (n fjNode) has(key string) bool {
	return n.v != nil && n.v.Type() == fastjson.TypeObject && n.v.Get(key) != nil && n.v.Get(key).Type() != fastjson.TypeNull
}
func (n fjNode) get(key string) node {
	if n.v == nil || n.v.Type() != fastjson.TypeObject {
		return fjNode{}
	}
	return fjNode{n.v.Get(key)}
}
func (n fjNode) each(f func(node)) {
	if n.v == nil || n.v.Type() != fastjson.TypeArray {
		return
	}
	arr, _ := n.v.Array()
	for _, x := range arr {
		f(fjNode{x})
	}
}
func (n fjNode) isObject() bool { return n.v != nil && n.v.Type() == fastjson.TypeObject }
func (n fjNode) isTrue() bool   { return n.v != nil && n.v.Type() == fastjson.TypeTrue }
func (n fjNode) str() (string, bool) {
	if n.v == nil || n.v.Type() != fastjson.TypeString {
		return "", false
	}
	b, _ := n.v.StringBytes()
	return string(b), true
}
func (n fjNode) asString() (string, bool) {
	if n.v == nil {
		return "", false
	}
	switch n.v.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return "", false
	case fastjson.TypeString:
		return n.str()
	}
	return celNode{fastToVal(types.DefaultTypeAdapter, n.v)}.asString()
}

// celNode reads a CEL value (a JSON object that is not the event's own).
type celNode struct{ v ref.Val }

func (n celNode) present() bool       { return n.v != nil && n.v != absentVal }
func (n celNode) has(key string) bool { return n.present() && get(n.v, key) != absentVal }
func (n celNode) get(key string) node {
	if !n.present() {
		return celNode{absentVal}
	}
	return celNode{get(n.v, key)}
}
func (n celNode) each(f func(node)) { forEach(n.v, func(x ref.Val) { f(celNode{x}) }) }
func (n celNode) isObject() bool    { return isJSONObject(n.v) }
func (n celNode) isTrue() bool      { return n.v == types.True }
func (n celNode) str() (string, bool) {
	s, ok := n.v.(types.String)
	return string(s), ok
}
func (n celNode) asString() (string, bool) {
	if !n.present() || isJSONObject(n.v) {
		return "", false
	}
	if _, ok := n.v.(traits.Lister); ok {
		return "", false
	}
	s, ok := n.v.ConvertToType(types.StringType).(types.String)
	return string(s), ok
}

// envValues: the string values of the env vars named name in every pod
// spec's regular containers (the env of a workload's main processes).
func (p *provider) envValues(obj ref.Val, name string) []ref.Val {
	if !isJSONObject(obj) {
		return nil
	}
	// Most objects do not mention the name at all: one substring search of
	// the raw object spares the walk. A plain name can only be spelt
	// otherwise with \u escapes, so their presence turns the shortcut off.
	if raw := p.objects.raw; obj == p.objects.val && raw != nil && plainJSONName(name) &&
		!bytes.Contains(raw, []byte(name)) && !bytes.Contains(raw, []byte(`\u`)) {
		return nil
	}
	var out []ref.Val
	for _, spec := range nodePodSpecs(p.rootNode(obj)) {
		spec.get("containers").each(func(c node) {
			c.get("env").each(func(e node) {
				if n, ok := e.get("name").str(); !ok || n != name {
					return
				}
				if v, ok := e.get("value").str(); ok {
					out = append(out, types.String(v))
				}
			})
		})
	}
	return out
}

// plainJSONName: no character of name needs a JSON escape other than \u.
func plainJSONName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' || c == '/' {
			return false
		}
	}
	return true
}

// podFactFuncs are the CEL helpers over podFacts (docs/runtime.md).
func podFactFuncs(p *provider) []cel.EnvOption {
	obj := func(name string, ret *cel.Type, f func(*podFacts) ref.Val) cel.EnvOption {
		return cel.Function(name,
			cel.Overload(name+"_dyn", []*cel.Type{cel.DynType}, ret,
				cel.UnaryBinding(func(o ref.Val) ref.Val { return f(p.podFactsOf(o)) })))
	}
	objList := func(name string, f func(*podFacts, ref.Val) bool) cel.EnvOption {
		return cel.Function(name,
			cel.Overload(name+"_dyn_list", []*cel.Type{cel.DynType, stringList}, cel.BoolType,
				cel.BinaryBinding(func(o, l ref.Val) ref.Val { return types.Bool(f(p.podFactsOf(o), l)) })))
	}
	return []cel.EnvOption{
		obj("any_privileged", cel.BoolType, func(f *podFacts) ref.Val { return types.Bool(f.privileged) }),
		obj("host_paths", stringList, func(f *podFacts) ref.Val { return types.NewRefValList(p, f.hostPaths) }),
		obj("container_args", stringList, func(f *podFacts) ref.Val { return types.NewRefValList(p, f.args) }),
		// images_all_glob: every container names an image matching a
		// pattern (true when there is no container).
		objList("images_all_glob", func(f *podFacts, l ref.Val) bool {
			for i, img := range f.images {
				if !f.imageOK[i] || !globAny(img, l) {
					return false
				}
			}
			return true
		}),
		objList("images_any_glob", func(f *podFacts, l ref.Val) bool {
			for i, img := range f.images {
				if f.imageOK[i] && globAny(img, l) {
					return true
				}
			}
			return false
		}),
		// images_any_not_glob: some container names an image matching no
		// pattern.
		objList("images_any_not_glob", func(f *podFacts, l ref.Val) bool {
			for i, img := range f.images {
				if f.imageOK[i] && !globAny(img, l) {
					return true
				}
			}
			return false
		}),
		cel.Function("env_values",
			cel.Overload("env_values_dyn_string", []*cel.Type{cel.DynType, cel.StringType}, stringList,
				cel.BinaryBinding(func(o, name ref.Val) ref.Val {
					return types.NewRefValList(p, p.envValues(o, string(name.(types.String))))
				}))),
	}
}

// forEach calls f for every element of a CEL list (nothing for non-lists).
func forEach(l ref.Val, f func(ref.Val)) {
	lister, ok := l.(traits.Lister)
	if !ok {
		return
	}
	it := lister.Iterator()
	for it.HasNext() == types.True {
		f(it.Next())
	}
}
