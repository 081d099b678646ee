// Package event is the one event model of Bulwark's run-time detection.
// Every source (Kubernetes audit, Docker engine, eBPF, /proc scanning, Linux
// audit, Falco) turns what it reads into an Event; the rule engine evaluates
// rules over Events only. JSON field names are also the names CEL rule
// conditions use (evt.process.args, evt.k8s.verb, evt.container.privileged),
// and rule test cases are written as Events in this JSON shape.
package event

import (
	"context"
	"encoding/json"
	"time"
)

// Source names where an event came from.
type Source string

const (
	SourceK8sAudit Source = "k8s-audit"
	SourceDocker   Source = "docker"
	SourceEBPF     Source = "ebpf"
	SourceProc     Source = "proc"
	SourceAuditd   Source = "auditd"
	SourceFalco    Source = "falco"
)

// Kind says what happened.
type Kind string

const (
	// KindK8sAudit is one audit.k8s.io/v1 Event (stage ResponseComplete or
	// Panic; sources drop the other stages so a request counts once).
	KindK8sAudit Kind = "k8s.audit"
	// KindProcessExec is a process image replaced by execve/execveat.
	KindProcessExec Kind = "process.exec"
	// KindNetConnect is an outbound connect(2) (or an established outbound
	// socket seen by /proc scanning).
	KindNetConnect Kind = "net.connect"
	// KindFile is an operation on a watched path; File.Op says which.
	KindFile Kind = "file"
	// KindNamespace is a process creating Linux namespaces (unshare(2),
	// clone(2), clone3(2): Action names the call); Process.Namespaces
	// lists them.
	KindNamespace Kind = "process.namespace"
	// KindContainer is a Docker container lifecycle or exec event; Action
	// holds the engine's action (create, start, exec_create, exec_start, die, …).
	KindContainer Kind = "container"
	// KindImage is a Docker image event (pull, import, tag, delete, build).
	KindImage Kind = "image"
	// KindNetwork and KindVolume are Docker network and volume events.
	KindNetwork Kind = "network"
	KindVolume  Kind = "volume"
	// KindFalco is an alert from Falco's JSON output, carried through.
	KindFalco Kind = "falco"
)

// Event is one observed thing. Only the sub-objects that apply are set.
type Event struct {
	Time   time.Time `json:"time"`
	Source Source    `json:"source"`
	Kind   Kind      `json:"kind"`
	// Action refines Kind: the Docker action, the audit verb, the file op.
	Action string `json:"action,omitempty"`
	// Host is the node or host name where it happened; Cluster the cluster
	// name an audit source was configured with.
	Host    string `json:"host,omitempty"`
	Cluster string `json:"cluster,omitempty"`

	Process   *Process   `json:"process,omitempty"`
	Net       *Conn      `json:"net,omitempty"`
	File      *File      `json:"file,omitempty"`
	Container *Container `json:"container,omitempty"`
	K8s       *K8sAudit  `json:"k8s,omitempty"`
	Falco     *Falco     `json:"falco,omitempty"`
	// Object is the Docker object (image, network, volume) an engine event
	// is about; container events use Container instead.
	Object *Object `json:"object,omitempty"`

	// Raw is the record as read (audit event JSON, Falco line, auditd
	// records), kept for evidence. Sources may truncate it.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Process is the process that did it (for KindProcessExec, the new image).
type Process struct {
	PID  int `json:"pid,omitempty"`
	PPID int `json:"ppid,omitempty"`
	// UID and EUID are -1 when unknown.
	UID  int    `json:"uid"`
	EUID int    `json:"euid"`
	User string `json:"user,omitempty"`
	// Exe is the executable's full path; Name its base name (comm).
	Exe     string   `json:"exe,omitempty"`
	Name    string   `json:"name,omitempty"`
	Args    []string `json:"args,omitempty"` // argv, argv[0] included
	Cmdline string   `json:"cmdline,omitempty"`
	Cwd     string   `json:"cwd,omitempty"`
	// Parent process, as far as known.
	ParentExe     string `json:"parent_exe,omitempty"`
	ParentName    string `json:"parent_name,omitempty"`
	ParentCmdline string `json:"parent_cmdline,omitempty"`
	// TTY says the process has a controlling terminal.
	TTY bool `json:"tty,omitempty"`
	// StdioSocket says stdin or stdout is a network socket (a reverse shell's
	// mark); StdioPeer is the remote address of that socket when known.
	StdioSocket bool   `json:"stdio_socket,omitempty"`
	StdioPeer   string `json:"stdio_peer,omitempty"`
	// CgroupPath is the process's cgroup (v2) path, from which the container
	// id is derived.
	CgroupPath string `json:"cgroup,omitempty"`
	// Namespaces are the namespaces a KindNamespace event creates: user,
	// mnt, pid, net, uts, ipc, cgroup, time.
	Namespaces []string `json:"namespaces,omitempty"`
}

// Conn is a network connection.
type Conn struct {
	Proto   string `json:"proto,omitempty"` // tcp, udp, tcp6…
	SrcIP   string `json:"src_ip,omitempty"`
	SrcPort int    `json:"src_port,omitempty"`
	DstIP   string `json:"dst_ip,omitempty"`
	DstPort int    `json:"dst_port,omitempty"`
}

// File is an operation on a file.
type File struct {
	Path string `json:"path"`
	// Op is open-read, open-write, unlink, rename, chmod, chown, utimes,
	// truncate.
	Op string `json:"op,omitempty"`
	// NewPath is the target of a rename or link.
	NewPath string `json:"new_path,omitempty"`
}

// Container is the container an event happened in or is about, with the
// engine's inspect data joined in where the source has it.
type Container struct {
	ID          string            `json:"id,omitempty"` // full 64-hex id
	Name        string            `json:"name,omitempty"`
	Image       string            `json:"image,omitempty"`
	ImageID     string            `json:"image_id,omitempty"`
	Privileged  bool              `json:"privileged,omitempty"`
	User        string            `json:"user,omitempty"`
	PidMode     string            `json:"pid_mode,omitempty"`
	NetworkMode string            `json:"network_mode,omitempty"`
	IpcMode     string            `json:"ipc_mode,omitempty"`
	CapAdd      []string          `json:"cap_add,omitempty"`
	Mounts      []Mount           `json:"mounts,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Namespace and Pod come from the kubelet's labels
	// (io.kubernetes.pod.namespace/name) when the container belongs to a pod.
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	// Exec is the command of an exec_create/exec_start event.
	Exec []string `json:"exec,omitempty"`
}

// Object is a Docker engine object other than a container: an image (ID is
// the image id or reference, Name the reference), a network or a volume.
// Attributes are the engine's event attributes (driver, type, container…).
type Object struct {
	Type       string            `json:"type"`
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Mount is one container mount.
type Mount struct {
	Type        string `json:"type,omitempty"` // bind, volume, tmpfs
	Source      string `json:"source"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"read_only,omitempty"`
}

// K8sAudit is one Kubernetes API-server audit event (audit.k8s.io/v1).
type K8sAudit struct {
	AuditID    string `json:"audit_id,omitempty"`
	Stage      string `json:"stage,omitempty"`
	Level      string `json:"level,omitempty"`
	Verb       string `json:"verb"`
	RequestURI string `json:"request_uri,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`

	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
	// ImpersonatedUser is set when the request impersonated someone.
	ImpersonatedUser string   `json:"impersonated_user,omitempty"`
	SourceIPs        []string `json:"source_ips,omitempty"`

	APIGroup    string `json:"api_group,omitempty"`
	APIVersion  string `json:"api_version,omitempty"`
	Resource    string `json:"resource,omitempty"` // plural: pods, secrets, clusterrolebindings
	Subresource string `json:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`

	// Code is the response status code (0 when the event carries none).
	Code        int               `json:"code,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	// RequestObject and ResponseObject are kept undecoded: most rules never
	// look at them, and decoding every pod spec would dominate the cost.
	RequestObject  json.RawMessage `json:"request_object,omitempty"`
	ResponseObject json.RawMessage `json:"response_object,omitempty"`

	object   map[string]any
	objectOK bool
}

// Object returns the request object (or, when the request carried none, the
// response object) decoded, or nil. It is decoded once and cached; an Event
// is owned by one goroutine at a time.
func (k *K8sAudit) Object() map[string]any {
	if k == nil {
		return nil
	}
	if !k.objectOK {
		k.objectOK = true
		raw := k.RequestObject
		if len(raw) == 0 {
			raw = k.ResponseObject
		}
		if len(raw) > 0 {
			var m map[string]any
			if json.Unmarshal(raw, &m) == nil {
				k.object = m
			}
		}
	}
	return k.object
}

// Falco is one alert from Falco's JSON output (json_output: true).
type Falco struct {
	Rule     string         `json:"rule"`
	Priority string         `json:"priority,omitempty"` // Emergency … Debug
	Output   string         `json:"output,omitempty"`
	Tags     []string       `json:"tags,omitempty"`
	Fields   map[string]any `json:"fields,omitempty"` // output_fields
	Hostname string         `json:"hostname,omitempty"`
}

// Emit receives events from a source. The event is owned by the receiver
// from then on; a source never touches it again.
type Emit func(*Event)

// Reader is an event source: it runs until ctx ends or it fails, handing
// every event it reads to emit. Malformed input is counted in Stats and
// logged, never fatal.
type Reader interface {
	Name() string
	Run(ctx context.Context, emit Emit) error
	Stats() Stats
}

// Stats are a source's counters.
type Stats struct {
	Events    uint64 `json:"events"`
	Malformed uint64 `json:"malformed"`
	Dropped   uint64 `json:"dropped,omitempty"`
	// Filtered counts valid input a source drops by design (audit stages
	// other than ResponseComplete/Panic, audit records of no interest).
	Filtered uint64 `json:"filtered,omitempty"`
}
