# Pod Security Standards (baseline) seLinuxOptions: the SELinux type is
# restricted to container_t, container_init_t, container_kvm_t and
# container_engine_t (policy 1.31+) or empty (input.pss.seLinuxOptions.types,
# by version), and a custom SELinux user or role is forbidden, at pod and
# container level.
package bulwark.policies.pss_selinux_options

metadata := {
	"id": "BW-PSS-SELINUX-OPTIONS",
	"title": "Pods must not set custom SELinux options",
	"severity": "medium",
	"description": "A custom SELinux type, user or role (spc_t, unconfined_t, …) lifts the label-based confinement of the container.",
	"remediation": "Remove seLinuxOptions.user and seLinuxOptions.role and use one of the container_t, container_init_t, container_kvm_t, container_engine_t types, or none.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "seLinuxOptions",
}

# setters lists each place that can carry seLinuxOptions: [who, path, options].
setters contains ["pod", sprintf("%s.securityContext.seLinuxOptions", [input.pod.path]), opts] if {
	opts := input.pod.spec.securityContext.seLinuxOptions
	is_object(opts)
}

setters contains [sprintf("container %q", [c.name]), sprintf("%s.securityContext.seLinuxOptions", [c._path]), opts] if {
	some c in input.containers
	opts := c.securityContext.seLinuxOptions
	is_object(opts)
}

violation contains {"msg": sprintf("%s must not set securityContext.seLinuxOptions.type to %q", [who, t]), "path": sprintf("%s.type", [path])} if {
	some [who, path, opts] in setters
	t := object.get(opts, "type", "")
	not input.pss.seLinuxOptions.types[t]
}

violation contains {"msg": sprintf("%s must not set securityContext.seLinuxOptions.%s", [who, field]), "path": sprintf("%s.%s", [path, field])} if {
	some [who, path, opts] in setters
	some field in ["user", "role"]
	object.get(opts, field, "") != ""
}
