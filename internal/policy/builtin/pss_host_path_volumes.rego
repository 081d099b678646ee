# Pod Security Standards (baseline) hostPathVolumes: hostPath volumes are
# forbidden (spec.volumes[*].hostPath must be undefined).
package bulwark.policies.pss_host_path_volumes

metadata := {
	"id": "BW-PSS-HOST-PATH-VOLUMES",
	"title": "Pods must not mount hostPath volumes",
	"severity": "high",
	"description": "A hostPath volume exposes the node's filesystem to the pod: container runtime sockets, kubelet credentials, other pods' data.",
	"remediation": "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistentVolumeClaim volumes.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "hostPathVolumes",
}

violation contains {"msg": sprintf("volume %q must not use hostPath", [v.name]), "path": sprintf("%s.volumes[%d].hostPath", [input.pod.path, i])} if {
	some i, v in input.pod.spec.volumes
	v.hostPath != null
}
