package dockerbench

// 4.2 Ensure that containers use only trusted base images (Manual, Level 1).
// Images from unknown publishers may carry malware or stale packages.
// Audit: the images on the host and where they came from (tags, digests).
func init() {
	register(Control{ID: "4.2", Title: "Ensure that containers use only trusted base images", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Build only from base images you have vetted (official or your own, pinned by digest), pull through a registry you control, and review each image's history before use.",
		Check:       checkTrustedBaseImages})
}

func checkTrustedBaseImages(s *Snapshot) Result {
	if len(s.Images) == 0 {
		return Result{Status: Info, Evidence: []string{"no images on this host"}}
	}
	var ev []string
	for _, img := range s.Images {
		line := imageLabelForBench(img) + ": review its origin"
		if len(img.Inspect.RepoDigests) == 0 {
			line += " (no repo digest: built locally or loaded from a file)"
		} else {
			line += " (from " + compactNamesForBench(img.Inspect.RepoDigests)[0] + ")"
		}
		ev = append(ev, line)
	}
	return Result{Status: Info, Evidence: ev}
}
