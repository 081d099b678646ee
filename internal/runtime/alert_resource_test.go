package runtime

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestObjectResourceIDs: audit alerts name resources as the inventory does;
// a list of a collection names the namespace or cluster listed, never an
// id with an empty object name ("uid/-/Namespace/").
func TestObjectResourceIDs(t *testing.T) {
	cases := []struct {
		ns, resource, name string
		kind               model.ResourceKind
		id                 string
	}{
		{"", "namespaces", "", model.KindCluster, "uid"},
		{"web", "secrets", "", model.KindNamespace, "uid/web"},
		{"", "namespaces", "web", model.KindNamespace, "uid/web"},
		{"web", "pods", "p", model.KindPod, "uid/web/Pod/p"},
		{"web", "deployments", "d", model.KindWorkload, "uid/web/Deployment/d"},
		{"", "clusterroles", "admin", "clusterrole", "uid/-/ClusterRole/admin"},
		// A node is cluster/name, as the node agent and the inventory name it.
		{"", "nodes", "n1", model.KindNode, "uid/n1"},
	}
	for _, c := range cases {
		ev := &event.Event{Source: event.SourceK8sAudit, Cluster: "uid", K8s: &event.K8sAudit{Verb: "list", Namespace: c.ns, Resource: c.resource, Name: c.name}}
		r := objectResource(ev, c.name)
		if r.Kind != c.kind || r.ID != c.id {
			t.Errorf("%s %s/%s = %s %q, want %s %q", ev.K8s.Verb, c.resource, c.name, r.Kind, r.ID, c.kind, c.id)
		}
	}
}
