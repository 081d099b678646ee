package policy

import "github.com/bulwarkdev/bulwark/internal/model"

// Mode says what a policy does with a violation.
type Mode string

const (
	ModeAudit    Mode = "audit"    // admit, with a warning and an audit annotation
	ModeEnforce  Mode = "enforce"  // deny at admission; fail in CI
	ModeDisabled Mode = "disabled" // not evaluated
)

// Policy is one policy's metadata.
type Policy struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Severity    model.Severity `json:"severity"`
	Description string         `json:"description"`
	Remediation string         `json:"remediation"`
	DefaultMode Mode           `json:"default_mode"`
	Mode        Mode           `json:"mode"` // effective, after the config
	Sets        []string       `json:"sets"` // pss-baseline, pss-restricted, defender, custom
	PSSControl  string         `json:"pss_control,omitempty"`
	Builtin     bool           `json:"builtin"`
}

// Violation is one policy broken by one object.
type Violation struct {
	PolicyID    string         `json:"policy_id"`
	Title       string         `json:"title"`
	Severity    model.Severity `json:"severity"`
	Mode        Mode           `json:"mode"`
	Message     string         `json:"message"`
	Path        string         `json:"path,omitempty"`
	Remediation string         `json:"remediation"`
}

// Object is a decoded Kubernetes object (unstructured).
type Object = map[string]any

// Result is the evaluation of one object.
type Result struct {
	Kind       string      `json:"kind"`
	APIVersion string      `json:"api_version"`
	Namespace  string      `json:"namespace,omitempty"`
	Name       string      `json:"name"`
	Source     string      `json:"source,omitempty"` // file:line-of-document for manifests
	Violations []Violation `json:"violations"`
	// Skipped names policies that could not be evaluated, with why (e.g.
	// no scan results for the vulnerability policy).
	Skipped map[string]string `json:"skipped,omitempty"`
	// UnknownImages are the images a policy requiring scan results ran
	// without a verdict for (WithImageVerdicts answered unknown): the
	// admission webhook decides them by its --image-vulns-unknown.
	UnknownImages []string `json:"-"`
	// Excluded says why the object was not evaluated at all (its namespace
	// is excluded by the config); empty when it was.
	Excluded string `json:"excluded,omitempty"`
	// PodSecurity is the namespace's Pod Security policy (its labels, or
	// the config's override) when the PSS policies were applied by it
	// rather than by their configured modes (EvaluateNamespaced).
	PodSecurity *PSSNamespace `json:"pod_security,omitempty"`
}
