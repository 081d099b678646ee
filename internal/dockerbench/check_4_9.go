package dockerbench

import "fmt"

// 4.9 Ensure that COPY is used instead of ADD in Dockerfiles (Manual, Level 1).
// ADD fetches URLs and unpacks archives, which can pull in content that
// was never reviewed. Audit: image history entries made by ADD.
func init() {
	register(Control{ID: "4.9", Title: "Ensure that COPY is used instead of ADD in Dockerfiles", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Use COPY for local files; where a remote file or archive is needed, download and verify it explicitly in a RUN step.",
		Check:       checkCopyNotAdd})
}

// Like docker-bench-security, the oldest history entry (the base image's
// root filesystem, always "ADD file:… in /") is ignored.
// Differs from docker-bench-security: it greps "ADD" anywhere in a line
// (so ENV ADDRESS=… matches); we match the ADD instruction only, and list
// each entry, including on untagged images.
func checkCopyNotAdd(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		// History is newest first; the last entry is the base layer.
		for i, h := range img.History {
			if i == len(img.History)-1 {
				break
			}
			if historyUsesADDForBench(h.CreatedBy) {
				ev = append(ev, fmt.Sprintf("%s: history %q uses ADD", imageLabelForBench(img), truncateForBench(h.CreatedBy, 160)))
			}
		}
	}
	if len(ev) == 0 {
		ev = []string{fmt.Sprintf("no ADD instruction in the history of %d images (base layers ignored)", len(s.Images))}
	}
	return Result{Status: Info, Evidence: ev}
}
