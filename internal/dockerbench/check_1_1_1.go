package dockerbench

import (
	"fmt"
	"path"
)

// 1.1.1 Ensure a separate partition for containers has been created (Automated, Level 1).
// Rationale: images and containers filling /var/lib/docker must not fill the
// root filesystem. Audit: Snapshot.Mounts has a mount point exactly at
// DockerRootDir (its parent with userns-remap, as docker-bench does).
func init() {
	register(Control{ID: "1.1.1", Title: "Ensure a separate partition for containers has been created", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceMounts},
		Remediation: "Put Docker's data root (/var/lib/docker or the configured data-root) on its own partition or logical volume, e.g. with LVM, and mount it there before starting dockerd.",
		Check:       checkHostSeparatePartition})
}

func checkHostSeparatePartition(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	root, note := hostDefaultRootDir, " (DockerRootDir unknown, assumed)"
	if s.Info != nil && s.Info.DockerRootDir != "" {
		root, note = s.Info.DockerRootDir, ""
		if _, userns := hostSecurityOption(s, "userns"); userns {
			// With userns-remap the root dir is <data-root>/<uid>.<gid>.
			root = path.Dir(path.Clean(root))
		}
	}
	if len(s.Mounts) == 0 {
		return Result{Status: Warn, Evidence: []string{"no mount table collected; cannot tell whether " + root + " is a separate partition"}}
	}
	m, ok := hostMountOf(s.Mounts, root)
	switch {
	case ok && path.Clean(m.MountPoint) == path.Clean(root):
		return Result{Status: Pass, Evidence: []string{fmt.Sprintf("%s%s is a mount point (%s %s)", root, note, m.FSType, m.Source)}}
	case ok:
		return Result{Status: Fail, Evidence: []string{fmt.Sprintf("%s%s is not a separate partition: it is on the %s filesystem (%s %s)", root, note, m.MountPoint, m.FSType, m.Source)}}
	}
	return Result{Status: Fail, Evidence: []string{root + note + " is not a mount point"}}
}
