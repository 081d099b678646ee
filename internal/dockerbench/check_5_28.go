package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.28 Ensure that Docker commands always make use of the latest version of their image (Manual, Level 1).
// A stale cached image keeps running old, possibly vulnerable code; pinned
// references make the version in use explicit. Audit: the image reference
// and id of each running container, for a human to compare with the
// latest version.
func init() {
	register(Control{ID: "5.28", Title: "Ensure that Docker commands always make use of the latest version of their image", Section: "Container Runtime", Level: 1, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Pin images by version tag or digest, pull before running (docker run --pull always / docker pull), and redeploy containers when a new image is published.",
		Check:       checkImageVersions})
}

func checkImageVersions(s *Snapshot) Result {
	return ctrList(s, "", func(c container.InspectResponse, _ *container.HostConfig) []string {
		ref := ""
		if c.Config != nil {
			ref = c.Config.Image
		}
		id := strings.TrimPrefix(c.Image, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		note := ""
		switch {
		case strings.Contains(ref, "@sha256:"):
			note = " (pinned by digest)"
		case ref != "" && !ctrRefHasTag(ref):
			note = " (no tag: implicitly latest)"
		case strings.HasSuffix(ref, ":latest"):
			note = " (latest tag)"
		}
		return []string{fmt.Sprintf("image %s (sha256:%s)%s", ref, id, note)}
	})
}

// ctrRefHasTag reports whether an image reference names a tag or digest
// ("registry:5000/app" has none, "app:1.2" has one).
func ctrRefHasTag(ref string) bool {
	if strings.Contains(ref, "@") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.Contains(last, ":")
}
