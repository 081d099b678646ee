package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// 5.6 Ensure sensitive host system directories are not mounted on containers (Automated, Level 1).
// A container with /, /etc, /proc and the like bind-mounted can read host
// secrets or, read-write, change the host. Audit: bind mounts of each
// running container whose host source is one of the sensitive directories.
func init() {
	register(Control{ID: "5.6", Title: "Ensure sensitive host system directories are not mounted on containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not bind-mount /, /boot, /dev, /etc, /lib, /proc, /sys or /usr from the host; mount only the specific files a container needs, read-only.",
		Check:       checkSensitiveHostDirs})
}

var ctrSensitiveDirs = map[string]bool{"/": true, "/boot": true, "/dev": true, "/etc": true, "/lib": true, "/proc": true, "/sys": true, "/usr": true}

// Differs from docker-bench-security: its pattern only matches read-write
// mounts (and also matches a sensitive path as the destination, e.g. a
// volume mounted at /etc); we flag bind mounts by their host source,
// read-only ones too, and state the mode.
func checkSensitiveHostDirs(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		var out []string
		for _, m := range c.Mounts {
			if m.Type != mount.TypeBind {
				continue
			}
			src := ctrCleanPath(m.Source)
			if !ctrSensitiveDirs[src] {
				continue
			}
			mode := "read-only"
			if m.RW {
				mode = "read-write"
			}
			out = append(out, fmt.Sprintf("host %s bind-mounted at %s (%s)", src, m.Destination, mode))
		}
		return out
	})
}
