package clusterscan

import "k8s.io/apimachinery/pkg/runtime/schema"

// Kind is one listed kind: where it is served and which controllers make
// it redundant.
type Kind struct {
	Kind     string
	Resource schema.GroupVersionResource
	// SkipOwnedBy are controller kinds whose objects of this kind are not
	// reported: the controller's own template is, and its objects only
	// repeat it (a Deployment's ReplicaSets, a ReplicaSet's Pods).
	SkipOwnedBy []string
}

var (
	core = func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	apps = func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: r}
	}
	batch = func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: r}
	}
)

// kinds is every kind audit k8s lists, in listing order. Pods are skipped
// only when a controller audit k8s itself lists owns them: pods of other
// controllers (operators' custom resources) are checked nowhere else.
var kinds = []Kind{
	{Kind: "Pod", Resource: core("pods"), SkipOwnedBy: []string{"ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}},
	{Kind: "Deployment", Resource: apps("deployments")},
	{Kind: "ReplicaSet", Resource: apps("replicasets"), SkipOwnedBy: []string{"Deployment"}},
	{Kind: "StatefulSet", Resource: apps("statefulsets")},
	{Kind: "DaemonSet", Resource: apps("daemonsets")},
	{Kind: "Job", Resource: batch("jobs"), SkipOwnedBy: []string{"CronJob"}},
	{Kind: "CronJob", Resource: batch("cronjobs")},
	{Kind: "ReplicationController", Resource: core("replicationcontrollers")},
	{Kind: "Service", Resource: core("services")},
	{Kind: "Ingress", Resource: schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}},
}

// Kinds returns the kinds audit k8s lists, in listing order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	copy(out, kinds)
	return out
}

// APIVersion is the kind's group/version as objects spell it.
func (k Kind) APIVersion() string {
	return k.Resource.GroupVersion().String()
}
