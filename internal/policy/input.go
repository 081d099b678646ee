package policy

import (
	"fmt"
	"regexp"

	"github.com/open-policy-agent/opa/v1/ast"
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

// objectHeader is what the engine reads from every object.
type objectHeader struct {
	kind, apiVersion, name, namespace string
	metadata                          map[string]any
}

func readHeader(obj Object) objectHeader {
	h := objectHeader{
		kind:       str(obj["kind"]),
		apiVersion: str(obj["apiVersion"]),
	}
	h.metadata, _ = obj["metadata"].(map[string]any)
	if h.metadata == nil {
		h.metadata = map[string]any{}
	}
	h.name = str(h.metadata["name"])
	h.namespace = str(h.metadata["namespace"])
	return h
}

// buildInput builds the policy input documented in doc.go, without
// input.params (set per policy). Containers whose image matches one of
// exempt are left out of input.containers. It also returns the images of
// the containers kept, in order of appearance, without duplicates.
func buildInput(obj Object, h objectHeader, effectiveNS string, exempt []*regexp.Regexp) (map[string]any, []string) {
	in := map[string]any{
		"kind":       h.kind,
		"apiVersion": h.apiVersion,
		"metadata":   trimMetadata(h.metadata),
		"namespace":  effectiveNS,
		"pod":        nil,
		"containers": []any{},
	}
	tplPath, isWorkload := podTemplatePaths[h.kind]
	if !isWorkload {
		in["object"] = obj
		return in, nil
	}
	podMeta, spec, specPath, ok := podTemplate(obj, h, tplPath)
	if !ok {
		// A workload kind without a readable pod spec: nothing to check
		// at the pod level (the API server rejects it anyway).
		return in, nil
	}
	if h.kind == "Pod" {
		podMeta = trimMetadata(podMeta)
	}
	// The spec is converted to a Rego value once; each input.containers
	// entry reuses its container's converted fields rather than converting
	// them a second time (ast values pass through ast.InterfaceToValue).
	specV, specErr := ast.InterfaceToValue(spec)
	specObj, _ := specV.(ast.Object)
	if specErr != nil || specObj == nil {
		specV, specObj = nil, nil
	}
	if specV != nil {
		in["pod"] = map[string]any{"metadata": podMeta, "spec": specV, "path": specPath}
	} else {
		in["pod"] = map[string]any{"metadata": podMeta, "spec": spec, "path": specPath}
	}
	var containers []any
	var images []string
	seen := map[string]bool{}
	for _, kind := range containerKinds {
		list, _ := spec[kind].([]any)
		for i, item := range list {
			c, ok := item.(map[string]any)
			if !ok {
				continue
			}
			image := str(c["image"])
			if exemptImage(image, exempt) {
				continue
			}
			path := fmt.Sprintf("%s.%s[%d]", specPath, kind, i)
			if cv := containerValue(specObj, kind, i); cv != nil {
				cc := ast.NewObject()
				cv.Foreach(func(k, v *ast.Term) { cc.Insert(k, v) })
				cc.Insert(ast.InternedTerm("_kind"), ast.StringTerm(kind))
				cc.Insert(ast.InternedTerm("_path"), ast.StringTerm(path))
				containers = append(containers, cc)
			} else {
				cc := make(map[string]any, len(c)+2)
				for k, v := range c {
					cc[k] = v
				}
				cc["_kind"] = kind
				cc["_path"] = path
				containers = append(containers, cc)
			}
			if image != "" && !seen[image] {
				seen[image] = true
				images = append(images, image)
			}
		}
	}
	if containers != nil {
		in["containers"] = containers
	}
	return in, images
}

// containerValue is spec[kind][i] of the converted spec, nil when absent.
func containerValue(spec ast.Object, kind string, i int) ast.Object {
	if spec == nil {
		return nil
	}
	list := spec.Get(ast.StringTerm(kind))
	if list == nil {
		return nil
	}
	arr, ok := list.Value.(*ast.Array)
	if !ok || i >= arr.Len() {
		return nil
	}
	obj, _ := arr.Elem(i).Value.(ast.Object)
	return obj
}

// trimMetadata leaves out metadata.managedFields: the API server's field
// ownership records, large on every object it sends and read by no
// policy; converting them would cost more than some policies do.
func trimMetadata(md map[string]any) map[string]any {
	if _, ok := md["managedFields"]; !ok {
		return md
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		if k != "managedFields" {
			out[k] = v
		}
	}
	return out
}

// podTemplate finds the pod metadata and spec of a workload object.
func podTemplate(obj Object, h objectHeader, tplPath []string) (meta, spec map[string]any, specPath string, ok bool) {
	if h.kind == "Pod" {
		spec, ok = obj["spec"].(map[string]any)
		return h.metadata, spec, "spec", ok
	}
	cur := map[string]any(obj)
	for _, k := range tplPath {
		next, isMap := cur[k].(map[string]any)
		if !isMap {
			return nil, nil, "", false
		}
		cur = next
	}
	spec, ok = cur["spec"].(map[string]any)
	if !ok {
		return nil, nil, "", false
	}
	meta, _ = cur["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	specPath = ""
	for _, k := range tplPath {
		specPath += k + "."
	}
	return meta, spec, specPath + "spec", true
}

func exemptImage(image string, exempt []*regexp.Regexp) bool {
	for _, re := range exempt {
		if re.MatchString(image) {
			return true
		}
	}
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
