package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/redact"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// MaxRawEvidence caps the raw record kept in an alert's evidence, in bytes
// after redaction, cut on a rune boundary (text.Truncate).
const MaxRawEvidence = 4096

// buildAlert makes the one alert of one firing; internal/alert aggregates
// repeats by (Type, Resource.ID).
func buildAlert(r *Rule, ev *event.Event, props map[string]string) model.Alert {
	// The object's name may need a scan of the request object: read it
	// once for the resource and the summary.
	name := ""
	if ev.K8s != nil {
		name = objectName(ev.K8s)
	}
	res := alertResource(r.Resource, ev, name)
	// The one redaction step: every sink and log line gets the alert as
	// built here, without the secrets its event may carry.
	raw := ""
	if len(ev.Raw) > 0 {
		raw = text.Truncate(string(redact.Evidence(ev.Raw)), MaxRawEvidence)
	}
	if len(props) == 0 {
		props = nil
	}
	for k, v := range props {
		props[k] = redact.Text(v)
	}
	return model.Alert{
		ID:          AlertID(r.ID, res.ID),
		Type:        r.ID,
		Title:       r.Title,
		Description: strings.TrimSpace(r.Description),
		Severity:    r.Severity,
		Tactics:     r.Tactics,
		Techniques:  r.Techniques,
		Resource:    res,
		Actor:       actor(ev),
		FirstSeen:   ev.Time,
		LastSeen:    ev.Time,
		Count:       1,
		Evidence:    []model.Evidence{{Time: ev.Time, Source: string(ev.Source), Summary: redact.Text(summary(ev, name)), Raw: raw}},
		Properties:  props,
		Remediation: strings.TrimSpace(r.Remediation),
		Status:      model.AlertActive,
	}
}

// AlertID is stable for one (type, resource): the aggregator adds first-seen.
func AlertID(typ, resourceID string) string {
	h := sha256.Sum256([]byte(typ + "\x00" + resourceID))
	return hex.EncodeToString(h[:12])
}

// workloadKinds maps audited workload resources to their Kubernetes kind.
var workloadKinds = map[string]string{
	"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
	"replicasets": "ReplicaSet", "jobs": "Job", "cronjobs": "CronJob",
	"replicationcontrollers": "ReplicationController",
}

// PodResourceID is the id of a pod, shared by audit and node alerts so they
// land on the same resource.
func PodResourceID(cluster, namespace, pod string) string {
	return objectID(cluster, namespace, "pods", pod)
}

func objectID(cluster, namespace, resource, name string) string {
	return model.KubeObjectID(cluster, namespace, kindOf(resource), name)
}

// kindOf names the Kubernetes kind of an audited resource (objectRef has only
// the plural), so alert ids match the ids policy results use; an unknown
// resource keeps its plural.
func kindOf(resource string) string {
	if k, ok := workloadKinds[resource]; ok {
		return k
	}
	if k, ok := otherKinds[resource]; ok {
		return k
	}
	return resource
}

var otherKinds = map[string]string{
	"pods": "Pod", "services": "Service", "secrets": "Secret", "configmaps": "ConfigMap",
	"events": "Event", "namespaces": "Namespace", "nodes": "Node", "serviceaccounts": "ServiceAccount",
	"roles": "Role", "rolebindings": "RoleBinding", "clusterroles": "ClusterRole",
	"clusterrolebindings": "ClusterRoleBinding", "ingresses": "Ingress", "networkpolicies": "NetworkPolicy",
	"persistentvolumes": "PersistentVolume", "persistentvolumeclaims": "PersistentVolumeClaim",
	"validatingwebhookconfigurations": "ValidatingWebhookConfiguration",
	"mutatingwebhookconfigurations":   "MutatingWebhookConfiguration",
	"customresourcedefinitions":       "CustomResourceDefinition", "leases": "Lease", "endpoints": "Endpoints",
}

// alertResource derives the alert's resource per the rule's `resource:`.
func alertResource(mode string, ev *event.Event, name string) model.Resource {
	switch mode {
	case "", "auto":
		switch {
		case ev.K8s != nil && ev.Source == event.SourceK8sAudit:
			return objectResource(ev, name)
		case ev.Container != nil && ev.Container.ID != "":
			return containerResource(ev)
		}
		return hostResource(ev)
	case "object":
		if ev.K8s != nil {
			return objectResource(ev, name)
		}
		return alertResource("auto", ev, name)
	case "pod":
		if c := ev.Container; c != nil && c.Pod != "" {
			return model.Resource{Kind: model.KindPod, ID: PodResourceID(ev.Cluster, c.Namespace, c.Pod),
				Name: c.Pod, Parent: c.Namespace, Labels: map[string]string{"namespace": c.Namespace}}
		}
		return alertResource("auto", ev, name)
	case "container":
		if ev.Container != nil && ev.Container.ID != "" {
			return containerResource(ev)
		}
		return hostResource(ev)
	}
	return hostResource(ev)
}

// objectResource: name is objectName(ev.K8s).
func objectResource(ev *event.Event, name string) model.Resource {
	k := ev.K8s
	res := model.Resource{ID: objectID(ev.Cluster, k.Namespace, k.Resource, name), Name: name}
	if k.Namespace != "" {
		res.Parent = k.Namespace
		res.Labels = map[string]string{"namespace": k.Namespace}
	} else if ev.Cluster != "" {
		res.Parent = ev.Cluster
	}
	if ev.Cluster != "" {
		if res.Labels == nil {
			res.Labels = map[string]string{}
		}
		res.Labels["cluster"] = ev.Cluster
	}
	switch {
	case k.Resource == "pods":
		res.Kind = model.KindPod
	case workloadKinds[k.Resource] != "":
		res.Kind = model.KindWorkload
		if res.Labels == nil {
			res.Labels = map[string]string{}
		}
		res.Labels["kind"] = workloadKinds[k.Resource]
	case k.Resource == "namespaces":
		// A namespace is cluster/name, as the inventory names it.
		res.Kind = model.KindNamespace
		res.ID = ev.Cluster + "/" + name
	case k.Resource == "nodes":
		// A node is cluster/name, as the inventory and the node agent
		// name it: its alerts land on the node's resource.
		res.Kind = model.KindNode
		res.ID = ev.Cluster + "/" + name
	case k.Resource == "":
		res.Kind = model.KindCluster // non-resource URLs (/version, /healthz)
		res.ID = ev.Cluster + k.RequestURI
		res.Name = k.RequestURI
	default:
		res.Kind = model.ResourceKind(strings.ToLower(kindOf(k.Resource)))
	}
	if name == "" && k.Resource != "" {
		// A list or watch of a collection names no object: the alert is
		// about the namespace listed, or the cluster for a cluster-wide
		// list (not an id like "cluster/-/Namespace/").
		coll := kindOf(k.Resource)
		if k.Namespace != "" {
			res = model.Resource{Kind: model.KindNamespace, ID: ev.Cluster + "/" + k.Namespace, Name: k.Namespace, Parent: ev.Cluster}
		} else {
			id := ev.Cluster
			if id == "" {
				id = "-" // no cluster named (--cluster): still an id
			}
			res = model.Resource{Kind: model.KindCluster, ID: id, Name: ev.Cluster}
		}
		res.Labels = map[string]string{"collection": coll}
		if ev.Cluster != "" {
			res.Labels["cluster"] = ev.Cluster
		}
	}
	return res
}

// objectName is the audited object's name; create requests carry it only
// in the object (or just a generateName prefix).
func objectName(k *event.K8sAudit) string {
	if k.Name != "" || len(k.RequestObject) == 0 {
		return k.Name
	}
	name, gen := metaNames(k.RequestObject)
	if name != "" {
		return name
	}
	if gen != "" {
		return gen + "*"
	}
	return ""
}

// metaNames reads metadata.name and metadata.generateName of a raw object
// exactly as k.Object() would see them (case-sensitive keys, the last of
// duplicates, "" for anything malformed or not a string) without decoding
// the whole object into maps: pod creations name no object in their
// objectRef, and a full decode per alert cost more than the rules.
func metaNames(raw []byte) (name, generateName string) {
	var top struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &top) != nil || len(top.Metadata) == 0 || top.Metadata[0] != '{' {
		return "", ""
	}
	var md struct {
		Name         json.RawMessage `json:"name"`
		GenerateName json.RawMessage `json:"generateName"`
	}
	if sigsjson.UnmarshalCaseSensitivePreserveInts(top.Metadata, &md) != nil {
		return "", ""
	}
	str := func(r json.RawMessage) string {
		var s string
		if len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &s) != nil {
			return ""
		}
		return s
	}
	return str(md.Name), str(md.GenerateName)
}

func containerResource(ev *event.Event) model.Resource {
	c := ev.Container
	name := c.Name
	if name == "" {
		name = shortID(c.ID)
	}
	res := model.Resource{Kind: model.KindContainer, ID: "container:" + c.ID, Name: name, Parent: ev.Host}
	labels := map[string]string{}
	if c.Image != "" {
		labels["image"] = c.Image
	}
	if c.Pod != "" {
		labels["pod"] = c.Pod
		labels["namespace"] = c.Namespace
	}
	if ev.Host != "" {
		labels["host"] = ev.Host
	}
	if len(labels) > 0 {
		res.Labels = labels
	}
	return res
}

func hostResource(ev *event.Event) model.Resource {
	h := ev.Host
	if h == "" {
		h = "localhost"
	}
	return model.Resource{Kind: model.KindHost, ID: "host:" + h, Name: h}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func actor(ev *event.Event) *model.Actor {
	switch {
	case ev.K8s != nil && ev.K8s.User != "":
		k := ev.K8s
		a := &model.Actor{User: k.User, Groups: k.Groups, UserAgent: k.UserAgent, SourceIPs: k.SourceIPs}
		if sa, ok := strings.CutPrefix(k.User, "system:serviceaccount:"); ok {
			a.ServiceAccount = sa
		}
		return a
	case ev.Process != nil:
		p := ev.Process
		a := &model.Actor{User: p.User, Process: p.Exe, Command: redact.Text(cmdline(p)), PID: p.PID}
		if p.UID >= 0 {
			uid := p.UID
			a.UID = &uid
		}
		return a
	}
	return nil
}

func cmdline(p *event.Process) string {
	if p.Cmdline != "" {
		return p.Cmdline
	}
	return strings.Join(p.Args, " ")
}

// Summary is the one line a human reads about an event.
func Summary(ev *event.Event) string {
	name := ""
	if ev.K8s != nil {
		name = objectName(ev.K8s)
	}
	return summary(ev, name)
}

// summary: name is objectName(ev.K8s).
func summary(ev *event.Event, name string) string {
	var b strings.Builder
	switch {
	case ev.K8s != nil:
		k := ev.K8s
		fmt.Fprintf(&b, "%s %s", orDash(k.User), orDash(k.Verb))
		if k.Resource != "" {
			b.WriteString(" " + k.Resource)
			if k.Subresource != "" {
				b.WriteString("/" + k.Subresource)
			}
			if k.Namespace != "" || name != "" {
				b.WriteString(" " + strings.TrimPrefix(k.Namespace+"/"+name, "/"))
			}
		} else if k.RequestURI != "" {
			b.WriteString(" " + k.RequestURI)
		}
		if k.Code != 0 {
			fmt.Fprintf(&b, " → %d", k.Code)
		}
	case ev.Process != nil:
		p := ev.Process
		fmt.Fprintf(&b, "%s %s: %s", ev.Kind, orDash(p.Exe), clip(cmdline(p), 200))
		if p.PID != 0 {
			fmt.Fprintf(&b, " (pid %d, uid %d)", p.PID, p.UID)
		}
		if ev.Net != nil {
			fmt.Fprintf(&b, " → %s:%d", ev.Net.DstIP, ev.Net.DstPort)
		}
		if ev.File != nil {
			fmt.Fprintf(&b, " %s %s", ev.File.Op, ev.File.Path)
		}
	case ev.Falco != nil:
		fmt.Fprintf(&b, "falco %s: %s", ev.Falco.Rule, clip(ev.Falco.Output, 200))
	case ev.Container != nil:
		c := ev.Container
		fmt.Fprintf(&b, "%s %s %s", ev.Kind, orDash(ev.Action), orDash(c.Name))
		if c.Image != "" {
			b.WriteString(" (" + c.Image + ")")
		}
		if len(c.Exec) > 0 {
			b.WriteString(": " + clip(strings.Join(c.Exec, " "), 200))
		}
	default:
		fmt.Fprintf(&b, "%s %s", ev.Kind, ev.Action)
	}
	if c := ev.Container; c != nil && ev.Process != nil && c.ID != "" {
		fmt.Fprintf(&b, " in container %s", shortID(c.ID))
	}
	if ev.Host != "" {
		b.WriteString(" on " + ev.Host)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip redacts s and cuts it to n bytes (on a rune boundary) plus the
// ellipsis: a credential is masked before a cut could hide its start.
func clip(s string, n int) string {
	return text.Truncate(redact.Text(s), n+len(text.Ellipsis))
}
