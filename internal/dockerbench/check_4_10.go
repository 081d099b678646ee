package dockerbench

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// 4.10 Ensure secrets are not stored in Dockerfiles (Manual, Level 1).
// Anything in a Dockerfile, an ENV or a build argument stays readable in
// the image config and history. Audit: environment variables and history
// entries whose names look like secrets (names only, never values).
func init() {
	register(Control{ID: "4.10", Title: "Ensure secrets are not stored in Dockerfiles", Section: "Container Images and Build File", Level: 1, Automated: false,
		Needs:       []string{SourceImages},
		Remediation: "Keep secrets out of Dockerfiles, ENV and build arguments; use BuildKit secret mounts (RUN --mount=type=secret) at build time and a secret store or docker secrets at run time, then rotate any secret that was baked in.",
		Check:       checkSecretsInDockerfile})
}

var secretNameRE = regexp.MustCompile(`(?i)[A-Z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)[A-Z0-9_]*`)

func checkSecretsInDockerfile(s *Snapshot) Result {
	var ev []string
	for _, img := range s.Images {
		var names []string
		seen := map[string]bool{}
		if cfg := img.Inspect.Config; cfg != nil {
			for _, kv := range cfg.Env {
				k, _, _ := strings.Cut(kv, "=")
				if secretNameRE.MatchString(k) && !seen[k] {
					seen[k] = true
					names = append(names, k)
				}
			}
		}
		sort.Strings(names)
		if len(names) > 0 {
			ev = append(ev, fmt.Sprintf("%s: Config.Env sets %s", imageLabelForBench(img), strings.Join(names, ", ")))
		}
		hist := 0
		for _, h := range img.History {
			if secretNameRE.MatchString(h.CreatedBy) {
				hist++
			}
		}
		if hist > 0 {
			ev = append(ev, fmt.Sprintf("%s: %d history entries mention a secret-like name (see `docker history --no-trunc %s`)", imageLabelForBench(img), hist, imageRefForBench(img)))
		}
	}
	if len(ev) == 0 {
		ev = []string{fmt.Sprintf("no secret-like names in the environment or history of %d images", len(s.Images))}
	}
	return Result{Status: Info, Evidence: ev}
}
