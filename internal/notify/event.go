package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/text"
)

// Kind is what an event is about.
type Kind string

const (
	// KindFinding: a new critical or high finding on an image that runs.
	KindFinding Kind = "finding"
	// KindRecommendation: a resource newly unhealthy for a recommendation.
	KindRecommendation Kind = "recommendation"
	// KindAlert: a new security alert.
	KindAlert Kind = "alert"
)

// Kinds lists every kind, in the order the docs give them.
func Kinds() []Kind { return []Kind{KindFinding, KindRecommendation, KindAlert} }

func (k Kind) valid() bool { return k == KindFinding || k == KindRecommendation || k == KindAlert }

// Resource names what an event is about, with the ids of docs/schema.md.
type Resource struct {
	Kind model.ResourceKind `json:"kind"`
	ID   string             `json:"id"`
	Name string             `json:"name,omitempty"`
}

// Event is one notification. ID is its dedupe key: the same happening
// gets the same ID however often it is sent (see NewID), so a receiver
// that sees an ID twice (a retry whose answer was lost) drops the second.
type Event struct {
	ID             string         `json:"id"`
	Kind           Kind           `json:"kind"`
	Severity       model.Severity `json:"severity"`
	Title          string         `json:"title"`
	Resource       Resource       `json:"resource"`
	Rule           string         `json:"rule,omitempty"`           // BW-PSS-PRIVILEGED, VULN-image, K8S_PrivilegedContainer …
	Recommendation string         `json:"recommendation,omitempty"` // REC-…
	Vulnerability  string         `json:"vulnerability,omitempty"`  // CVE-…, GHSA-…
	Detail         string         `json:"detail,omitempty"`         // a summary a person reads
	URL            string         `json:"url,omitempty"`            // where to see it in the server's UI
	At             time.Time      `json:"at"`                       // when it was found or happened
}

// Bounds on what one event carries, so every payload stays well inside
// what receivers take (Slack cuts a message at 40,000 characters, syslog
// over UDP at a datagram) whatever an image or a rule put in the text.
const (
	maxTitle  = 512
	maxDetail = 4096
	maxField  = 1024 // ids, names, URL
)

// NewID derives a stable event ID from the kind and what identifies the
// happening (resource id, rule, vulnerability, alert id …): the same parts
// give the same ID on every replica and after every restart.
func NewID(kind Kind, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return string(kind) + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Validate says what is missing or wrong, field by field.
func (e Event) Validate() error {
	var errs []error
	if e.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if !e.Kind.valid() {
		errs = append(errs, fmt.Errorf("kind %q: want finding, recommendation or alert", e.Kind))
	}
	if _, err := model.ParseSeverity(string(e.Severity)); err != nil || strings.ToLower(string(e.Severity)) != string(e.Severity) {
		errs = append(errs, fmt.Errorf("severity %q: want one of %v", e.Severity, model.AllSeverities()))
	}
	if e.Title == "" {
		errs = append(errs, errors.New("title is empty"))
	}
	if e.Resource.Kind == "" || e.Resource.ID == "" {
		errs = append(errs, errors.New("resource kind and id are required"))
	}
	if e.URL != "" && !httpURL(e.URL) {
		errs = append(errs, errors.New("url: want an absolute http or https URL"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notification %q: %w", e.ID, err)
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// normalized is the event as every sink renders it: times in UTC, text
// bounded (cut on a rune boundary, with "…").
func (e Event) normalized() Event {
	e.Title = clip(e.Title, maxTitle)
	e.Detail = clip(e.Detail, maxDetail)
	e.ID = clip(e.ID, maxField)
	e.Rule = clip(e.Rule, maxField)
	e.Recommendation = clip(e.Recommendation, maxField)
	e.Vulnerability = clip(e.Vulnerability, maxField)
	e.Resource.ID = clip(e.Resource.ID, maxField)
	e.Resource.Name = clip(e.Resource.Name, maxField)
	if len(e.URL) > maxField {
		e.URL = "" // a cut URL points somewhere else: better none
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	return e
}

// clip bounds s with text.Truncate, after making it valid UTF-8 (JSON
// would otherwise replace bad bytes after the cut was measured).
func clip(s string, n int) string {
	return text.Truncate(strings.ToValidUTF8(s, "\uFFFD"), n)
}

// document is an event on the wire: the schema version beside the fields,
// so each body stands alone.
type document struct {
	SchemaVersion string `json:"schema_version"`
	Event
}

// Marshal renders an event as the JSON document the webhook sink posts
// (docs/schema.md, "Notifications"): bounded, times in UTC, one line.
func Marshal(e Event) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as every Bulwark JSON document: text reads as written
	if err := enc.Encode(document{SchemaVersion: model.SchemaVersion, Event: e.normalized()}); err != nil {
		return nil, fmt.Errorf("encoding notification %s: %w", e.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
