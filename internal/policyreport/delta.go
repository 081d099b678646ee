package policyreport

import (
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// DeltaFormat is the value of Delta.Delta: what tells a delta message
// from a whole report.
const DeltaFormat = "k8s"

// Delta is the cluster agent's incremental message (docs/schema.md): the
// objects that changed since the last one the agent queued (upserts, each
// with its policy assessments and the images its pods run) and the ones
// that are gone (deletes). A full resync is a run of messages sharing one
// Resync id; the first has ResyncBegin, the last ResyncEnd (one message
// may have both), and the server then removes the cluster's objects the
// resync did not hold. An end whose beginning never arrived prunes
// nothing.
type Delta struct {
	SchemaVersion string    `json:"schema_version"`
	Tool          string    `json:"tool"`
	Version       string    `json:"version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Delta         string    `json:"delta"` // DeltaFormat
	Cluster       string    `json:"cluster,omitempty"`
	ClusterID     string    `json:"cluster_id"`
	Resync        string    `json:"resync,omitempty"`
	ResyncBegin   bool      `json:"resync_begin,omitempty"`
	ResyncEnd     bool      `json:"resync_end,omitempty"`
	// Seq numbers the agent's messages (from 1 at each start): logs and
	// tests tell them apart; the server does not depend on it.
	Seq     uint64        `json:"seq"`
	Upserts []DeltaObject `json:"upserts,omitempty"`
	Deletes []string      `json:"deletes,omitempty"`
}

// DeltaObject is one object as a delta carries it: its resource (as in a
// report's results), its assessments, and what its pods run.
type DeltaObject struct {
	Resource    model.Resource     `json:"resource"`
	Assessments []model.Assessment `json:"assessments"`
	Running     []RunningImage     `json:"running,omitempty"`
}

// RunningImage is an image a container of the object's pods runs, as
// the kubelet resolved it (pod status containerStatuses[].imageID).
type RunningImage struct {
	Container string `json:"container"`
	// Image is the reference the container asked for (spec image).
	Image string `json:"image"`
	// Digest is the resolved sha256 digest: the repository digest of
	// docker-pullable://repo@sha256:… or repo@sha256:…, else the image
	// (config) digest of a bare sha256:….
	Digest string `json:"digest"`
	// Repository is the repository of a repository digest (empty for a
	// bare image digest).
	Repository string `json:"repository,omitempty"`
}

// ParseImageID reads a pod status imageID: docker-pullable://REPO@sha256:…
// and containerd's REPO@sha256:… give a repository digest, docker://sha256:…
// and sha256:… an image (config) digest. ok is false for anything else,
// including a digest that is not sha256 with 64 lower-case hex digits.
func ParseImageID(s string) (repository, digest string, ok bool) {
	for _, p := range []string{"docker-pullable://", "docker://", "containerd://", "cri-o://"} {
		if len(s) > len(p) && s[:len(p)] == p {
			s = s[len(p):]
			break
		}
	}
	at := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at >= 0 {
		repository, s = s[:at], s[at+1:]
		if repository == "" || len(repository) > 255 {
			return "", "", false
		}
		for _, r := range repository {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/' || r == ':') {
				return "", "", false
			}
		}
	}
	if !validDigest(s) {
		return "", "", false
	}
	return repository, s, true
}

func validDigest(s string) bool {
	if len(s) != 71 || s[:7] != "sha256:" {
		return false
	}
	for _, c := range s[7:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
