package dockerbench

import (
	"fmt"
	"regexp"
)

// 4.8 Ensure setuid and setgid permissions are removed (Manual, Level 2).
// setuid/setgid binaries are the usual way to escalate to root inside a
// container. Audit: the files with mode bits 6000 in each image; the
// engine does not list files, so we point at history entries that set
// them and at the command that lists them.
func init() {
	register(Control{ID: "4.8", Title: "Ensure setuid and setgid permissions are removed", Section: "Container Images and Build File", Level: 2, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Strip setuid/setgid bits at build time from every binary that does not need them, e.g. RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + (keep the few that must stay).",
		Check:       checkSetuidRemoved})
}

var chmodSetIDRE = regexp.MustCompile(`\bchmod\s+(-\S+\s+)*([ugoa]*\+[rwxXt]*s|[2467][0-7]{3})\b`)

func checkSetuidRemoved(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		for _, h := range img.History {
			if chmodSetIDRE.MatchString(h.CreatedBy) {
				ev = append(ev, fmt.Sprintf("%s: history %q sets setuid/setgid bits", imageLabelForBench(img), truncateForBench(h.CreatedBy, 160)))
			}
		}
	}
	ev = append(ev, fmt.Sprintf("%d images: list their setuid/setgid files with `docker run --rm --entrypoint find IMAGE / -xdev -perm /6000 -type f` (images that ship find)", len(s.Images)))
	return Result{Status: Info, Evidence: ev}
}
