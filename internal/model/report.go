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

// Summary is the verdict on an image.
type Summary struct {
	Healthy   bool     `json:"healthy"`
	Threshold Severity `json:"threshold"`
	// Counts covers active findings (not suppressed).
	Counts     Counts    `json:"counts"`
	Suppressed int       `json:"suppressed"`
	Packages   int       `json:"packages"`
	Upgrades   []Upgrade `json:"upgrades,omitempty"`
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
