package runtime

import (
	"fmt"
	"math"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Decoded JSON (the audited request object, Falco fields) is lenient in
// rules: a missing key reads as an absent value instead of an error, so
// `evt.k8s.object.spec.hostNetwork == true` is simply false for objects
// without it. The absent value indexes to itself, iterates as empty, has size
// 0, contains nothing and equals only null/absent; has() still tells
// presence.

// jsonToVal converts one decoded JSON value.
func jsonToVal(adapter types.Adapter, v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return absentVal
	case map[string]any:
		return &jsonMap{m: x, adapter: adapter}
	case []any:
		return types.NewDynamicList(adapter, x)
	case string:
		return types.String(x)
	case bool:
		return types.Bool(x)
	case float64:
		// JSON numbers in Kubernetes objects are integers (ports, uids,
		// replicas); reading them as int lets rules compare with int literals.
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return types.Int(int64(x))
		}
		return types.Double(x)
	}
	return adapter.NativeToValue(v)
}

// jsonMap is a JSON object whose missing keys read as absent.
type jsonMap struct {
	m       map[string]any
	adapter types.Adapter
}

func (j *jsonMap) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(j.m).AssignableTo(t) {
		return j.m, nil
	}
	return types.NewDynamicMap(j.adapter, j.m).ConvertToNative(t)
}

func (j *jsonMap) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.MapType
	}
	return types.NewDynamicMap(j.adapter, j.m).ConvertToType(t)
}

func (j *jsonMap) Equal(other ref.Val) ref.Val {
	if o, ok := other.(*jsonMap); ok {
		return types.Bool(reflect.DeepEqual(j.m, o.m))
	}
	return types.False
}

func (j *jsonMap) Type() ref.Type { return types.MapType }
func (j *jsonMap) Value() any     { return j.m }

func (j *jsonMap) Get(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return absentVal
	}
	v, ok := j.m[string(k)]
	if !ok {
		return absentVal
	}
	return jsonToVal(j.adapter, v)
}

func (j *jsonMap) IsSet(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return types.False
	}
	_, ok = j.m[string(k)]
	return types.Bool(ok)
}

func (j *jsonMap) Contains(key ref.Val) ref.Val { return j.IsSet(key) }
func (j *jsonMap) Size() ref.Val                { return types.Int(len(j.m)) }

func (j *jsonMap) Iterator() traits.Iterator {
	keys := make([]string, 0, len(j.m))
	for k := range j.m {
		keys = append(keys, k)
	}
	return types.NewStringList(j.adapter, keys).(traits.Iterable).Iterator()
}

// absent is a missing key of decoded JSON.
type absent struct{}

var (
	absentVal  ref.Val = absent{}
	absentType         = types.NewObjectType("bulwark.absent",
		traits.ContainerType|traits.IndexerType|traits.IterableType|traits.SizerType|traits.FieldTesterType)
	emptyIter = types.NewDynamicList(types.DefaultTypeAdapter, []any{}).(traits.Iterable)
)

func (absent) ConvertToNative(t reflect.Type) (any, error) {
	return reflect.Zero(t).Interface(), nil
}

func (absent) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.TypeType:
		return types.NullType
	case types.StringType:
		return types.String("")
	}
	return types.NewErr("absent value cannot convert to %s", t.TypeName())
}

func (absent) Equal(other ref.Val) ref.Val {
	switch other.(type) {
	case absent, types.Null:
		return types.True
	}
	return types.False
}

func (absent) Type() ref.Type                { return absentType }
func (absent) Value() any                    { return nil }
func (absent) Get(ref.Val) ref.Val           { return absentVal }
func (absent) IsSet(ref.Val) ref.Val         { return types.False }
func (absent) Contains(ref.Val) ref.Val      { return types.False }
func (absent) Size() ref.Val                 { return types.Int(0) }
func (absent) Iterator() traits.Iterator     { return emptyIter.Iterator() }
func (a absent) String() string              { return "<absent>" }
func (absent) Format(f fmt.State, verb rune) { fmt.Fprint(f, "<absent>") }
