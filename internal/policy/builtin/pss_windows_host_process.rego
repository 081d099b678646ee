# Pod Security Standards (baseline) windowsHostProcess: Windows HostProcess
# containers are forbidden (securityContext.windowsOptions.hostProcess must be
# undefined or false at pod and container level).
package bulwark.policies.pss_windows_host_process

metadata := {
	"id": "BW-PSS-WINDOWS-HOST-PROCESS",
	"title": "Pods must not run Windows HostProcess containers",
	"severity": "medium",
	"description": "A Windows HostProcess container runs directly on the node with host access, the Windows equivalent of a privileged container.",
	"remediation": "Remove securityContext.windowsOptions.hostProcess or set it to false.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "windowsHostProcess",
}

violation contains {"msg": "pod must not set securityContext.windowsOptions.hostProcess=true", "path": sprintf("%s.securityContext.windowsOptions.hostProcess", [input.pod.path])} if {
	input.pod.spec.securityContext.windowsOptions.hostProcess == true
}

violation contains {"msg": sprintf("container %q must not set securityContext.windowsOptions.hostProcess=true", [c.name]), "path": sprintf("%s.securityContext.windowsOptions.hostProcess", [c._path])} if {
	some c in input.containers
	c.securityContext.windowsOptions.hostProcess == true
}
