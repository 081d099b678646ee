package runtime

import (
	"math"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/valyala/fastjson"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// The audited request object is the one big input: decoding a pod spec into
// map[string]any with encoding/json costs more than every rule evaluation of
// the event together. So the engine parses it with fastjson (a flat,
// reusable buffer, no per-value maps) once per event, and CEL reads it
// lazily: objects are looked up in place, only the values a rule touches are
// converted. The values live until the next event (the engine is
// single-threaded under its lock), so nothing of them may be kept: outputs
// and captures are turned into strings before Process returns.

// objectCache holds the parsed object of the event being processed.
type objectCache struct {
	parser fastjson.Parser
	k      *event.K8sAudit
	val    ref.Val
	raw    []byte          // the JSON val was parsed from (nil when none)
	root   *fastjson.Value // raw parsed, for helpers that walk it in Go
}

func (c *objectCache) reset() { c.k, c.val, c.raw, c.root = nil, nil, nil, nil }

// get returns the request (or else response) object of k for CEL.
func (c *objectCache) get(adapter types.Adapter, k *event.K8sAudit) ref.Val {
	if c.k == k && c.val != nil {
		return c.val
	}
	raw := k.RequestObject
	if len(raw) == 0 {
		raw = k.ResponseObject
	}
	c.k, c.val, c.raw, c.root = k, absentVal, nil, nil
	if len(raw) > 0 {
		if v, err := c.parser.ParseBytes(raw); err == nil {
			c.val, c.raw, c.root = fastToVal(adapter, v), raw, v
		}
	}
	return c.val
}

func fastToVal(adapter types.Adapter, v *fastjson.Value) ref.Val {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return &fastObject{o: o, adapter: adapter}
	case fastjson.TypeArray:
		arr, _ := v.Array()
		vals := make([]ref.Val, len(arr))
		for i, x := range arr {
			vals[i] = fastToVal(adapter, x)
		}
		return types.NewRefValList(adapter, vals)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return types.String(b)
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return types.Int(int64(f))
		}
		return types.Double(f)
	case fastjson.TypeTrue:
		return types.True
	case fastjson.TypeFalse:
		return types.False
	}
	return absentVal // null reads like a missing key
}

// fastObject is a JSON object read in place; missing keys read as absent.
// The values read are kept, so the tens of rules walking
// evt.k8s.object.spec.template.spec… of one event convert each step once.
type fastObject struct {
	o       *fastjson.Object
	adapter types.Adapter
	seen    []keyVal
}

type keyVal struct {
	key string
	val ref.Val
}

func (f *fastObject) toMap() map[string]any {
	m := map[string]any{}
	f.o.Visit(func(k []byte, v *fastjson.Value) {
		m[string(k)] = fastNative(v)
	})
	return m
}

func fastNative(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return (&fastObject{o: o}).toMap()
	case fastjson.TypeArray:
		arr, _ := v.Array()
		out := make([]any, len(arr))
		for i, x := range arr {
			out[i] = fastNative(x)
		}
		return out
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

func (f *fastObject) ConvertToNative(t reflect.Type) (any, error) {
	return (&jsonMap{m: f.toMap(), adapter: f.adapter}).ConvertToNative(t)
}

func (f *fastObject) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.MapType
	}
	return types.NewDynamicMap(f.adapter, f.toMap()).ConvertToType(t)
}

func (f *fastObject) Equal(other ref.Val) ref.Val {
	switch o := other.(type) {
	case *fastObject:
		return types.Bool(reflect.DeepEqual(f.toMap(), o.toMap()))
	case *jsonMap:
		return types.Bool(reflect.DeepEqual(f.toMap(), o.m))
	}
	return types.False
}

func (f *fastObject) Type() ref.Type { return types.MapType }
func (f *fastObject) Value() any     { return f.toMap() }

func (f *fastObject) Get(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return absentVal
	}
	for i := range f.seen {
		if f.seen[i].key == string(k) {
			return f.seen[i].val
		}
	}
	var val ref.Val = absentVal
	if v := f.o.Get(string(k)); v != nil {
		val = fastToVal(f.adapter, v)
	}
	f.seen = append(f.seen, keyVal{string(k), val})
	return val
}

func (f *fastObject) IsSet(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	return types.Bool(ok && f.o.Get(string(k)) != nil)
}

func (f *fastObject) Contains(key ref.Val) ref.Val { return f.IsSet(key) }
func (f *fastObject) Size() ref.Val                { return types.Int(f.o.Len()) }

func (f *fastObject) Iterator() traits.Iterator {
	var keys []string
	f.o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
	return types.NewStringList(f.adapter, keys).(traits.Iterable).Iterator()
}
