package model

import "time"

// ResourceKind names what a Resource is.
type ResourceKind string

const (
	KindImage      ResourceKind = "image"
	KindRepository ResourceKind = "repository"
	KindRegistry   ResourceKind = "registry"
	KindDockerHost ResourceKind = "docker-host"
	KindContainer  ResourceKind = "container"
	KindSBOM       ResourceKind = "sbom"
)

// Resource is what was assessed, with a stable id (an image's id is its
// manifest digest, or its config digest when no manifest exists, e.g. in the
// Docker engine).
type Resource struct {
	Kind   ResourceKind      `json:"kind"`
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Parent string            `json:"parent,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Facts  map[string]string `json:"facts,omitempty"`
}

// AssessmentStatus is the outcome of one rule on one resource.
type AssessmentStatus string

const (
	AssessHealthy       AssessmentStatus = "healthy"
	AssessUnhealthy     AssessmentStatus = "unhealthy"
	AssessNotApplicable AssessmentStatus = "not-applicable"
	AssessManual        AssessmentStatus = "manual"
	AssessError         AssessmentStatus = "error"
	AssessExempt        AssessmentStatus = "exempt"
	// AssessNotAssessed: the rule could not be judged for lack of data or
	// reach (the evidence says which); never to be read as healthy.
	AssessNotAssessed AssessmentStatus = "not-assessed"
)

// Assessment is one rule applied to one resource.
type Assessment struct {
	Rule        string           `json:"rule"`
	Title       string           `json:"title,omitempty"`
	Status      AssessmentStatus `json:"status"`
	Severity    Severity         `json:"severity"`
	Evidence    []string         `json:"evidence,omitempty"`
	Remediation string           `json:"remediation,omitempty"`
	ObservedAt  time.Time        `json:"observed_at"`
}

// ImageInfo describes the scanned artifact.
type ImageInfo struct {
	Reference    string   `json:"reference,omitempty"`
	Source       string   `json:"source"` // registry, docker, tarball, oci-layout, sbom
	Digest       string   `json:"digest,omitempty"`
	ConfigDigest string   `json:"config_digest,omitempty"`
	RepoTags     []string `json:"repo_tags,omitempty"`
	RepoDigests  []string `json:"repo_digests,omitempty"`
	Platform     string   `json:"platform,omitempty"`
	Created      string   `json:"created,omitempty"`
	Size         int64    `json:"size,omitempty"`
	Layers       []Layer  `json:"layers,omitempty"`
}

// Warning is a part of the scan that could not be done; the rest went on.
type Warning struct {
	Stage   string `json:"stage"` // layer, catalog, match, sbom…
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
}

// DBInfo says which vulnerability data the findings come from.
type DBInfo struct {
	BuiltAt time.Time `json:"built_at"`
	Sources []string  `json:"sources,omitempty"`
	Stale   bool      `json:"stale,omitempty"`
}

// Verdict is the image's health: healthy only when every part of it with
// packages was assessed and nothing at or above the threshold was found.
type Verdict string

const (
	VerdictHealthy   Verdict = "healthy"
	VerdictUnhealthy Verdict = "unhealthy"
	// VerdictNotAssessed: some part of the image with packages (its
	// distribution release, a language ecosystem) has no advisory data, and
	// nothing found elsewhere makes it unhealthy.
	VerdictNotAssessed Verdict = "not-assessed"
)

// CoverageKind says what a coverage part is.
type CoverageKind string

const (
	CoverageOS       CoverageKind = "os"       // the distribution's packages (deb, apk, rpm)
	CoverageLanguage CoverageKind = "language" // one language ecosystem (npm, PyPI, Go …)
	// CoverageNone holds packages that no advisory source describes (bare
	// binaries, unknown package types, unreadable versions): listed so
	// nothing is hidden, never counted against the verdict.
	CoverageNone CoverageKind = "none"
)

// CoveragePart is one part of an image, by the advisory ecosystem its
// packages are matched in, and whether the DB could assess it.
type CoveragePart struct {
	// Name is the ecosystem as advisories name it ("Debian:12", "Red Hat:9",
	// "npm"), or a description when none can be named ("deb (unknown
	// distribution)", "binary").
	Name     string       `json:"name"`
	Kind     CoverageKind `json:"kind"`
	Packages int          `json:"packages"`
	Assessed bool         `json:"assessed"`
	// Sources are the advisory sources the DB holds for it (when assessed).
	Sources []string `json:"sources,omitempty"`
	// Reason says why it was not assessed; Need what `bulwark db update`
	// must bring for it to be.
	Reason string `json:"reason,omitempty"`
	Need   string `json:"need,omitempty"`
}

// Summary is the verdict on an image.
type Summary struct {
	// Verdict is healthy, unhealthy or not-assessed; Healthy is true only
	// for healthy (kept for consumers of the first schema).
	Verdict   Verdict  `json:"verdict,omitempty"`
	Healthy   bool     `json:"healthy"`
	Threshold Severity `json:"threshold"`
	// Coverage lists every part of the image with packages and whether the
	// DB holds advisories for it.
	Coverage []CoveragePart `json:"coverage,omitempty"`
	// Counts covers active findings (not suppressed).
	Counts     Counts    `json:"counts"`
	Suppressed int       `json:"suppressed"`
	Packages   int       `json:"packages"`
	Upgrades   []Upgrade `json:"upgrades,omitempty"`
}

// NotAssessed returns the parts that count against the verdict and were not
// assessed.
func (s Summary) NotAssessed() []CoveragePart {
	var out []CoveragePart
	for _, p := range s.Coverage {
		if !p.Assessed && p.Kind != CoverageNone {
			out = append(out, p)
		}
	}
	return out
}

// Decide sets Verdict and Healthy from the findings' health and the
// coverage: what was found unhealthy stays unhealthy (that much is known);
// otherwise any part not assessed makes the image not assessed.
func (s *Summary) Decide(findingsHealthy bool) {
	switch {
	case !findingsHealthy:
		s.Verdict = VerdictUnhealthy
	case len(s.NotAssessed()) > 0:
		s.Verdict = VerdictNotAssessed
	default:
		s.Verdict = VerdictHealthy
	}
	s.Healthy = s.Verdict == VerdictHealthy
}

// Report is the canonical output of an image or SBOM scan; every other
// format is rendered from it.
type Report struct {
	SchemaVersion string       `json:"schema_version"`
	Tool          Tool         `json:"tool"`
	GeneratedAt   time.Time    `json:"generated_at"`
	Resource      Resource     `json:"resource"`
	Image         ImageInfo    `json:"image"`
	Distro        *Distro      `json:"distro,omitempty"`
	Packages      []Package    `json:"packages"`
	Findings      []Finding    `json:"findings"`
	Summary       Summary      `json:"summary"`
	Assessments   []Assessment `json:"assessments,omitempty"`
	DB            *DBInfo      `json:"db,omitempty"`
	Warnings      []Warning    `json:"warnings,omitempty"`
}

// Tool identifies the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Resource kinds of the Kubernetes and run-time capabilities.
const (
	KindCluster   ResourceKind = "cluster"
	KindNamespace ResourceKind = "namespace"
	KindWorkload  ResourceKind = "workload" // Labels["kind"] carries the Kubernetes kind
	KindPod       ResourceKind = "pod"
	KindNode      ResourceKind = "node"
	KindHost      ResourceKind = "host"
)

// KubeObjectID is the resource id of a Kubernetes object, the same whichever
// capability reports it (policy results, run-time alerts), so the server can
// join them: cluster/namespace/Kind/name, with "-" as the namespace of
// cluster-scoped objects.
func KubeObjectID(cluster, namespace, kind, name string) string {
	if namespace == "" {
		namespace = "-"
	}
	return cluster + "/" + namespace + "/" + kind + "/" + name
}
