package runtime

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// CEL sees the event through hand-written field tables rather than
// reflection (ext.NativeTypes): a field read is a type switch and a struct
// load, and a nil sub-object reads as a shared empty value, so rules need no
// has() guards. TestFieldTablesComplete keeps the tables in step with the
// JSON tags of internal/event.

const (
	typeEvent     = "bulwark.Event"
	typeProcess   = "bulwark.Process"
	typeConn      = "bulwark.Conn"
	typeFile      = "bulwark.File"
	typeContainer = "bulwark.Container"
	typeMount     = "bulwark.Mount"
	typeK8s       = "bulwark.K8sAudit"
	typeFalco     = "bulwark.Falco"
	typeLists     = "bulwark.Lists"
	typeObject    = "bulwark.Object"
)

// Empty sub-objects read in place of nil pointers. Never mutated.
var (
	emptyProcess   = &event.Process{UID: -1, EUID: -1}
	emptyConn      = &event.Conn{}
	emptyFile      = &event.File{}
	emptyContainer = &event.Container{}
	emptyK8s       = &event.K8sAudit{}
	emptyFalco     = &event.Falco{}
	emptyObject    = &event.Object{}
)

type field struct {
	typ *types.Type
	get func(obj any) any
}

var (
	stringList   = types.NewListType(types.StringType)
	stringMap    = types.NewMapType(types.StringType, types.StringType)
	objType      = func(name string) *types.Type { return types.NewObjectType(name) }
	emptyStrList = types.NewStringList(types.DefaultTypeAdapter, nil)
)

func strs(v []string) ref.Val {
	if len(v) == 0 {
		return emptyStrList
	}
	return types.NewStringList(types.DefaultTypeAdapter, v)
}

func strMap(v map[string]string) ref.Val {
	return types.NewStringStringMap(types.DefaultTypeAdapter, v)
}

// fieldTables builds, per object type, the CEL field name → getter table.
// adapter is the engine's adapter, needed for values that hold objects
// (mount lists, the decoded request object).
func fieldTables(adapter types.Adapter, objects *objectCache) map[string]map[string]field {
	s := func(f func(any) string) field {
		return field{types.StringType, func(o any) any { return types.String(f(o)) }}
	}
	i := func(f func(any) int) field {
		return field{types.IntType, func(o any) any { return types.Int(f(o)) }}
	}
	b := func(f func(any) bool) field {
		return field{types.BoolType, func(o any) any { return types.Bool(f(o)) }}
	}
	sl := func(f func(any) []string) field {
		return field{stringList, func(o any) any { return strs(f(o)) }}
	}
	ev := func(o any) *event.Event { return o.(*event.Event) }
	pr := func(o any) *event.Process { return o.(*event.Process) }
	cn := func(o any) *event.Conn { return o.(*event.Conn) }
	fl := func(o any) *event.File { return o.(*event.File) }
	ct := func(o any) *event.Container { return o.(*event.Container) }
	mt := func(o any) *event.Mount { return o.(*event.Mount) }
	k8 := func(o any) *event.K8sAudit { return o.(*event.K8sAudit) }
	fa := func(o any) *event.Falco { return o.(*event.Falco) }
	ob := func(o any) *event.Object { return o.(*event.Object) }
	return map[string]map[string]field{
		typeEvent: {
			"time":   {types.TimestampType, func(o any) any { return types.Timestamp{Time: ev(o).Time} }},
			"source": s(func(o any) string { return string(ev(o).Source) }),
			"kind":   s(func(o any) string { return string(ev(o).Kind) }),
			"action": s(func(o any) string { return ev(o).Action }),
			"host":   s(func(o any) string { return ev(o).Host }),
			"cluster": s(func(o any) string {
				return ev(o).Cluster
			}),
			"process": {objType(typeProcess), func(o any) any {
				if p := ev(o).Process; p != nil {
					return p
				}
				return emptyProcess
			}},
			"net": {objType(typeConn), func(o any) any {
				if p := ev(o).Net; p != nil {
					return p
				}
				return emptyConn
			}},
			"file": {objType(typeFile), func(o any) any {
				if p := ev(o).File; p != nil {
					return p
				}
				return emptyFile
			}},
			"container": {objType(typeContainer), func(o any) any {
				if p := ev(o).Container; p != nil {
					return p
				}
				return emptyContainer
			}},
			"k8s": {objType(typeK8s), func(o any) any {
				if p := ev(o).K8s; p != nil {
					return p
				}
				return emptyK8s
			}},
			"falco": {objType(typeFalco), func(o any) any {
				if p := ev(o).Falco; p != nil {
					return p
				}
				return emptyFalco
			}},
			"object": {objType(typeObject), func(o any) any {
				if p := ev(o).Object; p != nil {
					return p
				}
				return emptyObject
			}},
			"raw": s(func(o any) string { return string(ev(o).Raw) }),
		},
		typeProcess: {
			"pid":            i(func(o any) int { return pr(o).PID }),
			"ppid":           i(func(o any) int { return pr(o).PPID }),
			"uid":            i(func(o any) int { return pr(o).UID }),
			"euid":           i(func(o any) int { return pr(o).EUID }),
			"user":           s(func(o any) string { return pr(o).User }),
			"exe":            s(func(o any) string { return pr(o).Exe }),
			"name":           s(func(o any) string { return pr(o).Name }),
			"args":           sl(func(o any) []string { return pr(o).Args }),
			"cmdline":        s(func(o any) string { return pr(o).Cmdline }),
			"cwd":            s(func(o any) string { return pr(o).Cwd }),
			"parent_exe":     s(func(o any) string { return pr(o).ParentExe }),
			"parent_name":    s(func(o any) string { return pr(o).ParentName }),
			"parent_cmdline": s(func(o any) string { return pr(o).ParentCmdline }),
			"tty":            b(func(o any) bool { return pr(o).TTY }),
			"stdio_socket":   b(func(o any) bool { return pr(o).StdioSocket }),
			"stdio_peer":     s(func(o any) string { return pr(o).StdioPeer }),
			"cgroup":         s(func(o any) string { return pr(o).CgroupPath }),
			"namespaces":     sl(func(o any) []string { return pr(o).Namespaces }),
		},
		typeConn: {
			"proto":    s(func(o any) string { return cn(o).Proto }),
			"src_ip":   s(func(o any) string { return cn(o).SrcIP }),
			"src_port": i(func(o any) int { return cn(o).SrcPort }),
			"dst_ip":   s(func(o any) string { return cn(o).DstIP }),
			"dst_port": i(func(o any) int { return cn(o).DstPort }),
		},
		typeFile: {
			"path":     s(func(o any) string { return fl(o).Path }),
			"op":       s(func(o any) string { return fl(o).Op }),
			"new_path": s(func(o any) string { return fl(o).NewPath }),
		},
		typeContainer: {
			"id":           s(func(o any) string { return ct(o).ID }),
			"name":         s(func(o any) string { return ct(o).Name }),
			"image":        s(func(o any) string { return ct(o).Image }),
			"image_id":     s(func(o any) string { return ct(o).ImageID }),
			"privileged":   b(func(o any) bool { return ct(o).Privileged }),
			"user":         s(func(o any) string { return ct(o).User }),
			"pid_mode":     s(func(o any) string { return ct(o).PidMode }),
			"network_mode": s(func(o any) string { return ct(o).NetworkMode }),
			"ipc_mode":     s(func(o any) string { return ct(o).IpcMode }),
			"cap_add":      sl(func(o any) []string { return ct(o).CapAdd }),
			"mounts": {types.NewListType(objType(typeMount)), func(o any) any {
				ms := ct(o).Mounts
				vals := make([]ref.Val, len(ms))
				for j := range ms {
					vals[j] = &object{typeMount, &ms[j]}
				}
				return types.NewRefValList(adapter, vals)
			}},
			"labels":    {stringMap, func(o any) any { return strMap(ct(o).Labels) }},
			"namespace": s(func(o any) string { return ct(o).Namespace }),
			"pod":       s(func(o any) string { return ct(o).Pod }),
			"exec":      sl(func(o any) []string { return ct(o).Exec }),
		},
		typeMount: {
			"type":        s(func(o any) string { return mt(o).Type }),
			"source":      s(func(o any) string { return mt(o).Source }),
			"destination": s(func(o any) string { return mt(o).Destination }),
			"read_only":   b(func(o any) bool { return mt(o).ReadOnly }),
		},
		typeK8s: {
			"audit_id":          s(func(o any) string { return k8(o).AuditID }),
			"stage":             s(func(o any) string { return k8(o).Stage }),
			"level":             s(func(o any) string { return k8(o).Level }),
			"verb":              s(func(o any) string { return k8(o).Verb }),
			"request_uri":       s(func(o any) string { return k8(o).RequestURI }),
			"user_agent":        s(func(o any) string { return k8(o).UserAgent }),
			"user":              s(func(o any) string { return k8(o).User }),
			"groups":            sl(func(o any) []string { return k8(o).Groups }),
			"impersonated_user": s(func(o any) string { return k8(o).ImpersonatedUser }),
			"source_ips":        sl(func(o any) []string { return k8(o).SourceIPs }),
			"api_group":         s(func(o any) string { return k8(o).APIGroup }),
			"api_version":       s(func(o any) string { return k8(o).APIVersion }),
			"resource":          s(func(o any) string { return k8(o).Resource }),
			"subresource":       s(func(o any) string { return k8(o).Subresource }),
			"namespace":         s(func(o any) string { return k8(o).Namespace }),
			"name":              s(func(o any) string { return k8(o).Name }),
			"code":              i(func(o any) int { return k8(o).Code }),
			"annotations":       {stringMap, func(o any) any { return strMap(k8(o).Annotations) }},
			// The request (or response) object, decoded lazily on first
			// read; absent keys read as an empty value (see jsonval.go).
			"object": {types.DynType, func(o any) any {
				k := k8(o)
				if k == emptyK8s {
					return absentVal
				}
				return objects.get(adapter, k)
			}},
			"request_object":  s(func(o any) string { return string(k8(o).RequestObject) }),
			"response_object": s(func(o any) string { return string(k8(o).ResponseObject) }),
		},
		typeObject: {
			"type":       s(func(o any) string { return ob(o).Type }),
			"id":         s(func(o any) string { return ob(o).ID }),
			"name":       s(func(o any) string { return ob(o).Name }),
			"attributes": {stringMap, func(o any) any { return strMap(ob(o).Attributes) }},
		},
		typeFalco: {
			"rule":     s(func(o any) string { return fa(o).Rule }),
			"priority": s(func(o any) string { return fa(o).Priority }),
			"output":   s(func(o any) string { return fa(o).Output }),
			"tags":     sl(func(o any) []string { return fa(o).Tags }),
			"fields": {types.DynType, func(o any) any {
				m := fa(o).Fields
				if m == nil {
					return absentVal
				}
				return jsonToVal(adapter, m)
			}},
			"hostname": s(func(o any) string { return fa(o).Hostname }),
		},
	}
}

// object is an event sub-object seen from CEL.
type object struct {
	typeName string
	v        any // *event.Process, *event.Conn, …
}

func (o *object) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(o.v).AssignableTo(t) {
		return o.v, nil
	}
	return nil, fmt.Errorf("%s cannot convert to %v", o.typeName, t)
}

func (o *object) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.NewObjectType(o.typeName)
	}
	return types.NewErr("%s cannot convert to %s", o.typeName, t.TypeName())
}

func (o *object) Equal(other ref.Val) ref.Val {
	ov, ok := other.(*object)
	return types.Bool(ok && ov.typeName == o.typeName && reflect.DeepEqual(ov.v, o.v))
}

func (o *object) Type() ref.Type { return types.NewObjectType(o.typeName) }
func (o *object) Value() any     { return o.v }

// provider declares the event types to the checker and serves field reads
// to the interpreter; everything else goes to cel-go's registry.
type provider struct {
	*types.Registry
	fields map[string]map[string]field
	ftypes map[string]map[string]*types.FieldType
	// objects caches the current event's parsed request object, memos its
	// field values (both reset after each event: see Engine.Process).
	objects objectCache
	memos   []memo
	// podSpecs and containers remember the last pod_specs()/containers()
	// result: the workload rules all walk the same object of one event.
	podSpecs, containers valMemo
	facts                factsMemo
}

// valMemo is a one-entry cache of a helper's result, dropped per event.
type valMemo struct{ in, out ref.Val }

func newProvider(lists listsVal) (*provider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	p := &provider{Registry: reg}
	p.fields = fieldTables(p, &p.objects)
	lf := make(map[string]field, len(lists))
	for name, set := range lists {
		lf[name] = field{stringList, func(any) any { return set }}
	}
	p.fields[typeLists] = lf
	p.ftypes = map[string]map[string]*types.FieldType{}
	p.memos = make([]memo, 0, len(p.fields))
	for tn, fs := range p.fields {
		m := map[string]*types.FieldType{}
		ti := len(p.memos)
		p.memos = append(p.memos, memo{vals: make([]any, len(fs)), gens: make([]uint64, len(fs)), gen: 1})
		fi := 0
		for name, f := range fs {
			get, idx := f.get, fi
			fi++
			if tn == typeLists {
				// already a shared value: nothing to save
			} else {
				get = func(target any) any {
					m := &p.memos[ti]
					if m.owner != target {
						m.owner = target
						m.gen++
					}
					if m.gens[idx] == m.gen {
						return m.vals[idx]
					}
					v := f.get(target)
					m.vals[idx], m.gens[idx] = v, m.gen
					return v
				}
			}
			m[name] = &types.FieldType{
				Type:    f.typ,
				IsSet:   func(target any) bool { return isSet(p.NativeToValue(get(target))) },
				GetFrom: func(target any) (any, error) { return get(target), nil },
			}
		}
		p.ftypes[tn] = m
	}
	return p, nil
}

// memo holds the field values of one object already read while the current
// event is evaluated: forty rules reading evt.process.args then convert it
// once, not forty times. reset drops them after each event.
//
// A value is current when its generation is the memo's: moving to another
// object or event is one increment, not a clear of every slot (clearing
// pointers costs write barriers while the collector runs). Generations
// are 64-bit, so a stale slot never comes back into date.
type memo struct {
	owner any
	gen   uint64
	vals  []any
	gens  []uint64 // the generation each of vals was read in
}

func (p *provider) reset() {
	for i := range p.memos {
		if m := &p.memos[i]; m.owner != nil { // only the types the event's rules read
			// The next event may reuse this one's address: owner alone
			// would not tell them apart.
			m.owner = nil
			m.gen++
		}
	}
	p.objects.reset()
	p.podSpecs, p.containers, p.facts = valMemo{}, valMemo{}, factsMemo{}
}

// zeroer is cel-go's zero-value test (String, Int, Bool, lists…).
type zeroer interface{ IsZeroValue() bool }

// isSet backs has(): a field is set when it holds a non-zero value, and a
// sub-object when the event carries it.
func isSet(v ref.Val) bool {
	switch x := v.(type) {
	case *object:
		switch x.v {
		case emptyProcess, emptyConn, emptyFile, emptyContainer, emptyK8s, emptyFalco, emptyObject:
			return false
		}
		return true
	case zeroer:
		return !x.IsZeroValue()
	}
	return v != absentVal
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.fields[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if fs, ok := p.fields[name]; ok {
		names := make([]string, 0, len(fs))
		for n := range fs {
			names = append(names, n)
		}
		return names, true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	if fs, ok := p.ftypes[name]; ok {
		f, ok := fs[fieldName]
		return f, ok
	}
	return p.Registry.FindStructFieldType(name, fieldName)
}

func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.fields[name]; ok {
		return types.NewErr("%s cannot be constructed in a rule", name)
	}
	return p.Registry.NewValue(name, fields)
}

// NativeToValue wraps event objects and decoded JSON; the rest is cel-go's.
func (p *provider) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case *event.Event:
		return &object{typeEvent, x}
	case *event.Process:
		return &object{typeProcess, x}
	case *event.Container:
		return &object{typeContainer, x}
	case *event.K8sAudit:
		return &object{typeK8s, x}
	case *event.Conn:
		return &object{typeConn, x}
	case *event.File:
		return &object{typeFile, x}
	case *event.Mount:
		return &object{typeMount, x}
	case *event.Falco:
		return &object{typeFalco, x}
	case *event.Object:
		return &object{typeObject, x}
	case map[string]any:
		return jsonToVal(p, x)
	case []any:
		return jsonToVal(p, x)
	}
	return p.Registry.NativeToValue(v)
}
