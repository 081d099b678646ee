package dockerbench

import "fmt"

// 4.1 Ensure that a user for the container has been created (Automated, Level 1).
// A process running as root in a container is root on the host if it ever
// escapes. Audit: Config.User of every running container (the image's USER
// unless overridden with --user) is not empty, "root" or "0".
func init() {
	register(Control{ID: "4.1", Title: "Ensure that a user for the container has been created", Section: "Container Images and Build File", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Create a dedicated user in the image (useradd/adduser) and switch to it with USER in the Dockerfile; where an image cannot be changed, run it with --user UID:GID.",
		Check:       checkImageUserCreated})
}

// checkImageUserCreated follows docker-bench-security: it judges running
// containers, so a root image started with --user passes, and an unused
// image does not count.
// Differs from docker-bench-security: "root:<group>" and "0:<gid>" also
// fail (docker-bench compares the whole string and lets them pass), and no
// running containers is NotApplicable instead of INFO.
func checkImageUserCreated(s *Snapshot) Result {
	running := runningContainersForBench(s)
	if len(running) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{"no running containers"}}
	}
	var ev []string
	for _, c := range running {
		user, img := "", c.Image
		if c.Config != nil {
			user = c.Config.User
			if c.Config.Image != "" {
				img = c.Config.Image
			}
		}
		if !userIsRootForBench(user) {
			continue
		}
		what := fmt.Sprintf("Config.User=%q (runs as root)", user)
		if user == "" {
			what = "Config.User is empty (runs as root)"
		}
		ev = append(ev, fmt.Sprintf("container %s (image %s): %s", containerLabelForBench(c), img, what))
	}
	if len(ev) > 0 {
		return Result{Status: Fail, Evidence: ev}
	}
	return Result{Status: Pass}
}
