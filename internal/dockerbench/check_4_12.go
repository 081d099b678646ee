package dockerbench

import "fmt"

// 4.12 Ensure all signed artifacts are validated (Manual, Level 1).
// A signature only helps if someone checks it before the artifact is used.
// Audit: how each image reached the host; images without a registry
// digest cannot be matched to a signature.
func init() {
	register(Control{ID: "4.12", Title: "Ensure all signed artifacts are validated", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Verify signatures of images and build inputs before use (e.g. cosign verify or docker trust inspect) and pull by digest once verified.",
		Check:       checkSignedArtifacts})
}

func checkSignedArtifacts(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		if len(compactNamesForBench(img.Inspect.RepoDigests)) == 0 {
			ev = append(ev, fmt.Sprintf("%s: no repo digest (built locally or loaded), so no registry signature to validate", imageLabelForBench(img)))
		}
	}
	ev = append(ev, fmt.Sprintf("%d images: check that each one's signature was validated before it was deployed", len(s.Images)))
	return Result{Status: Info, Evidence: ev}
}
