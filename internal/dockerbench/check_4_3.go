package dockerbench

import "fmt"

// 4.3 Ensure that unnecessary packages are not installed in the container (Manual, Level 1).
// Every extra package is attack surface and patch work. Audit: list the
// packages in each image; image sizes point at the fat ones.
func init() {
	register(Control{ID: "4.3", Title: "Ensure that unnecessary packages are not installed in the container", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Start from a minimal base (distroless, alpine, scratch), install only what the application needs, and use multi-stage builds so build tools stay out of the final image.",
		Check:       checkUnnecessaryPackages})
}

func checkUnnecessaryPackages(s *Snapshot) Result {
	if len(s.Images) == 0 {
		return Result{Status: Info, Evidence: []string{"no images on this host"}}
	}
	var ev []string
	for _, img := range s.Images {
		ev = append(ev, fmt.Sprintf("%s: %.1f MB; list its packages with `bulwark sbom --docker %s` and remove what the application does not use", imageLabelForBench(img), float64(img.Inspect.Size)/1e6, imageRefForBench(img)))
	}
	return Result{Status: Info, Evidence: ev}
}
