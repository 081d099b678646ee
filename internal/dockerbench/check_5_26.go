package dockerbench

import (
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.26 Ensure that the container is restricted from acquiring additional privileges (Automated, Level 1).
// no-new-privileges stops setuid/setgid binaries and file capabilities from
// raising a process's privileges inside the container. Audit: the daemon's
// no-new-privileges default, else no-new-privileges in each running
// container's HostConfig.SecurityOpt.
func init() {
	register(Control{ID: "5.26", Title: "Ensure that the container is restricted from acquiring additional privileges", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Start containers with --security-opt no-new-privileges, or set \"no-new-privileges\": true in /etc/docker/daemon.json to make it the default.",
		Check:       checkNoNewPrivileges})
}

// Differs from docker-bench-security: it greps for the word anywhere in
// SecurityOpt, so no-new-privileges=false passes; we parse the value.
func checkNoNewPrivileges(s *Snapshot) Result {
	if len(ctrRunning(s)) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	if vs := s.Daemon.Options["no-new-privileges"]; len(vs) > 0 {
		if v := strings.ToLower(strings.TrimSpace(vs[len(vs)-1])); v != "false" && v != "0" {
			return Result{Status: Pass, Evidence: []string{"dockerd: no-new-privileges enabled for all containers"}}
		}
	}
	res := ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		set := false
		for _, o := range hc.SecurityOpt {
			if k, v := ctrSecurityOpt(o); k == "no-new-privileges" {
				v = strings.ToLower(v)
				set = v == "" || v == "true" || v == "1"
			}
		}
		if !set {
			return []string{"HostConfig.SecurityOpt lacks no-new-privileges"}
		}
		return nil
	})
	if res.Status == Fail && s.Errors[SourceDaemon] != "" {
		// The daemon-wide default could not be read: it might be on.
		res.Status = Warn
		res.Evidence = append(res.Evidence, "daemon configuration unavailable ("+s.Errors[SourceDaemon]+"): cannot tell whether dockerd sets no-new-privileges for all containers")
	}
	return res
}
