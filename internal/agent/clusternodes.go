package agent

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
)

// The cluster agent inventories the cluster's nodes: the same resource
// the node agent reports on (NodeID), with the facts the API server
// knows of it (kubelet version, OS image, kernel, container runtime,
// readiness). The node agent adds what only the host shows (its CIS
// results, the kernel and OS read from the host, the layout); the server
// merges both agents' facts of a node.

const nodeKind = "Node"

var nodeGVR = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// canListNodes says whether the agent's credentials may list nodes: an
// agent deployed with an older ClusterRole cannot, and an informer that
// may not list never syncs. Then nodes are left out, said once.
func canListNodes(ctx context.Context, dyn dynamic.Interface) (bool, error) {
	_, err := dyn.Resource(nodeGVR).List(ctx, metav1.ListOptions{Limit: 1})
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return false, err
	}
	// Any other failure (the API server not answering yet) is the
	// informers' to retry, like every other kind's.
	return true, nil
}

// nodeObject is a node's delta object: its resource and no assessments
// (a node's are the node agent's).
func (cs *clusterState) nodeObject(u *unstructured.Unstructured) policyreport.DeltaObject {
	facts := map[string]string{}
	info, _, _ := unstructured.NestedStringMap(u.Object, "status", "nodeInfo")
	for k, fact := range map[string]string{"kubeletVersion": "kubelet_version", "osImage": "os_image", "kernelVersion": "kernel_version",
		"containerRuntimeVersion": "container_runtime_version", "architecture": "architecture", "operatingSystem": "operating_system"} {
		if v := info[k]; v != "" && len(v) <= 256 {
			facts[fact] = v
		}
	}
	facts["ready"] = nodeReady(u)
	if _, cp := u.GetLabels()["node-role.kubernetes.io/control-plane"]; cp {
		facts["role"] = "control-plane"
	}
	if v, _, _ := unstructured.NestedBool(u.Object, "spec", "unschedulable"); v {
		facts["unschedulable"] = "true"
	}
	return policyreport.DeltaObject{Resource: model.Resource{Kind: model.KindNode, ID: NodeID(cs.clusterID, u.GetName()), Name: u.GetName(),
		Parent: cs.clusterID, Facts: facts}, Assessments: []model.Assessment{}}
}

// nodeReady is the node's Ready condition: "true", "false" or "unknown"
// (the node controller sets Unknown when the kubelet stopped reporting).
func nodeReady(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			s, _ := m["status"].(string)
			return strings.ToLower(s)
		}
	}
	return "unknown"
}

// slimNode keeps of a node what nodeObject reads: its labels, whether it
// is cordoned, its nodeInfo and Ready condition (not its images, taints,
// addresses, volumes).
func slimNode(u *unstructured.Unstructured, st map[string]any) {
	if st == nil {
		return
	}
	keep := map[string]any{}
	if info, ok := st["nodeInfo"].(map[string]any); ok {
		keep["nodeInfo"] = info
	}
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		if m, _ := c.(map[string]any); m != nil && m["type"] == "Ready" {
			keep["conditions"] = []any{map[string]any{"type": "Ready", "status": m["status"]}}
		}
	}
	u.Object["status"] = keep
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		u.Object["spec"] = map[string]any{"unschedulable": spec["unschedulable"]}
	}
}
