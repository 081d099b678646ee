# Pod Security Standards (restricted) restrictedVolumes: inline volumes may
# only be configMap, csi, downwardAPI, emptyDir, ephemeral, image,
# persistentVolumeClaim, projected or secret. A volume with no source at all
# is admitted: the API server defaults it to emptyDir before admission (the
# reference's restricted/*/pass/restrictedvolumes0 has one).
package bulwark.policies.pss_restricted_volumes

metadata := {
	"id": "BW-PSS-RESTRICTED-VOLUMES",
	"title": "Pods must use only the allowed volume types",
	"severity": "medium",
	"description": "Volume types such as hostPath, nfs, iscsi or gitRepo reach storage outside the pod's control, or run code on the node, without a PersistentVolume's administrative review.",
	"remediation": "Use configMap, secret, projected, downwardAPI, emptyDir, ephemeral, image, csi or persistentVolumeClaim volumes; put other storage behind a PersistentVolume.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "restrictedVolumes",
}

allowed_sources := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
	"persistentVolumeClaim", "projected", "secret",
}

restricted_sources := [
	"hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs",
	"iscsi", "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
	"fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
	"photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
]

has(v, source) if {
	v[source] != null
}


volume_type(v) := t if {
	found := [s | some s in restricted_sources; has(v, s)]
	count(found) > 0
	t := found[0]
} else := "unknown"

violation contains {"msg": sprintf("volume %q must not use restricted volume type %q", [v.name, t]), "path": sprintf("%s.volumes[%d]", [input.pod.path, i])} if {
	some i, v in input.pod.spec.volumes
	# A volume's keys are its name and its source: walking them is
	# cheaper than probing every allowed source with a function.
	count({k | some k, val in v; val != null; allowed_sources[k]}) == 0
	some key, source in v # a source at all: the name is not one
	key != "name"
	source != null
	t := volume_type(v)
}
