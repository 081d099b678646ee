package dockerbench

import (
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.4 Ensure that Linux kernel capabilities are restricted within containers (Automated, Level 1).
// Every capability added beyond Docker's default set widens what a root
// process in the container can do to the host. Audit: HostConfig.CapAdd of
// each running container, ignoring capabilities Docker grants by default.
func init() {
	register(Control{ID: "5.4", Title: "Ensure that Linux kernel capabilities are restricted within containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Start containers with --cap-drop=all and add back only the capabilities they actually use with --cap-add; do not add capabilities beyond Docker's default set.",
		Check:       checkCapAdd})
}

// ctrDefaultCaps is Docker's default capability set: adding one of these
// changes nothing (docker-bench ignores them too).
var ctrDefaultCaps = map[string]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true, "MKNOD": true,
	"NET_BIND_SERVICE": true, "NET_RAW": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true, "SYS_CHROOT": true,
}

func checkCapAdd(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		var extra []string
		for _, c := range hc.CapAdd {
			n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
			if n == "" || ctrDefaultCaps[n] {
				continue
			}
			extra = append(extra, n)
		}
		if len(extra) == 0 {
			return nil
		}
		return []string{"HostConfig.CapAdd adds " + strings.Join(extra, ", ")}
	})
}
