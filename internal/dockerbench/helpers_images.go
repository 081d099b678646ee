package dockerbench

// Helpers shared by the section 4 (images), 6 (security operations) and 7
// (swarm) controls.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// imageShortIDForBench shortens "sha256:<64 hex>" to "sha256:<12 hex>".
func imageShortIDForBench(id string) string {
	algo, hex, ok := strings.Cut(id, ":")
	if !ok {
		algo, hex = "", id
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if algo == "" {
		return hex
	}
	return algo + ":" + hex
}

// imageLabelForBench names an image in evidence: "image app:1.2
// (sha256:0123456789ab)", every repo tag sorted, or the repo digest, or the
// short id alone for an untagged image.
func imageLabelForBench(img ImageFacts) string {
	id := imageShortIDForBench(img.Inspect.ID)
	names := append([]string(nil), img.Inspect.RepoTags...)
	if len(names) == 0 {
		names = append(names, img.Inspect.RepoDigests...)
	}
	names = compactNamesForBench(names)
	switch {
	case len(names) == 0 && id == "":
		return "image <unknown>"
	case len(names) == 0:
		return "image " + id
	case id == "":
		return "image " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("image %s (%s)", strings.Join(names, ", "), id)
}

// imageRefForBench is a reference the docker CLI accepts for the image:
// its first repo tag, else its id.
func imageRefForBench(img ImageFacts) string {
	if names := compactNamesForBench(img.Inspect.RepoTags); len(names) > 0 {
		return names[0]
	}
	return img.Inspect.ID
}

func compactNamesForBench(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range in {
		if n == "" || n == "<none>:<none>" || n == "<none>@<none>" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// containerLabelForBench is the container's name without the leading "/",
// or its short id when it has none.
func containerLabelForBench(c container.InspectResponse) string {
	if n := strings.TrimPrefix(c.Name, "/"); n != "" {
		return n
	}
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

// runningContainersForBench returns the running containers.
func runningContainersForBench(s *Snapshot) []container.InspectResponse {
	var out []container.InspectResponse
	for _, c := range s.Containers {
		if c.State != nil && c.State.Running {
			out = append(out, c)
		}
	}
	return out
}

// userIsRootForBench reports whether a Config.User value ("", "root",
// "0", "root:staff", "0:0") makes the process run as uid 0.
func userIsRootForBench(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "" || u == "root" || u == "0"
}

// Package managers' index refreshes, and the commands that install or
// upgrade packages in the same instruction.
var (
	historyUpdateRE  = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf|zypper|tdnf)\s+(-\S+\s+)*(update|makecache|refresh)\b`)
	historyInstallRE = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf|zypper|tdnf)\s+(-\S+\s+)*(install|add|upgrade|dist-upgrade|in|up)\b`)
	// ADD as a Dockerfile instruction: classic builder "/bin/sh -c #(nop)
	// ADD file:… in /", BuildKit "ADD app.tar /app # buildkit".
	historyADDRE = regexp.MustCompile(`^(/bin/sh -c #\(nop\)\s*)?ADD\s`)
)

// historyUpdateOnlyForBench reports whether a history entry refreshes a
// package index without installing anything in the same instruction.
// yum/dnf/zypper "update" upgrades packages, so only "makecache" or
// "refresh" alone counts for them.
func historyUpdateOnlyForBench(createdBy string) bool {
	m := historyUpdateRE.FindStringSubmatch(createdBy)
	if m == nil || historyInstallRE.MatchString(createdBy) {
		return false
	}
	switch m[1] {
	case "yum", "dnf", "microdnf", "tdnf", "zypper":
		return m[3] != "update"
	}
	return true
}

// historyUsesADDForBench reports whether a history entry was made by an
// ADD instruction.
func historyUsesADDForBench(createdBy string) bool {
	return historyADDRE.MatchString(strings.TrimSpace(createdBy))
}

// truncateForBench shortens long history lines for evidence.
func truncateForBench(s string, n int) string {
	return text.Truncate(strings.Join(strings.Fields(s), " "), n+len(text.Ellipsis))
}

// swarmGateForBench decides whether section 7 applies: ok is true when
// this node is an active swarm member; otherwise res is the result every
// section 7 control returns.
func swarmGateForBench(s *Snapshot) (res Result, ok bool) {
	if s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"docker info is not available: swarm state unknown"}}, false
	}
	switch st := s.Info.Swarm.LocalNodeState; st {
	case swarm.LocalNodeStateActive:
		return Result{}, true
	case swarm.LocalNodeStateLocked:
		return Result{Status: Warn, Evidence: []string{"swarm node is locked: unlock it with `docker swarm unlock` to assess"}}, false
	case "", swarm.LocalNodeStateInactive:
		return Result{Status: NotApplicable, Evidence: []string{"swarm mode is not active"}}, false
	default:
		return Result{Status: NotApplicable, Evidence: []string{fmt.Sprintf("swarm mode is not active (node state %q)", st)}}, false
	}
}

// swarmManagerForBench returns the cluster when this node is a manager
// that could read it.
func swarmManagerForBench(s *Snapshot) (*swarm.Swarm, bool) {
	if s.Info == nil || !s.Info.Swarm.ControlAvailable || s.Swarm == nil {
		return nil, false
	}
	return s.Swarm, true
}

const notManagerEvidenceForBench = "this node is a swarm worker: run the assessment on a manager node to read the cluster configuration"

// orUnknownForBench is s, or "unknown" when empty.
func orUnknownForBench(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
