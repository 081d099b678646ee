package dockerbench

import (
	"fmt"
	"strings"
)

// 6.1 Ensure that image sprawl is avoided (Manual, Level 1).
// Unused images waste space and keep old, vulnerable software one
// `docker run` away. Audit: images on the host against images used by
// containers.
func init() {
	register(Control{ID: "6.1", Title: "Ensure that image sprawl is avoided", Section: "Docker Security Operations", Level: 1, Automated: false,
		Needs:       []string{SourceImages, SourceContainers},
		Remediation: "Keep only the images you need: remove unused ones regularly (docker image prune -a, after checking the list) and pull by digest so stale tags do not pile up.",
		Check:       checkImageSprawl})
}

// Like docker-bench-security, an image counts as in use when any container,
// running or stopped, was created from it.
func checkImageSprawl(s *Snapshot) Result {
	used, running := map[string]bool{}, map[string]bool{}
	for _, c := range s.Containers {
		used[c.Image] = true
		if c.State != nil && c.State.Running {
			running[c.Image] = true
		}
	}
	var unused []string
	inUse, inRunning := 0, 0
	for _, img := range s.Images {
		switch {
		case used[img.Inspect.ID]:
			inUse++
			if running[img.Inspect.ID] {
				inRunning++
			}
		default:
			unused = append(unused, strings.TrimPrefix(imageLabelForBench(img), "image "))
		}
	}
	ev := []string{fmt.Sprintf("%d images, %d used by containers (%d by running containers), %d unused", len(s.Images), inUse, inRunning, len(unused))}
	for _, u := range unused {
		ev = append(ev, "unused image "+u)
	}
	return Result{Status: Info, Evidence: ev}
}
