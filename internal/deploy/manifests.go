package deploy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/bulwarkdev/bulwark/internal/admission"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
)

// ManifestOptions shape `bulwark deploy manifests`: the server, the
// cluster agent, the node agent, their RBAC, NetworkPolicies and
// PodDisruptionBudgets, and the admission webhook.
type ManifestOptions struct {
	// Namespace holds everything (default bulwark-system).
	Namespace string
	// Image is the bulwark image every workload runs (pin it by digest).
	Image string
	// Server is the URL the agents report to (default: the in-cluster
	// server's Service, https://bulwark-server.NAMESPACE.svc:8443).
	Server string
	// NoServer leaves the server out (it runs elsewhere: Server names it).
	NoServer bool
	// Replicas of the server (default 1). More than one needs a
	// PostgreSQL database (DatabaseSecret): SQLite is one process's.
	Replicas int
	// DatabaseSecret is a Secret whose key "url" is the PostgreSQL URL
	// ("": SQLite on the server's volume). Read from a file, never put on
	// the command line.
	DatabaseSecret string
	// SecretsKeySecret is a Secret whose key "secrets.key" seals registry
	// credentials: replicas must share it (default bulwark-secrets-key
	// when Replicas > 1; "" with one replica: created on its volume).
	SecretsKeySecret string
	// TLSSecret holds the server's tls.crt and tls.key (default
	// bulwark-server-tls).
	TLSSecret string
	// ServerCAConfigMap, when set, is a ConfigMap whose key "ca.crt" the
	// agents trust for the server (a private CA); "": the system roots.
	ServerCAConfigMap string
	// TokenSecret is the Secret whose key "token" is the enrolment token
	// (bulwark token create --scope enroll) both agents start with
	// (default bulwark-enrol).
	TokenSecret string
	// ClusterID, when set, is the cluster's kube-system UID: the node
	// agent is then given it and no API access at all.
	ClusterID string
	// StorageSize and StorageClass of the server's volume (default 20Gi,
	// the cluster's default class).
	StorageSize  string
	StorageClass string
	// NodeSensor is the node agent's run-time sensor: auto (eBPF, else
	// /proc; the default) or proc (no BPF capabilities).
	NodeSensor string
	// NodeAuditd also mounts the host's /var/log/audit and follows
	// audit.log.
	NodeAuditd bool
	// NoAdmission leaves the admission webhook out; AdmissionFailurePolicy
	// is its failurePolicy (Fail by default).
	NoAdmission            bool
	AdmissionFailurePolicy string
	// AdmissionTokenSecret is the Secret whose key "token" is the
	// webhook's API token (scope read: the policy config and the image
	// verdicts it gates with; default bulwark-admission-token).
	AdmissionTokenSecret string
}

const (
	serverName  = "bulwark-server"
	clusterName = "bulwark-cluster-agent"
	nodeName    = "bulwark-node-agent"
	serverPort  = 8443
	// nonRoot is the image's unprivileged user (distroless nonroot).
	nonRoot = 65532
)

func (o ManifestOptions) withDefaults() ManifestOptions {
	if o.Namespace == "" {
		o.Namespace = "bulwark-system"
	}
	if o.Image == "" {
		o.Image = "ghcr.io/bulwarkdev/bulwark:latest"
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.TLSSecret == "" {
		o.TLSSecret = serverName + "-tls"
	}
	if o.TokenSecret == "" {
		o.TokenSecret = "bulwark-enrol"
	}
	if o.AdmissionTokenSecret == "" {
		o.AdmissionTokenSecret = "bulwark-admission-token"
	}
	if o.SecretsKeySecret == "" && o.Replicas > 1 {
		o.SecretsKeySecret = "bulwark-secrets-key"
	}
	if o.StorageSize == "" {
		o.StorageSize = "20Gi"
	}
	if o.NodeSensor == "" {
		o.NodeSensor = "auto"
	}
	if o.Server == "" && !o.NoServer {
		o.Server = fmt.Sprintf("https://%s.%s.svc:%d", serverName, o.Namespace, serverPort)
	}
	return o
}

// Validate says what is wrong with the options, before anything is
// written: names Kubernetes would refuse, a server URL agents could not
// use safely, more replicas than SQLite allows.
func (o ManifestOptions) Validate() error {
	o = o.withDefaults()
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", o.Namespace, strings.Join(errs, "; "))
	}
	for _, n := range []struct{ what, v string }{
		{"enrolment token Secret", o.TokenSecret}, {"admission token Secret", o.AdmissionTokenSecret}, {"TLS Secret", o.TLSSecret}, {"database Secret", o.DatabaseSecret},
		{"secrets key Secret", o.SecretsKeySecret}, {"server CA ConfigMap", o.ServerCAConfigMap}, {"storage class", o.StorageClass},
	} {
		if n.v == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(n.v); len(errs) > 0 {
			return fmt.Errorf("%s %q: %s", n.what, n.v, strings.Join(errs, "; "))
		}
	}
	if o.Image == "" || strings.ContainsAny(o.Image, " \t\n\"'") {
		return fmt.Errorf("image %q: want a reference such as ghcr.io/bulwarkdev/bulwark@sha256:…", o.Image)
	}
	if o.Server == "" {
		return fmt.Errorf("no server URL: give --server when the server runs outside the cluster")
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("server %q: want https://HOST[:PORT]", o.Server)
	}
	if u.Scheme != "https" {
		// Agents send their credential on every request.
		return fmt.Errorf("server %q: agents talk to the server over https only", o.Server)
	}
	if o.Replicas < 1 {
		return fmt.Errorf("replicas %d: want 1 or more", o.Replicas)
	}
	if o.Replicas > 1 && o.DatabaseSecret == "" && !o.NoServer {
		return fmt.Errorf("%d server replicas need a PostgreSQL database (--database-secret): the default SQLite store belongs to one process", o.Replicas)
	}
	if _, err := resource.ParseQuantity(o.StorageSize); err != nil {
		return fmt.Errorf("storage size %q: %v", o.StorageSize, err)
	}
	if o.NodeSensor != "auto" && o.NodeSensor != "proc" {
		return fmt.Errorf("node sensor %q: want auto (eBPF, else /proc) or proc", o.NodeSensor)
	}
	if o.ClusterID != "" && len(validation.IsDNS1123Subdomain(strings.ToLower(o.ClusterID))) > 0 {
		return fmt.Errorf("cluster id %q: want the kube-system namespace's UID", o.ClusterID)
	}
	return admission.ManifestOptions{FailurePolicy: o.AdmissionFailurePolicy}.Validate()
}

// doc is one object with the comment printed above it.
type doc struct {
	why string
	obj any
}

// Manifests renders every object as one multi-document YAML stream, each
// with a comment saying why it is as it is. The admission webhook's
// objects come from admission.Manifests, unchanged.
func Manifests(o ManifestOptions) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	o = o.withDefaults()
	var docs []doc
	docs = append(docs, namespaceDocs(o)...)
	if !o.NoServer {
		docs = append(docs, serverDocs(o)...)
	}
	docs = append(docs, clusterAgentDocs(o)...)
	docs = append(docs, nodeAgentDocs(o)...)
	docs = append(docs, networkDocs(o)...)
	var b strings.Builder
	fmt.Fprintf(&b, "# Bulwark in namespace %s: generated by `bulwark deploy manifests`.\n", o.Namespace)
	fmt.Fprintf(&b, "# Secrets are referenced, never written here; create them first:\n")
	fmt.Fprintf(&b, "#   kubectl -n %s create secret generic %s --from-literal=token=\"$(bulwark token create --scope enroll --expires 24h ...)\"\n", o.Namespace, o.TokenSecret)
	fmt.Fprintf(&b, "#   (an enrolment token unbound, or bound by id: --resource cluster/$(kubectl get ns kube-system -o jsonpath='{.metadata.uid}');\n")
	fmt.Fprintf(&b, "#   the node agents' reports name the cluster by id only)\n")
	if !o.NoServer {
		fmt.Fprintf(&b, "#   kubectl -n %s create secret tls %s --cert=tls.crt --key=tls.key   # for %s\n", o.Namespace, o.TLSSecret, serverHost(o))
		if o.DatabaseSecret != "" {
			fmt.Fprintf(&b, "#   kubectl -n %s create secret generic %s --from-file=url=database-url.txt\n", o.Namespace, o.DatabaseSecret)
		}
		if o.SecretsKeySecret != "" {
			fmt.Fprintf(&b, "#   kubectl -n %s create secret generic %s --from-file=secrets.key   # 32 random bytes, shared by the replicas\n", o.Namespace, o.SecretsKeySecret)
		}
	}
	if !o.NoAdmission {
		fmt.Fprintf(&b, "#   kubectl -n %s create secret generic %s --from-literal=token=\"$(bulwark token create --scope read ...)\"   # the admission webhook's API token\n", o.Namespace, o.AdmissionTokenSecret)
		fmt.Fprintf(&b, "#   the admission webhook's serving certificate: see its section below.\n")
	}
	for _, d := range docs {
		y, err := render(d.obj)
		if err != nil {
			return "", err
		}
		b.WriteString("---\n")
		for _, l := range strings.Split(strings.TrimSpace(d.why), "\n") {
			b.WriteString("# " + strings.TrimSpace(l) + "\n")
		}
		b.Write(y)
	}
	if !o.NoAdmission {
		b.WriteString("---\n")
		// The webhook takes its policy config and image verdicts from the
		// server, like the agents: one place to manage them.
		b.WriteString(admission.Manifests(admission.ManifestOptions{Namespace: o.Namespace, Image: o.Image, FailurePolicy: o.AdmissionFailurePolicy,
			Server: o.Server, TokenSecret: o.AdmissionTokenSecret, ServerCAConfigMap: o.ServerCAConfigMap}))
	}
	return b.String(), nil
}

// render is the object's YAML without what the API server fills in
// (creationTimestamp: null, empty status).
func render(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec")
	}
	prune(m)
	return yaml.Marshal(m)
}

func prune(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if val == nil {
				delete(x, k)
				continue
			}
			if sub, ok := val.(map[string]any); ok && k == "status" && len(sub) == 0 {
				delete(x, k)
				continue
			}
			prune(val)
		}
	case []any:
		for _, e := range x {
			prune(e)
		}
	}
}

func serverHost(o ManifestOptions) string {
	u, err := url.Parse(o.Server)
	if err != nil {
		return o.Server
	}
	return u.Hostname()
}

// serverEgressPort is the port agents reach the server on.
func serverEgressPort(o ManifestOptions) int32 {
	u, _ := url.Parse(o.Server)
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return int32(n)
	}
	return 443
}

// inClusterServer: the agents' --server is this manifest's own Service.
func inClusterServer(o ManifestOptions) bool {
	return !o.NoServer && strings.HasPrefix(serverHost(o), serverName+"."+o.Namespace+".svc")
}

func meta(o ManifestOptions, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(name)}
}

func labels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bulwark"}
}

func selector(name string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func ptr[T any](v T) *T { return &v }

func namespaceDocs(o ManifestOptions) []doc {
	return []doc{{`The node agent reads the host (hostPID, host paths, capabilities): Pod Security
	"baseline" refuses it, so the namespace enforces "privileged" and warns and audits at
	"baseline"; everything else here also meets "restricted". Keep other workloads out of it.`,
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{
			"app.kubernetes.io/part-of":          "bulwark",
			"pod-security.kubernetes.io/enforce": "privileged",
			"pod-security.kubernetes.io/warn":    "baseline",
			"pod-security.kubernetes.io/audit":   "baseline",
		}}}}}
}

// restricted is the container security context of every workload but the
// node agent: Pod Security "restricted".
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false), Privileged: ptr(false), ReadOnlyRootFilesystem: ptr(true), RunAsNonRoot: ptr(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func nonRootPod() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(nonRoot)), RunAsGroup: ptr(int64(nonRoot)), FSGroup: ptr(int64(nonRoot)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

func quantity(s string) resource.Quantity { return resource.MustParse(s) }

func resources(cpuReq, memReq, cpuLim, memLim string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: quantity(cpuReq), corev1.ResourceMemory: quantity(memReq)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: quantity(cpuLim), corev1.ResourceMemory: quantity(memLim)},
	}
}

func secretVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: ptr(int32(0o440))}}}
}

func serverDocs(o ManifestOptions) []doc {
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(o, serverName), AutomountServiceAccountToken: ptr(false)}
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: meta(o, serverName), Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app.kubernetes.io/name": serverName},
		Ports: []corev1.ServicePort{{Name: "https", Port: serverPort, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}},
	}}
	args := []string{"--cache-dir=/var/lib/bulwark/cache", "server", "--data-dir=/var/lib/bulwark/data", fmt.Sprintf("--listen=:%d", serverPort),
		"--tls-cert=/etc/bulwark/tls/tls.crt", "--tls-key=/etc/bulwark/tls/tls.key"}
	mounts := []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/bulwark"}, {Name: "tls", MountPath: "/etc/bulwark/tls", ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"}}
	vols := []corev1.Volume{secretVolume("tls", o.TLSSecret), {Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(quantity("1Gi"))}}}}
	if o.DatabaseSecret != "" {
		args = append(args, "--database-file=/etc/bulwark/database/url")
		mounts = append(mounts, corev1.VolumeMount{Name: "database", MountPath: "/etc/bulwark/database", ReadOnly: true})
		vols = append(vols, secretVolume("database", o.DatabaseSecret))
	}
	if o.SecretsKeySecret != "" {
		args = append(args, "--secrets-key-file=/etc/bulwark/secrets-key/secrets.key")
		mounts = append(mounts, corev1.VolumeMount{Name: "secrets-key", MountPath: "/etc/bulwark/secrets-key", ReadOnly: true})
		vols = append(vols, secretVolume("secrets-key", o.SecretsKeySecret))
	}
	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("https"), Scheme: corev1.URISchemeHTTPS}},
			PeriodSeconds: period, FailureThreshold: 3}
	}
	pvc := corev1.PersistentVolumeClaim{TypeMeta: typeMeta("v1", "PersistentVolumeClaim"), ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: quantity(o.StorageSize)}}}}
	if o.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr(o.StorageClass)
	}
	sts := &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", "StatefulSet"), ObjectMeta: meta(o, serverName), Spec: appsv1.StatefulSetSpec{
		Replicas: ptr(int32(o.Replicas)), ServiceName: serverName, Selector: selector(serverName),
		PodManagementPolicy: appsv1.ParallelPodManagement,
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(serverName)}, Spec: corev1.PodSpec{
			ServiceAccountName: serverName, AutomountServiceAccountToken: ptr(false), SecurityContext: nonRootPod(),
			TerminationGracePeriodSeconds: ptr(int64(30)),
			Containers: []corev1.Container{{Name: "server", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent, Args: args,
				Ports:          []corev1.ContainerPort{{Name: "https", ContainerPort: serverPort, Protocol: corev1.ProtocolTCP}},
				ReadinessProbe: probe("/readyz", 5), LivenessProbe: probe("/healthz", 10),
				Resources: resources("250m", "512Mi", "2", "2Gi"), SecurityContext: restricted(), VolumeMounts: mounts}},
			Volumes: vols,
		}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{pvc},
	}}
	pdb := &policyv1.PodDisruptionBudget{TypeMeta: typeMeta("policy/v1", "PodDisruptionBudget"), ObjectMeta: meta(o, serverName),
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector(serverName)}}
	pdbWhy := `One replica (SQLite): a drain may take it down (a PDB demanding it stay would block
	every drain); the agents' disk outboxes hold what they send meanwhile.`
	if o.Replicas > 1 {
		pdb.Spec.MinAvailable = ptr(intstr.FromInt32(int32(o.Replicas - 1)))
		pdbWhy = "Replicas over PostgreSQL: one at a time may be evicted, the others serve."
	} else {
		pdb.Spec.MaxUnavailable = ptr(intstr.FromInt32(1))
	}
	store := "SQLite on the volume (one replica)"
	if o.DatabaseSecret != "" {
		store = "PostgreSQL from Secret " + o.DatabaseSecret + " (key url, read from a file: never on the command line)"
	}
	return []doc{
		{"The server needs no Kubernetes API access: no token is mounted.", sa},
		{"The API and console; agents reach it at " + o.Server + ".", svc},
		{fmt.Sprintf(`The server: store %s; the vulnerability DB and
		the data directory (first admin password, sealing key) on its volume. TLS from Secret %s.`, store, o.TLSSecret), sts},
		{pdbWhy, pdb},
	}
}

// clusterAgentRules are list and watch on exactly what the cluster
// agent's informers watch (namespaces, nodes — the inventory's — and
// every kind audit k8s evaluates), and get on the one namespace that
// names the cluster.
func clusterAgentRules() []rbacv1.PolicyRule {
	byGroup := map[string][]string{"": {"namespaces", "nodes"}}
	var groups []string
	groups = append(groups, "")
	for _, k := range clusterscan.Kinds() {
		g := k.Resource.Group
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		if !slices.Contains(byGroup[g], k.Resource.Resource) {
			byGroup[g] = append(byGroup[g], k.Resource.Resource)
		}
	}
	var rules []rbacv1.PolicyRule
	for _, g := range groups {
		rs := byGroup[g]
		slices.Sort(rs)
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: rs, Verbs: []string{"list", "watch"}})
	}
	return append(rules, kubeSystemRule())
}

// kubeSystemRule reads the kube-system namespace, whose UID is the
// cluster's identity.
func kubeSystemRule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get"}}
}

func clusterRoleDocs(o ManifestOptions, name string, rules []rbacv1.PolicyRule) []doc {
	role := &rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(name)}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(name)},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: o.Namespace}}}
	return []doc{{"", role}, {"", binding}}
}

// agentCommon is what both agents' pods share: the enrolment token, the
// server's CA, the flags that name them.
func agentArgs(o ManifestOptions, kind, stateDir string) []string {
	args := []string{"--cache-dir=" + stateDir + "/cache", "agent", kind, "--server=" + o.Server,
		"--token-file=/etc/bulwark/enrol/token", "--state-dir=" + stateDir + "/state"}
	if o.ServerCAConfigMap != "" {
		args = append(args, "--server-ca=/etc/bulwark/server-ca/ca.crt")
	}
	return args
}

func agentVolumes(o ManifestOptions) ([]corev1.Volume, []corev1.VolumeMount) {
	// The token is optional: an agent that enrolled keeps its credential
	// in its state and needs the token no more (it expires within days).
	vols := []corev1.Volume{{Name: "enrol", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: o.TokenSecret,
		DefaultMode: ptr(int32(0o400)), Optional: ptr(true)}}}}
	mounts := []corev1.VolumeMount{{Name: "enrol", MountPath: "/etc/bulwark/enrol", ReadOnly: true}}
	if o.ServerCAConfigMap != "" {
		vols = append(vols, corev1.Volume{Name: "server-ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.ServerCAConfigMap}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "server-ca", MountPath: "/etc/bulwark/server-ca", ReadOnly: true})
	}
	return vols, mounts
}

func clusterAgentDocs(o ManifestOptions) []doc {
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(o, clusterName)}
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: typeMeta("v1", "PersistentVolumeClaim"), ObjectMeta: meta(o, clusterName+"-state"),
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: quantity("1Gi")}}}}
	if o.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr(o.StorageClass)
	}
	vols, mounts := agentVolumes(o)
	vols = append(vols, corev1.Volume{Name: "state", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: clusterName + "-state"}}})
	mounts = append(mounts, corev1.VolumeMount{Name: "state", MountPath: "/var/lib/bulwark-agent"})
	dep := &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: meta(o, clusterName), Spec: appsv1.DeploymentSpec{
		Replicas: ptr(int32(1)), Selector: selector(clusterName),
		// One agent per cluster, and its volume is ReadWriteOnce.
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(clusterName)}, Spec: corev1.PodSpec{
			ServiceAccountName: clusterName, SecurityContext: nonRootPod(),
			Containers: []corev1.Container{{Name: "agent", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				Args:      append(agentArgs(o, "cluster", "/var/lib/bulwark-agent"), "--memory-limit=160"),
				Resources: resources("100m", "128Mi", "1", "256Mi"), SecurityContext: restricted(), VolumeMounts: mounts}},
			Volumes: vols,
		}},
	}}
	pdb := &policyv1.PodDisruptionBudget{TypeMeta: typeMeta("policy/v1", "PodDisruptionBudget"), ObjectMeta: meta(o, clusterName),
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector(clusterName), MaxUnavailable: ptr(intstr.FromInt32(1))}}
	docs := []doc{{"The cluster agent reads the cluster through its service account only.", sa}}
	rd := clusterRoleDocs(o, clusterName, clusterAgentRules())
	rd[0].why = `Least privilege: list and watch exactly what the agent's informers watch (namespaces
	and the kinds audit k8s evaluates), get on kube-system (its UID names the cluster).
	No secrets, no configmaps, no writes.`
	rd[1].why = "Binds the cluster agent's role to its service account."
	docs = append(docs, rd...)
	return append(docs,
		doc{"The cluster agent's credential and outbox survive a restart (the enrolment token expires).", pvc},
		doc{"The cluster agent: informers, policy results, running images; one replica.", dep},
		doc{`One replica: a drain may stop it briefly; it resyncs the whole cluster on start.`, pdb},
	)
}

func nodeAgentDocs(o ManifestOptions) []doc {
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(o, nodeName), AutomountServiceAccountToken: ptr(o.ClusterID == "")}
	args := append(agentArgs(o, "node", "/var/lib/bulwark-agent"), "--root=/host", "--proc=/proc")
	if o.ClusterID != "" {
		args = append(args, "--cluster-id="+o.ClusterID)
	}
	if o.NodeSensor == "proc" {
		args = append(args, "--sensor=proc")
	}
	if o.NodeAuditd {
		args = append(args, "--auditd=/host/var/log/audit/audit.log")
	}
	vols, mounts := agentVolumes(o)
	hostDir := func(name, path string, t corev1.HostPathType, readOnly bool) {
		vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: ptr(t)}}})
		mp := "/host" + path
		if name == "state" {
			mp = "/var/lib/bulwark-agent"
		}
		if name == "tracefs" {
			mp = path
		}
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: mp, ReadOnly: readOnly})
	}
	hostDir("state", "/var/lib/bulwark-agent", corev1.HostPathDirectoryOrCreate, false)
	// What the CIS node checks read (kubelet, etcd and distribution files,
	// os-release, systemd units), read-only. Not /run: a runtime's socket
	// on a read-only mount still accepts connections (root on the node).
	hostDir("host-etc", "/etc", corev1.HostPathDirectory, true)
	hostDir("host-var-lib", "/var/lib", corev1.HostPathDirectory, true)
	hostDir("host-usr-lib", "/usr/lib", corev1.HostPathDirectory, true)
	if o.NodeAuditd {
		hostDir("host-audit", "/var/log/audit", corev1.HostPathDirectory, true)
	}
	caps := []corev1.Capability{"DAC_READ_SEARCH", "SYS_PTRACE"}
	capWhy := `DAC_READ_SEARCH reads host files that are not root's (etcd's data directory);
	SYS_PTRACE reads other processes' /proc entries (exe, fds: the /proc scanner).`
	if o.NodeSensor == "auto" {
		caps = append(caps, "BPF", "PERFMON", "SYS_RESOURCE")
		capWhy += `
		BPF and PERFMON load the eBPF sensor and attach its tracepoints (Linux 5.8+; on an older
		kernel or a runtime whose default seccomp profile predates these capabilities the
		sensor cannot load and the agent falls back to /proc scanning, logged); SYS_RESOURCE
		lifts the locked-memory limit BPF maps need before Linux 5.11. Host tracefs is mounted
		read-only so no mount (SYS_ADMIN) is needed. Not privileged: nothing here needs the
		devices, every capability or writable host paths (--node-sensor=proc drops BPF).`
		hostDir("tracefs", "/sys/kernel/tracing", corev1.HostPathDirectory, true)
	}
	sc := restricted()
	sc.RunAsNonRoot, sc.RunAsUser = ptr(false), ptr(int64(0))
	sc.Capabilities.Add = caps
	ds := &appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1", "DaemonSet"), ObjectMeta: meta(o, nodeName), Spec: appsv1.DaemonSetSpec{
		Selector: selector(nodeName),
		UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromString("10%"))}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(nodeName)}, Spec: corev1.PodSpec{
			ServiceAccountName: nodeName, AutomountServiceAccountToken: ptr(o.ClusterID == ""),
			// The host's processes (/proc scanning, the kubelet's command line).
			HostPID: true,
			// Every node, control-plane and tainted ones included.
			Tolerations:     []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "agent", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent, Args: args,
				Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
					// The run-time engine's heap stays near its steady state.
					{Name: "GOMEMLIMIT", Value: "100MiB"}},
				Resources: resources("50m", "64Mi", "500m", "192Mi"), SecurityContext: sc, VolumeMounts: mounts}},
			Volumes: vols,
		}},
	}}
	docs := []doc{{"The node agent's service account: with --cluster-id it has no API access at all.", sa}}
	if o.ClusterID == "" {
		rd := clusterRoleDocs(o, nodeName, []rbacv1.PolicyRule{kubeSystemRule()})
		rd[0].why = "The node agent reads one object: namespace kube-system, whose UID names its cluster."
		rd[1].why = "Binds the node agent's role to its service account."
		docs = append(docs, rd...)
	}
	return append(docs, doc{`The node agent on every node: hostPID and read-only host paths; root in the pod
	(the host files it checks are root's 0600 files) with all capabilities dropped but:
	` + capWhy + `
	A DaemonSet needs no PodDisruptionBudget: drains do not evict its pods.`, ds})
}

// networkDocs: default deny in the namespace, then each workload's own
// traffic.
func networkDocs(o ManifestOptions) []doc {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p corev1.Protocol, n int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr(p), Port: ptr(intstr.FromInt32(n))}
	}
	dns := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(udp, 53), port(tcp, 53)}}
	// The API server's Service (443) is DNATed to its endpoints (6443 on
	// most installs): policies see the endpoint's port.
	apiServer := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 443), port(tcp, 6443)}}
	toServer := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, serverEgressPort(o))}}
	if inClusterServer(o) {
		toServer = networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, serverPort)},
			To: []networkingv1.NetworkPolicyPeer{{PodSelector: selector(serverName)}}}
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	np := func(name string, sel metav1.LabelSelector, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: meta(o, name),
			Spec: networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: both, Ingress: in, Egress: out}}
	}
	docs := []doc{{"Nothing in the namespace talks or is talked to unless a policy below says so.",
		np("bulwark-default-deny", metav1.LabelSelector{}, nil, nil)}}
	if !o.NoServer {
		out := []networkingv1.NetworkPolicyEgressRule{dns,
			// Vulnerability feeds and registries are HTTPS (80 for the few
			// feeds that redirect); add a rule for a registry on another port.
			{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 443), port(tcp, 80)}}}
		if o.DatabaseSecret != "" {
			out = append(out, networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 5432)}})
		}
		docs = append(docs, doc{`The server: its API port from anywhere (people, agents in and outside the cluster);
		out: DNS, HTTPS to the feeds and registries` + map[bool]string{true: ", PostgreSQL", false: ""}[o.DatabaseSecret != ""] + ".",
			np(serverName, *selector(serverName), []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(tcp, serverPort)}}}, out)})
	}
	docs = append(docs, doc{"The cluster agent: nothing in; out: DNS, the API server, the Bulwark server.",
		np(clusterName, *selector(clusterName), nil, []networkingv1.NetworkPolicyEgressRule{dns, apiServer, toServer})})
	nodeOut := []networkingv1.NetworkPolicyEgressRule{dns, toServer}
	if o.ClusterID == "" {
		nodeOut = append(nodeOut, apiServer)
	}
	docs = append(docs, doc{"The node agent: nothing in; out: DNS, the Bulwark server" + map[bool]string{true: ", the API server (the cluster's id, once)", false: ""}[o.ClusterID == ""] + ".",
		np(nodeName, *selector(nodeName), nil, nodeOut)})
	if !o.NoAdmission {
		docs = append(docs, doc{`The admission webhook: the API server calls it (its source address is not selectable,
		so from anywhere, on the webhook's port only); out: DNS, the API server (namespace labels),
		the Bulwark server (policy config, image verdicts).`,
			np("bulwark-admission", *selector("bulwark-admission"), []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(tcp, 8443)}}},
				[]networkingv1.NetworkPolicyEgressRule{dns, apiServer, toServer})})
	}
	return docs
}
