package dockerbench

import (
	"io/fs"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/plugin"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

// Snapshot is everything the controls look at, collected once. Every part
// that could not be collected leaves its field empty and an entry in Errors
// under the source's name, so controls that need it report "could not
// evaluate: <why>" instead of a verdict, and the others still run.
type Snapshot struct {
	// Root is where the host's filesystem is mounted ("/" on the host).
	Root string

	// Engine facts, from the Docker Engine API.
	Info       *system.Info
	Version    *system.VersionResponse
	Containers []container.InspectResponse // all containers, running or not
	Images     []ImageFacts
	Networks   []network.Inspect
	Plugins    []plugin.Plugin
	Swarm      *swarm.Swarm // nil unless this node is a swarm manager
	// SwarmServices / secrets etc. are only listed on managers.
	SwarmServices []swarm.Service

	// Daemon configuration: daemon.json merged with the dockerd command
	// line (flags win, as dockerd refuses conflicting ones anyway).
	Daemon DaemonConfig

	// Host files, keyed by absolute host path ("/etc/docker/daemon.json"),
	// stat'ed under Root without following the final symlink.
	Files map[string]FileFacts
	// Systemd units for docker.service and docker.socket, found the way
	// systemd would (/etc/systemd/system over /run over /usr/lib, /lib);
	// keyed by unit name, value is the host path of the unit file.
	Units map[string]string
	// Located says where the files the section 1.1 controls name by
	// their Docker-package paths ("/usr/bin/dockerd", "/run/containerd")
	// really are on this host, keyed by that path; nil when not collected.
	Located map[string]Location
	// AuditRules are the audit rules in effect: `auditctl -l` when it works,
	// else the rule files under /etc/audit. One rule per line.
	AuditRules []string
	// Mounts lists mount points (from <root>/proc/self/mountinfo, or
	// /proc/1/mountinfo), used to find whether /var/lib/docker is its own
	// partition.
	Mounts []Mount
	// DockerGroup lists the members of the docker group.
	DockerGroup []string
	// Env carries host facts such as the newest Docker version the user
	// says is current (for 1.2.2), from options.
	KnownLatestDocker string

	// Errors says which sources could not be read, and why.
	Errors map[string]string
}

// Sources named in Snapshot.Errors.
const (
	SourceEngine     = "engine"
	SourceContainers = "containers"
	SourceImages     = "images"
	SourceNetworks   = "networks"
	SourcePlugins    = "plugins"
	SourceSwarm      = "swarm"
	SourceDaemon     = "daemon-config"
	SourceFiles      = "files"
	SourceAudit      = "audit"
	SourceMounts     = "mounts"
	SourceGroup      = "docker-group"
)

// ImageFacts is one image with its history.
type ImageFacts struct {
	Inspect image.InspectResponse
	History []image.HistoryResponseItem
}

// FileFacts describes one host path.
type FileFacts struct {
	Exists bool
	Mode   fs.FileMode
	UID    int
	GID    int
	// User/Group are resolved from <root>/etc/passwd and /etc/group when
	// possible ("root"), else the numeric id.
	User  string
	Group string
	// Target is the symlink target when the path is a symlink.
	Target string
	// Err is set when the path exists but could not be stat'ed.
	Err string
}

// DaemonConfig is the effective dockerd configuration.
type DaemonConfig struct {
	// Found is false when neither daemon.json nor a running dockerd was
	// found.
	Found bool
	// Path of daemon.json (host path), "" if absent.
	File string
	// JSON holds daemon.json decoded; nil if absent or invalid.
	JSON map[string]any
	// JSONError is set when daemon.json exists but is not valid JSON.
	JSONError string
	// Args is the dockerd command line (argv[1:]) from /proc, if running.
	Args []string
	// Options merges both into flag names without dashes, as daemon.json
	// spells them ("icc", "log-level", "insecure-registries", "tlsverify"):
	// each option's values in order (repeated flags give several).
	Options map[string][]string
}

// Mount is one mount point.
type Mount struct {
	MountPoint string
	Source     string
	FSType     string
	Options    string
}
