package runtime

import (
	"errors"
	"net/netip"
	"path"
	"reflect"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// newEnv is the CEL environment every rule expression compiles in: `evt`,
// `lists`, `captured` (sequence rules) and the helpers of docs/runtime.md.
func newEnv(p *provider) (*cel.Env, error) {
	// basename is called by most node rules on the same evt.process.exe;
	// a one-entry cache saves the allocation (the engine is single-threaded
	// under its lock).
	var lastIn string
	var lastOut ref.Val = types.String("")
	base := func(v ref.Val) ref.Val {
		s := string(v.(types.String))
		if s != lastIn {
			lastIn, lastOut = s, types.String(basename(s))
		}
		return lastOut
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(p),
		cel.CustomTypeAdapter(p),
		cel.Variable("evt", types.NewObjectType(typeEvent)),
		// lists is an object whose fields are the loaded list names, so a
		// misspelt list name is a compile error, not a silent miss.
		cel.Variable("lists", types.NewObjectType(typeLists)),
		cel.Variable("captured", stringList),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		cel.OptionalTypes(),
		// string(x) of a missing JSON key is "", so rules can coerce
		// optional object fields: string(c.securityContext.procMount) == "".
		cel.Function("string",
			cel.Overload("string_absent", []*cel.Type{absentType}, cel.StringType,
				cel.UnaryBinding(func(ref.Val) ref.Val { return types.String("") }))),
		// pod_specs and containers spare rules the nested comprehensions
		// over pods, workload templates and cronjob templates (see
		// docs/runtime.md).
		cel.Function("pod_specs",
			cel.Overload("pod_specs_dyn", []*cel.Type{cel.DynType}, cel.ListType(cel.DynType),
				cel.UnaryBinding(p.podSpecList))),
		cel.Function("containers",
			cel.Overload("containers_dyn", []*cel.Type{cel.DynType}, cel.ListType(cel.DynType),
				cel.UnaryBinding(p.containerList))),
		cel.Function("basename",
			cel.Overload("basename_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(base))),
		cel.Function("glob",
			cel.Overload("glob_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(s, pat ref.Val) ref.Val {
					return types.Bool(globMatch(string(pat.(types.String)), string(s.(types.String))))
				}))),
		// any_glob and contains_any also take a list as their first argument
		// (any element matching any pattern): evt.process.args in one native
		// call instead of a CEL comprehension, which costs ten times more.
		cel.Function("any_glob",
			cel.Overload("any_glob_string_list", []*cel.Type{cel.StringType, stringList}, cel.BoolType,
				cel.BinaryBinding(func(s, l ref.Val) ref.Val {
					return types.Bool(globAny(string(s.(types.String)), l))
				})),
			cel.Overload("any_glob_list_list", []*cel.Type{stringList, stringList}, cel.BoolType,
				cel.BinaryBinding(func(ss, l ref.Val) ref.Val {
					return forEachString(ss, func(str string) bool { return globAny(str, l) })
				}))),
		cel.Function("contains_any",
			cel.Overload("contains_any_string_list", []*cel.Type{cel.StringType, stringList}, cel.BoolType,
				cel.BinaryBinding(func(s, l ref.Val) ref.Val {
					str := string(s.(types.String))
					return forEachString(l, func(p string) bool { return p != "" && strings.Contains(str, p) })
				})),
			cel.Overload("contains_any_list_list", []*cel.Type{stringList, stringList}, cel.BoolType,
				cel.BinaryBinding(func(ss, l ref.Val) ref.Val {
					return forEachString(ss, func(str string) bool {
						return forEachString(l, func(p string) bool { return p != "" && strings.Contains(str, p) }) == types.True
					})
				}))),
		// icontains_any is contains_any on the ASCII-lowercased string
		// (s.lowerAscii() converts through runes and allocates; this does
		// not): the substrings are written in lower case.
		cel.Function("icontains_any",
			cel.Overload("icontains_any_string_list", []*cel.Type{cel.StringType, stringList}, cel.BoolType,
				cel.BinaryBinding(func(s, l ref.Val) ref.Val {
					str := string(s.(types.String))
					// A named list against a field whose values repeat
					// (user agents): remember the answer per string.
					if ss, ok := l.(*stringSet); ok {
						if hit, ok := ss.icontains[str]; ok {
							return types.Bool(hit)
						}
						lower := asciiLower(str)
						hit := forEachString(l, func(p string) bool { return p != "" && strings.Contains(lower, p) }) == types.True
						if len(ss.icontains) >= maxSetMemo {
							clear(ss.icontains)
						}
						ss.icontains[str] = hit
						return types.Bool(hit)
					}
					lower := asciiLower(str)
					return forEachString(l, func(p string) bool { return p != "" && strings.Contains(lower, p) })
				})),
			cel.Overload("icontains_any_list_list", []*cel.Type{stringList, stringList}, cel.BoolType,
				cel.BinaryBinding(func(ss, l ref.Val) ref.Val {
					return forEachString(ss, func(str string) bool {
						str = asciiLower(str)
						return forEachString(l, func(p string) bool { return p != "" && strings.Contains(str, p) }) == types.True
					})
				}))),
		cel.Function("cidr_contains",
			cel.Overload("cidr_contains_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(c, ip ref.Val) ref.Val {
					pfx, err := netip.ParsePrefix(string(c.(types.String)))
					if err != nil {
						return types.NewErr("cidr_contains: %v", err)
					}
					addr, err := netip.ParseAddr(string(ip.(types.String)))
					if err != nil {
						return types.False // an event without an address is not in any range
					}
					return types.Bool(pfx.Contains(addr.Unmap()))
				}))),
		cel.Function("is_private_ip",
			cel.Overload("is_private_ip_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(ip ref.Val) ref.Val {
					return types.Bool(isPrivateIP(string(ip.(types.String))))
				}))),
	}
	return cel.NewEnv(append(opts, podFactFuncs(p)...)...)
}

func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// asciiLower lowers ASCII letters only (as CEL's lowerAscii), copying
// only when there is one to lower.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// globAny reports whether s matches one of the glob patterns of the CEL
// list l.
func globAny(s string, l ref.Val) bool {
	ss, ok := l.(*stringSet)
	if !ok {
		return forEachString(l, func(p string) bool { return globMatch(p, s) }) == types.True
	}
	if hit, ok := ss.globs[s]; ok {
		return hit
	}
	hit := forEachString(l, func(p string) bool { return globMatch(p, s) }) == types.True
	if len(ss.globs) >= maxSetMemo {
		clear(ss.globs)
	}
	ss.globs[s] = hit
	return hit
}

// forEachString reports whether f holds for any string of the CEL list l.
func forEachString(l ref.Val, f func(string) bool) ref.Val {
	if ss, ok := l.(*stringSet); ok {
		for _, s := range ss.items {
			if f(s) {
				return types.True
			}
		}
		return types.False
	}
	it := l.(traits.Iterable).Iterator()
	for it.HasNext() == types.True {
		if s, ok := it.Next().(types.String); ok && f(string(s)) {
			return types.True
		}
	}
	return types.False
}

// isPrivateIP: loopback, RFC 1918, CGNAT, link-local and ULA addresses are
// not "external".
func isPrivateIP(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	return netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// globMatch matches shell-style patterns where `*` also crosses `/` (image
// references and paths are matched whole: registry.internal/debug/* covers
// every repository below it). `?` and [classes] are path.Match's.
func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[\\") {
		return pattern == s
	}
	if !strings.ContainsAny(pattern, "?[\\") {
		return starMatch(pattern, s)
	}
	// Rare: fall back to path.Match per '/'-free segment by replacing '/'
	// (so * crosses it as well).
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// starMatch matches a pattern whose only metacharacter is '*' (without
// splitting it: rules call it for every argument of every exec).
func starMatch(pattern, s string) bool {
	i := strings.IndexByte(pattern, '*')
	if !strings.HasPrefix(s, pattern[:i]) {
		return false
	}
	s, pattern = s[len(pattern[:i]):], pattern[i+1:]
	for {
		j := strings.IndexByte(pattern, '*')
		if j < 0 {
			return len(s) >= len(pattern) && strings.HasSuffix(s, pattern)
		}
		k := strings.Index(s, pattern[:j])
		if k < 0 {
			return false
		}
		s, pattern = s[k+j:], pattern[j+1:]
	}
}

// stringSet is a named list: a CEL list whose `in` is a map lookup, since
// rules test membership in lists of hundreds of miner and tool names.
type stringSet struct {
	traits.Lister
	items []string
	vals  []ref.Val // items as CEL strings
	set   map[string]struct{}
	// icontains memoises icontains_any(s, this list) by s; bounded by
	// maxSetMemo (cleared when full). Engines evaluate under their lock and
	// each engine builds its own sets.
	icontains map[string]bool
	// globs memoises any_glob(s, this list) by s (images and paths
	// repeat across events), bounded the same way.
	globs map[string]bool
}

const maxSetMemo = 4096

func newStringSet(items []string) *stringSet {
	set := make(map[string]struct{}, len(items))
	for _, s := range items {
		set[s] = struct{}{}
	}
	vals := make([]ref.Val, len(items))
	for i, s := range items {
		vals[i] = types.String(s)
	}
	return &stringSet{Lister: types.NewStringList(types.DefaultTypeAdapter, items), items: items, vals: vals,
		set: set, icontains: map[string]bool{}, globs: map[string]bool{}}
}

// Iterator walks the items already converted. cel-go's argument type
// guard iterates every list argument on every call (to check its first
// element), which would otherwise convert an item each time.
func (s *stringSet) Iterator() traits.Iterator { return &valsIterator{vals: s.vals} }

type valsIterator struct {
	vals []ref.Val
	i    int
}

func (it *valsIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.vals)) }

func (it *valsIterator) Next() ref.Val {
	if it.i >= len(it.vals) {
		return nil // as cel-go's own list iterator
	}
	v := it.vals[it.i]
	it.i++
	return v
}

// Iterators are not CEL values themselves; these satisfy ref.Val as
// cel-go's own iterators do.
func (it *valsIterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("type conversion on iterators not supported")
}
func (it *valsIterator) ConvertToType(ref.Type) ref.Val { return types.NewErr("no such overload") }
func (it *valsIterator) Equal(ref.Val) ref.Val          { return types.NewErr("no such overload") }
func (it *valsIterator) Type() ref.Type                 { return types.IteratorType }
func (it *valsIterator) Value() any                     { return nil }

func (s *stringSet) Contains(v ref.Val) ref.Val {
	str, ok := v.(types.String)
	if !ok {
		return types.False
	}
	_, found := s.set[string(str)]
	return types.Bool(found)
}

// listsVal is the `lists` variable: list name → set.
type listsVal map[string]*stringSet

// get reads key of a decoded JSON value (absent when it is none).
func get(v ref.Val, key string) ref.Val {
	if ix, ok := v.(traits.Indexer); ok {
		if _, isObj := v.(*object); !isObj {
			r := ix.Get(types.String(key))
			if !types.IsError(r) {
				return r
			}
		}
	}
	return absentVal
}

// podSpecVals: the pod specs in a pod, a workload's template or a cronjob's
// job template, those present. A pod's spec is any spec that is not a
// workload's (no template, no jobTemplate), so a patch carrying only
// ephemeralContainers or volumes counts too.
func podSpecVals(obj ref.Val) []ref.Val {
	var out []ref.Val
	spec := get(obj, "spec")
	if isJSONObject(spec) && get(spec, "template") == absentVal && get(spec, "jobTemplate") == absentVal {
		out = append(out, spec)
	}
	if s := get(get(spec, "template"), "spec"); s != absentVal {
		out = append(out, s)
	}
	if s := get(get(get(get(spec, "jobTemplate"), "spec"), "template"), "spec"); s != absentVal {
		out = append(out, s)
	}
	return out
}

func isJSONObject(v ref.Val) bool {
	switch v.(type) {
	case *fastObject, *jsonMap:
		return true
	}
	return false
}

// containerVals: every init, regular and ephemeral container of those specs.
func containerVals(obj ref.Val) []ref.Val {
	var out []ref.Val
	for _, spec := range podSpecVals(obj) {
		for _, f := range []string{"initContainers", "containers", "ephemeralContainers"} {
			if l, ok := get(spec, f).(traits.Lister); ok {
				it := l.Iterator()
				for it.HasNext() == types.True {
					out = append(out, it.Next())
				}
			}
		}
	}
	return out
}
