package dockerbench

import "fmt"

// 4.7 Ensure update instructions are not used alone in the Dockerfile (Manual, Level 1).
// A cached "apt-get update" layer makes later installs use a stale index.
// Audit: image history entries that refresh a package index without
// installing in the same instruction.
func init() {
	register(Control{ID: "4.7", Title: "Ensure update instructions are not used alone in the Dockerfile", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Refresh the package index and install (with pinned versions) in the same RUN instruction, e.g. RUN apt-get update && apt-get install -y pkg=1.2, or build with --no-cache.",
		Check:       checkUpdateAlone})
}

// Differs from docker-bench-security: it lists every image whose history
// contains the word "update" anywhere (so "apt-get update && apt-get
// install" is listed too); we list only instructions that update without
// installing, one evidence line per history entry.
func checkUpdateAlone(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		for _, h := range img.History {
			if historyUpdateOnlyForBench(h.CreatedBy) {
				ev = append(ev, fmt.Sprintf("%s: history %q refreshes the package index without installing in the same instruction", imageLabelForBench(img), truncateForBench(h.CreatedBy, 160)))
			}
		}
	}
	if len(ev) == 0 {
		ev = []string{fmt.Sprintf("no update-only instruction in the history of %d images", len(s.Images))}
	}
	return Result{Status: Info, Evidence: ev}
}
