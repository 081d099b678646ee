package runtime

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// AuditLevel is a Kubernetes audit level (audit.k8s.io/v1), ordered:
// None < Metadata < Request < RequestResponse.
type AuditLevel string

const (
	AuditNone            AuditLevel = "None"
	AuditMetadata        AuditLevel = "Metadata"
	AuditRequest         AuditLevel = "Request"
	AuditRequestResponse AuditLevel = "RequestResponse"
)

// Rank orders levels; an unknown level ranks as None.
func (l AuditLevel) Rank() int {
	switch l {
	case AuditMetadata:
		return 1
	case AuditRequest:
		return 2
	case AuditRequestResponse:
		return 3
	}
	return 0
}

// ParseAuditLevel reads a level as the API server writes it.
func ParseAuditLevel(s string) (AuditLevel, error) {
	for _, l := range []AuditLevel{AuditNone, AuditMetadata, AuditRequest, AuditRequestResponse} {
		if strings.EqualFold(s, string(l)) {
			return l, nil
		}
	}
	return "", fmt.Errorf("audit level %q: want None, Metadata, Request or RequestResponse", s)
}

// Needs is what a rule must be fed to be able to fire. A rule declares it
// with `needs:` beside its `sources` and `kinds`; what its condition reads
// (evt.k8s.object needs the request body) is added to the declaration, so
// a rule can never need less than it reads.
type Needs struct {
	// Audit is, for rules over k8s.audit events, the least audit level at
	// which the events of the rule's resources and verbs (match.resources,
	// match.actions) carry what it reads: Metadata, or Request when it
	// reads the object (request body; the response body stands in when a
	// request carries none), RequestResponse when it reads the response.
	Audit AuditLevel `yaml:"audit" json:"audit,omitempty"`
}

// objectRef finds reads of an audit event's bodies in CEL text.
var (
	requestRef  = regexp.MustCompile(`evt\.k8s\.(object|request_object)\b`)
	responseRef = regexp.MustCompile(`evt\.k8s\.response_object\b`)
)

// Requirements is what the rule needs: its declaration, raised to what its
// condition, output, sequence and correlation read.
func (r *Rule) Requirements() Needs {
	n := r.Needs
	if !slices.Contains(r.Kinds, event.KindK8sAudit) && !slices.Contains(r.Sources, event.SourceK8sAudit) {
		return n
	}
	inferred := AuditMetadata
	text := r.cel()
	if requestRef.MatchString(text) {
		inferred = AuditRequest
	}
	if responseRef.MatchString(text) {
		inferred = AuditRequestResponse
	}
	if inferred.Rank() > n.Audit.Rank() {
		n.Audit = inferred
	}
	return n
}

// cel is every CEL expression of the rule, for finding what it reads.
func (r *Rule) cel() string {
	parts := []string{r.Condition}
	for _, v := range r.Output {
		parts = append(parts, v)
	}
	if c := r.Correlate; c != nil {
		parts = append(parts, c.Key, c.Distinct)
	}
	if s := r.Sequence; s != nil {
		parts = append(parts, s.Key, s.First, s.Capture)
	}
	return strings.Join(parts, "\n")
}

func (n Needs) validate() error {
	if n.Audit != "" {
		if _, err := ParseAuditLevel(string(n.Audit)); err != nil {
			return fmt.Errorf("needs.audit: %w", err)
		}
	}
	return nil
}
