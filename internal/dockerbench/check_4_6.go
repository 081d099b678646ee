package dockerbench

import "fmt"

// 4.6 Ensure that HEALTHCHECK instructions have been added to container images (Automated, Level 1).
// Without a health check the engine (and swarm) cannot tell a hung
// container from a working one. Audit: Config.Healthcheck of every image.
func init() {
	register(Control{ID: "4.6", Title: "Ensure that HEALTHCHECK instructions have been added to container images", Section: "Container Images and Build File", Level: 1, Automated: true,
		Needs:       []string{SourceImages},
		Remediation: "Add a HEALTHCHECK instruction that probes the application (HEALTHCHECK CMD [\"/app\", \"-health\"]) to each Dockerfile and rebuild.",
		Check:       checkImageHealthcheck})
}

// Differs from docker-bench-security: it fails only a nil Healthcheck; we
// also fail "HEALTHCHECK NONE" (Test ["NONE"]), which disables an
// inherited check, and a Healthcheck with an empty Test, which has nothing
// to run. Like docker-bench we judge every image, in use or not.
func checkImageHealthcheck(s *Snapshot) Result {
	if len(s.Images) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{"no images on this host"}}
	}
	var ev []string
	for _, img := range s.Images {
		var why string
		switch cfg := img.Inspect.Config; {
		case cfg == nil || cfg.Healthcheck == nil:
			why = "Config.Healthcheck is not set"
		case len(cfg.Healthcheck.Test) == 0:
			why = "Config.Healthcheck.Test is empty"
		case cfg.Healthcheck.Test[0] == "NONE":
			why = `Config.Healthcheck.Test is ["NONE"] (HEALTHCHECK NONE)`
		default:
			continue
		}
		ev = append(ev, fmt.Sprintf("%s: %s", imageLabelForBench(img), why))
	}
	if len(ev) > 0 {
		return Result{Status: Fail, Evidence: ev}
	}
	return Result{Status: Pass}
}
