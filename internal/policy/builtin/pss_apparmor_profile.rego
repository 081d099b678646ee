# Pod Security Standards (baseline) appArmorProfile: overriding or disabling
# the default AppArmor profile is forbidden. securityContext.appArmorProfile.type
# (pod and containers) must be RuntimeDefault, Localhost or undefined; the
# deprecated container.apparmor.security.beta.kubernetes.io/* annotations must
# be empty, runtime/default or localhost/*.
package bulwark.policies.pss_apparmor_profile

metadata := {
	"id": "BW-PSS-APPARMOR-PROFILE",
	"title": "Pods must not disable or override the default AppArmor profile",
	"severity": "medium",
	"description": "An Unconfined AppArmor profile removes the mandatory access control that limits what a compromised container can do on the node.",
	"remediation": "Remove appArmorProfile or set its type to RuntimeDefault or Localhost; remove unconfined container.apparmor.security.beta.kubernetes.io annotations.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "appArmorProfile",
}

annotation_prefix := "container.apparmor.security.beta.kubernetes.io/"

allowed_type(t) if t in {"RuntimeDefault", "Localhost"}

allowed_annotation(v) if v == ""

allowed_annotation("runtime/default")

allowed_annotation(v) if startswith(v, "localhost/")

violation contains {"msg": sprintf("pod must not set AppArmor profile type to %q", [t]), "path": sprintf("%s.securityContext.appArmorProfile.type", [input.pod.path])} if {
	p := input.pod.spec.securityContext.appArmorProfile
	p != null
	t := object.get(p, "type", "")
	not allowed_type(t)
}

violation contains {"msg": sprintf("container %q must not set AppArmor profile type to %q", [c.name, t]), "path": sprintf("%s.securityContext.appArmorProfile.type", [c._path])} if {
	some c in input.containers
	p := c.securityContext.appArmorProfile
	p != null
	t := object.get(p, "type", "")
	not allowed_type(t)
}

violation contains {"msg": sprintf("annotation %s must not set AppArmor profile to %q", [k, v]), "path": sprintf("%smetadata.annotations[%q]", [trim_suffix(input.pod.path, "spec"), k])} if {
	some k, v in input.pod.metadata.annotations
	startswith(k, annotation_prefix)
	not allowed_annotation(v)
}
