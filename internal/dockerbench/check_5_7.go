package dockerbench

import (
	"fmt"
	"regexp"
	"strings"
)

// 5.7 Ensure sshd is not run within containers (Automated, Level 1).
// An SSH daemon in a container is another service to patch, another set of
// keys to manage and a way around docker exec's audit trail. Audit: the
// process each running container was started with (Path, Args).
func init() {
	register(Control{ID: "5.7", Title: "Ensure sshd is not run within containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Remove the SSH daemon from the image and use docker exec (or a debug container) to get a shell in a running container.",
		Check:       checkSSHD})
}

var ctrSSHDRE = regexp.MustCompile(`(^|[/\s"'])sshd($|[\s"';&])`)

// Differs from docker-bench-security: it runs `docker exec <c> ps -el` and
// counts sshd processes. We never exec into containers, so we only see the
// command a container was started with: Fail when that command runs sshd,
// otherwise Warn, because a supervisor or script may still start sshd.
func checkSSHD(s *Snapshot) Result {
	cs := ctrRunning(s)
	if len(cs) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	var bad []string
	for _, c := range cs {
		cmd := append([]string{c.Path}, c.Args...)
		if c.Path == "" && c.Config != nil {
			cmd = append(append([]string(nil), c.Config.Entrypoint...), c.Config.Cmd...)
		}
		for _, a := range cmd {
			if ctrSSHDRE.MatchString(a) {
				bad = append(bad, fmt.Sprintf("container %s: runs sshd (command %q)", ctrName(c), strings.Join(cmd, " ")))
				break
			}
		}
	}
	if len(bad) > 0 {
		return Result{Status: Fail, Evidence: bad}
	}
	return Result{Status: Warn, Evidence: []string{
		fmt.Sprintf("no running container is started with sshd as its command (%d checked)", len(cs)),
		"processes inside containers were not listed (bulwark does not exec into containers); confirm with `docker exec <container> ps -el`",
	}}
}
