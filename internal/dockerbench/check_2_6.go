package dockerbench

// 2.6 Ensure aufs storage driver is not used (Automated, Level 1).
// Rationale: aufs is unmaintained, out of the mainline kernel and has known
// crashes. Audit: Info.Driver is not aufs.
func init() {
	register(Control{ID: "2.6", Title: "Ensure aufs storage driver is not used", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: `Switch to the overlay2 storage driver ("storage-driver": "overlay2" in /etc/docker/daemon.json); export what you need first, as images and containers of the old driver are not carried over.`,
		Check:       checkDaemonNoAufs})
}

func checkDaemonNoAufs(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"engine info not collected"}}
	}
	if s.Info.Driver == "aufs" {
		return Result{Status: Fail, Evidence: []string{"Info.Driver=aufs"}}
	}
	return Result{Status: Pass, Evidence: []string{"Info.Driver=" + s.Info.Driver}}
}
