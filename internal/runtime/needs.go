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
	// Details is the level at which the alert's output (its properties)
	// is complete, when that is more than Audit: the rule fires below it,
	// with less said.
	Details AuditLevel `yaml:"details" json:"details,omitempty"`
}

// objectRef finds reads of an audit event's bodies in CEL text.
var (
	requestRef  = regexp.MustCompile(`evt\.k8s\.(object|request_object)\b`)
	responseRef = regexp.MustCompile(`evt\.k8s\.response_object\b`)
)

// Requirements is what the rule needs: its declaration, raised to what it
// reads: Audit to what its condition, sequence and correlation read,
// Details (never below Audit) to what its output reads.
func (r *Rule) Requirements() Needs {
	n := r.Needs
	if !slices.Contains(r.Kinds, event.KindK8sAudit) && !slices.Contains(r.Sources, event.SourceK8sAudit) {
		return n
	}
	n.Audit = maxLevel(n.Audit, AuditMetadata, reads(r.fireCEL()))
	n.Details = maxLevel(n.Details, n.Audit, reads(r.outputCEL()))
	return n
}

// reads is the level at which the audit bodies a CEL text reads are there.
func reads(text string) AuditLevel {
	switch {
	case responseRef.MatchString(text):
		return AuditRequestResponse
	case requestRef.MatchString(text):
		return AuditRequest
	}
	return ""
}

func maxLevel(ls ...AuditLevel) AuditLevel {
	var m AuditLevel
	for _, l := range ls {
		if m == "" || l.Rank() > m.Rank() {
			m = l
		}
	}
	return m
}

// fireCEL is the CEL that decides whether the rule fires.
func (r *Rule) fireCEL() string {
	parts := []string{r.Condition}
	if c := r.Correlate; c != nil {
		parts = append(parts, c.Key, c.Distinct)
	}
	if s := r.Sequence; s != nil {
		parts = append(parts, s.Key, s.First, s.Capture)
	}
	return strings.Join(parts, "\n")
}

// outputCEL is the CEL of the alert's properties.
func (r *Rule) outputCEL() string {
	parts := make([]string, 0, len(r.Output))
	for _, v := range r.Output {
		parts = append(parts, v)
	}
	return strings.Join(parts, "\n")
}

func (n Needs) validate() error {
	for name, l := range map[string]AuditLevel{"audit": n.Audit, "details": n.Details} {
		if l == "" {
			continue
		}
		if _, err := ParseAuditLevel(string(l)); err != nil {
			return fmt.Errorf("needs.%s: %w", name, err)
		}
	}
	return nil
}
