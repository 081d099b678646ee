package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/bulwarkdev/bulwark/internal/jsonast"
)

// podTemplatePaths says where each workload kind keeps its pod template
// (the object holding metadata and spec); Pod is the template itself.
var podTemplatePaths = map[string][]string{
	"Pod":                   nil,
	"Deployment":            {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"Job":                   {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
	"PodTemplate":           {"template"},
}

// containerKinds are the pod spec's container lists, in evaluation order.
var containerKinds = []string{"containers", "initContainers", "ephemeralContainers"}

// Document is one Kubernetes object ready for evaluation: decoded once into
// Rego values, without metadata.managedFields (the API server's field
// ownership records, large on every object it sends and read by no
// policy).
type Document struct {
	obj ast.Object
}

// ParseDocument decodes a JSON object straight into Rego values, with the
// strictness of encoding/json: the admission webhook's path, which skips
// the map that Object would be.
func ParseDocument(data []byte) (*Document, error) {
	v, err := jsonast.DecodeWithout(data, "metadata", "managedFields")
	if err != nil {
		return nil, err
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("a JSON %s, not an object", ast.ValueName(v))
	}
	return &Document{obj: obj}, nil
}

// NewDocument converts a decoded object.
func NewDocument(obj Object) (*Document, error) {
	if md, ok := obj["metadata"].(map[string]any); ok {
		if _, has := md["managedFields"]; has {
			trimmed := make(map[string]any, len(md))
			for k, v := range md {
				if k != "managedFields" {
					trimmed[k] = v
				}
			}
			shallow := make(map[string]any, len(obj))
			for k, v := range obj {
				shallow[k] = v
			}
			shallow["metadata"] = trimmed
			obj = shallow
		}
	}
	v, err := ast.InterfaceToValue(obj)
	if err != nil {
		return nil, err
	}
	o, ok := v.(ast.Object)
	if !ok { // cannot happen for a map
		return nil, errors.New("not an object")
	}
	return &Document{obj: o}, nil
}

// Metadata returns metadata.<key> when it is a string.
func (d *Document) Metadata(key string) string {
	md, _ := objectAt(d.obj, "metadata")
	return termString(md, key)
}

// SetMetadataDefaults sets metadata.namespace and metadata.name where they
// are empty (a CREATE may leave them to the request), creating metadata if
// it is missing or not an object.
func (d *Document) SetMetadataDefaults(namespace, name string) {
	md, ok := objectAt(d.obj, "metadata")
	if !ok {
		md = ast.NewObject()
		d.obj.Insert(ast.InternedTerm("metadata"), ast.NewTerm(md))
	}
	if namespace != "" && termString(md, "namespace") == "" {
		md.Insert(ast.InternedTerm("namespace"), ast.StringTerm(namespace))
	}
	if name != "" && termString(md, "name") == "" {
		md.Insert(ast.InternedTerm("name"), ast.StringTerm(name))
	}
}

// Map converts the document back to a decoded object (numbers as
// json.Number), for evaluators that read Go values.
func (d *Document) Map() (Object, error) {
	v, err := ast.JSON(d.obj)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// objectHeader is what the engine reads from every object.
type objectHeader struct {
	kind, apiVersion, name, namespace string
	metadata                          ast.Object
}

func readHeader(obj ast.Object) objectHeader {
	h := objectHeader{kind: termString(obj, "kind"), apiVersion: termString(obj, "apiVersion")}
	h.metadata, _ = objectAt(obj, "metadata")
	if h.metadata == nil {
		h.metadata = ast.NewObject()
	}
	h.name = termString(h.metadata, "name")
	h.namespace = termString(h.metadata, "namespace")
	return h
}

// buildInput builds the policy input documented in doc.go, without
// input.params (set per policy). Containers whose image matches one of
// exempt are left out of input.containers. It also returns the images of
// the containers kept, in order of appearance, without duplicates. The
// object's values are shared, not copied.
func buildInput(obj ast.Object, h objectHeader, effectiveNS string, exempt []*regexp.Regexp) (ast.Object, []string) {
	in := ast.NewObjectWithCapacity(10) // kind … containers, object, params, pss
	in.Insert(ast.InternedTerm("kind"), ast.StringTerm(h.kind))
	in.Insert(ast.InternedTerm("apiVersion"), ast.StringTerm(h.apiVersion))
	in.Insert(ast.InternedTerm("metadata"), ast.NewTerm(h.metadata))
	in.Insert(ast.InternedTerm("namespace"), ast.StringTerm(effectiveNS))
	noPod := func() {
		in.Insert(ast.InternedTerm("pod"), ast.InternedNullTerm)
		in.Insert(ast.InternedTerm("containers"), ast.InternedEmptyArray)
	}
	tplPath, isWorkload := podTemplatePaths[h.kind]
	if !isWorkload {
		noPod()
		in.Insert(ast.InternedTerm("object"), ast.NewTerm(obj))
		return in, nil
	}
	podMeta, spec, specPath, ok := podTemplate(obj, h, tplPath)
	if !ok {
		// A workload kind without a readable pod spec: nothing to check
		// at the pod level (the API server rejects it anyway).
		noPod()
		return in, nil
	}
	in.Insert(ast.InternedTerm("pod"), ast.ObjectTerm(
		[2]*ast.Term{ast.InternedTerm("metadata"), ast.NewTerm(podMeta)},
		[2]*ast.Term{ast.InternedTerm("spec"), ast.NewTerm(spec)},
		[2]*ast.Term{ast.InternedTerm("path"), ast.StringTerm(specPath)},
	))
	var containers []*ast.Term
	var images []string
	for _, kind := range containerKinds {
		lt := spec.Get(ast.InternedTerm(kind))
		if lt == nil {
			continue
		}
		list, ok := lt.Value.(*ast.Array)
		if !ok {
			continue
		}
		kindTerm := ast.StringTerm(kind)
		for i := range list.Len() {
			c, ok := list.Elem(i).Value.(ast.Object)
			if !ok {
				continue
			}
			image := termString(c, "image")
			if exemptImage(image, exempt) {
				continue
			}
			cc := ast.NewObjectWithCapacity(c.Len() + 2)
			c.Foreach(func(k, v *ast.Term) { cc.Insert(k, v) })
			cc.Insert(ast.InternedTerm("_kind"), kindTerm)
			cc.Insert(ast.InternedTerm("_path"), ast.StringTerm(specPath+"."+kind+"["+strconv.Itoa(i)+"]"))
			containers = append(containers, ast.NewTerm(cc))
			if image != "" && !containsString(images, image) {
				images = append(images, image)
			}
		}
	}
	in.Insert(ast.InternedTerm("containers"), ast.ArrayTerm(containers...))
	return in, images
}

// podTemplate finds the pod metadata and spec of a workload object.
func podTemplate(obj ast.Object, h objectHeader, tplPath []string) (meta, spec ast.Object, specPath string, ok bool) {
	if h.kind == "Pod" {
		spec, ok = objectAt(obj, "spec")
		return h.metadata, spec, "spec", ok
	}
	cur := obj
	for _, k := range tplPath {
		if cur, ok = objectAt(cur, k); !ok {
			return nil, nil, "", false
		}
	}
	if spec, ok = objectAt(cur, "spec"); !ok {
		return nil, nil, "", false
	}
	meta, _ = objectAt(cur, "metadata")
	if meta == nil {
		meta = ast.NewObject()
	}
	for _, k := range tplPath {
		specPath += k + "."
	}
	return meta, spec, specPath + "spec", true
}

// objectAt is obj[key] when it is an object.
func objectAt(obj ast.Object, key string) (ast.Object, bool) {
	if obj == nil {
		return nil, false
	}
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil, false
	}
	o, ok := t.Value.(ast.Object)
	return o, ok
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func exemptImage(image string, exempt []*regexp.Regexp) bool {
	for _, re := range exempt {
		if re.MatchString(image) {
			return true
		}
	}
	return false
}
