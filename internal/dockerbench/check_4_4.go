package dockerbench

import "fmt"

// 4.4 Ensure images are scanned and rebuilt to include security patches (Manual, Level 1).
// Images are frozen at build time; without rescans and rebuilds they fall
// behind on fixes. Audit: each image's build date, and a vulnerability scan.
func init() {
	register(Control{ID: "4.4", Title: "Ensure images are scanned and rebuilt to include security patches", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Scan images regularly and rebuild them from updated base images when fixes are available; then restart the containers on the new images.",
		Check:       checkImagesScanned})
}

func checkImagesScanned(s *Snapshot) Result {
	if len(s.Images) == 0 {
		return Result{Status: Info, Evidence: []string{"no images on this host"}}
	}
	var ev []string
	for _, img := range s.Images {
		created := img.Inspect.Created
		if created == "" {
			created = "unknown"
		}
		ev = append(ev, fmt.Sprintf("%s: created %s; scan it with `bulwark scan image --docker %s`", imageLabelForBench(img), created, imageRefForBench(img)))
	}
	return Result{Status: Info, Evidence: ev}
}
