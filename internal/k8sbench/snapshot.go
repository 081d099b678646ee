package k8sbench

import (
	"io/fs"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Component is a Kubernetes program found on a node.
type Component string

const (
	APIServer         Component = "kube-apiserver"
	ControllerManager Component = "kube-controller-manager"
	Scheduler         Component = "kube-scheduler"
	Etcd              Component = "etcd"
	Kubelet           Component = "kubelet"
	Proxy             Component = "kube-proxy"
)

// Proc is one component's command line and where it was read.
type Proc struct {
	Component Component
	PID       int    // 0 when read from a manifest or a mirror pod
	Origin    string // "pid 812", "manifest /etc/kubernetes/manifests/kube-apiserver.yaml", "pod kube-system/kube-apiserver-n1"
	Args      []string
	Flags     Flags
}

// Who names the process for evidence ("kube-apiserver (pid 812)").
func (p *Proc) Who() string { return string(p.Component) + " (" + p.Origin + ")" }

// FileRole names a file the node checks read, so layouts can put it anywhere.
type FileRole string

const (
	FileAPIServerManifest  FileRole = "apiserver-manifest"
	FileCMManifest         FileRole = "controller-manager-manifest"
	FileSchedulerManifest  FileRole = "scheduler-manifest"
	FileEtcdManifest       FileRole = "etcd-manifest"
	FileCNI                FileRole = "cni"
	FileEtcdDataDir        FileRole = "etcd-data-dir"
	FileAdminConf          FileRole = "admin-kubeconfig"
	FileSchedulerConf      FileRole = "scheduler-kubeconfig"
	FileCMConf             FileRole = "controller-manager-kubeconfig"
	FilePKI                FileRole = "pki"
	FileKubeletService     FileRole = "kubelet-service"
	FileProxyKubeconfig    FileRole = "proxy-kubeconfig"
	FileKubeletKubeconfig  FileRole = "kubelet-kubeconfig"
	FileClientCA           FileRole = "kubelet-client-ca"
	FileKubeletConfig      FileRole = "kubelet-config"
	FileAuditPolicy        FileRole = "audit-policy"
	FileEncryptionProvider FileRole = "encryption-provider-config"
)

// FileStat is one host file's owner and mode. Path is the host path (not
// prefixed with the root).
type FileStat struct {
	Path  string
	Mode  fs.FileMode
	UID   int
	GID   int
	Owner string // user name from the host's /etc/passwd, else the uid
	Group string
}

// Files are the stats of one role's files, and the paths that were looked
// for when none exists.
type Files struct {
	Stats  []FileStat
	Looked []string // candidate paths, for "not found" evidence
}

// Node is what the collector found on one node.
type Node struct {
	Name   string
	Root   string
	Layout string // kubeadm, rke2, k3s
	Procs  map[Component]*Proc
	// ProcError says why /proc could not be read: then a component without
	// a manifest is not known to be absent.
	ProcError string
	Files     map[FileRole]Files
	// Kubelet is the kubelet's effective configuration (flag > config
	// file > default), keyed by flag name; nil when no kubelet was found.
	Kubelet map[string]Setting
	// KubeletConfigPath is the config file in use ("" without --config).
	KubeletConfigPath string
	// ProxyConfig is kube-proxy's --config file, parsed, when it has one.
	ProxyConfig KubeletConfig
	// AuditPolicy and EncryptionConfig are the API server's files, read.
	AuditPolicy      []byte
	EncryptionConfig []byte
}

// Cluster is what the collector read from the API.
type Cluster struct {
	Name    string // --cluster-name, else the kubeconfig context's cluster
	Context string
	UID     string // the kube-system namespace's uid: the cluster's id
	Version string // /version gitVersion

	Namespaces          []corev1.Namespace
	Pods                []corev1.Pod
	ServiceAccounts     []corev1.ServiceAccount
	Services            []corev1.Service
	Nodes               []corev1.Node
	NetworkPolicies     []networkingv1.NetworkPolicy
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	ValidatingWebhooks  []admissionregistrationv1.ValidatingWebhookConfiguration
	ValidatingPolicies  int

	// Anonymous is the answer to an unauthenticated GET /api.
	Anonymous AnonymousProbe
	// APIServer is the API server's command line from its mirror pod in
	// kube-system (kubeadm, rke2), when visible; nil otherwise.
	APIServer *Proc
	// Vulnerable are the CVEs the feed lists for the cluster's version.
	Vulnerable []VersionFinding
	// CVEFeed names the data used ("bulwark DB built 2026-…"), for evidence.
	CVEFeed string
}

// AnonymousProbe is what an unauthenticated request got.
type AnonymousProbe struct {
	Done   bool
	Status int // HTTP status; 401 means anonymous auth is off
	Err    string
}

// Snapshot is everything the checks read. Checks never do I/O.
type Snapshot struct {
	Profile Profile
	// Node is nil when node checks were not asked for.
	Node *Node
	// Cluster is nil when API checks were not asked for.
	Cluster *Cluster
	// AllowedPorts for BW-K8S-CLUSTER-SERVICE-PORTS.
	AllowedPorts []int32
	// Missing maps a source that could not be collected to why ("no
	// kubeconfig", "pods: forbidden"); checks that need it are not run.
	Missing map[Source]string
	// Failed maps a source whose collection failed unexpectedly to the
	// error; checks that need it report status error.
	Failed map[Source]string
}

// apiserver returns the API server's command line from the node, else from
// its mirror pod.
func (s *Snapshot) apiserver() *Proc {
	if s.Node != nil && s.Node.Procs[APIServer] != nil {
		return s.Node.Procs[APIServer]
	}
	if s.Cluster != nil {
		return s.Cluster.APIServer
	}
	return nil
}
