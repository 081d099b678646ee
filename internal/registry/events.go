package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Event is one thing a registry says happened to a manifest.
type Event struct {
	Action     string    `json:"action"` // push | pull | delete
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tag        string    `json:"tag,omitempty"`
	MediaType  string    `json:"media_type,omitempty"`
	At         time.Time `json:"at,omitzero"`
}

// Notification formats.
const (
	FormatDistribution = "distribution" // CNCF distribution's events envelope
	FormatHarbor       = "harbor"       // Harbor's webhook payload
	FormatGeneric      = "generic"      // {repository, digest, action[, tag]} or an array of them
)

// DistributionMediaType is the Content-Type of CNCF distribution's
// notifications.
const DistributionMediaType = "application/vnd.docker.distribution.events.v1+json"

// ErrInvalid wraps every refusal of a notification body (a 4xx).
var ErrInvalid = errors.New("invalid notification")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// MaxEvents bounds the events of one notification (distribution sends a
// handful per request).
const MaxEvents = 1000

var (
	// repoRE is the distribution spec's repository name.
	repoRE   = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// manifestTypes are the media types of what a scan can start from; other
// targets (blobs, signatures' own types) are not images.
var manifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

// ParseEvents reads a notification body in any of the three formats
// (told by contentType or by shape). Events that are not about a manifest
// (blob pushes, mounts) are dropped; an event about one that does not
// validate refuses the whole body: nothing is half-applied.
func ParseEvents(contentType string, body []byte) (format string, evs []Event, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", nil, invalid("empty body")
	}
	if !json.Valid(body) {
		return "", nil, invalid("not a JSON document")
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	var probe struct {
		Events    json.RawMessage `json:"events"`
		Type      string          `json:"type"`
		EventData json.RawMessage `json:"event_data"`
	}
	if body[0] == '{' {
		if err := json.Unmarshal(body, &probe); err != nil {
			return "", nil, invalid("decode: %v", err)
		}
	}
	switch {
	case ct == DistributionMediaType || probe.Events != nil:
		evs, err = parseDistribution(body)
		format = FormatDistribution
	case probe.Type != "" && probe.EventData != nil:
		evs, err = parseHarbor(body)
		format = FormatHarbor
	default:
		evs, err = parseGeneric(body)
		format = FormatGeneric
	}
	if err != nil {
		return format, nil, err
	}
	if len(evs) > MaxEvents {
		return format, nil, invalid("%d events, more than %d", len(evs), MaxEvents)
	}
	for i := range evs {
		if err := evs[i].validate(); err != nil {
			return format, nil, invalid("event %d: %v", i, err)
		}
	}
	return format, evs, nil
}

func (e *Event) validate() error {
	switch e.Action {
	case "push", "pull", "delete":
	default:
		return fmt.Errorf("action %.32q: push, pull or delete", e.Action)
	}
	if len(e.Repository) > 255 || !repoRE.MatchString(e.Repository) {
		return fmt.Errorf("repository %.80q is not a repository name", e.Repository)
	}
	if !digestRE.MatchString(e.Digest) {
		return fmt.Errorf("digest %.80q is not sha256:<64 hex>", e.Digest)
	}
	if e.Tag != "" && !tagRE.MatchString(e.Tag) {
		return fmt.Errorf("tag %.80q is not a tag", e.Tag)
	}
	if len(e.MediaType) > 255 {
		return errors.New("media type too long")
	}
	return nil
}

func strictDecode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalid("decode: %v", err)
	}
	if dec.More() {
		return invalid("trailing data after the document")
	}
	return nil
}

// The distribution envelope (docs: notifications.md of distribution).
type distributionEnvelope struct {
	Events []struct {
		Action    string    `json:"action"`
		Timestamp time.Time `json:"timestamp"`
		Target    struct {
			MediaType  string `json:"mediaType"`
			Digest     string `json:"digest"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"target"`
		Request struct {
			UserAgent string `json:"useragent"`
		} `json:"request"`
	} `json:"events"`
}

// OwnUserAgent marks the server's own registry requests; the pulls they
// cause are not users' pulls.
const OwnUserAgent = "bulwark-registry-watch"

func parseDistribution(body []byte) ([]Event, error) {
	var env distributionEnvelope
	if err := strictDecode(body, &env); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, invalid("no events array")
	}
	var out []Event
	for _, e := range env.Events {
		t := e.Target
		switch {
		case e.Action == "delete" && t.MediaType == "":
			// A manifest delete carries the digest only.
		case !manifestTypes[t.MediaType]:
			continue // a blob, or an artifact that is not an image
		}
		if e.Action == "pull" && strings.Contains(e.Request.UserAgent, OwnUserAgent) {
			continue
		}
		if e.Action == "mount" {
			continue
		}
		out = append(out, Event{Action: e.Action, Repository: t.Repository, Digest: t.Digest, Tag: t.Tag, MediaType: t.MediaType, At: e.Timestamp})
	}
	return out, nil
}

// Harbor's default webhook payload.
type harborPayload struct {
	Type      string `json:"type"`
	OccurAt   int64  `json:"occur_at"`
	EventData struct {
		Resources []struct {
			Digest string `json:"digest"`
			Tag    string `json:"tag"`
		} `json:"resources"`
		Repository struct {
			RepoFullName string `json:"repo_full_name"`
		} `json:"repository"`
	} `json:"event_data"`
}

var harborActions = map[string]string{
	"PUSH_ARTIFACT": "push", "PULL_ARTIFACT": "pull", "DELETE_ARTIFACT": "delete",
	"pushImage": "push", "pullImage": "pull", "deleteImage": "delete",
}

func parseHarbor(body []byte) ([]Event, error) {
	var p harborPayload
	if err := strictDecode(body, &p); err != nil {
		return nil, err
	}
	action, ok := harborActions[p.Type]
	if !ok {
		return nil, nil // scanning, quota, replication events: not about a manifest
	}
	var at time.Time
	if p.OccurAt > 0 {
		at = time.Unix(p.OccurAt, 0).UTC()
	}
	var out []Event
	for _, r := range p.EventData.Resources {
		out = append(out, Event{Action: action, Repository: p.EventData.Repository.RepoFullName, Digest: r.Digest, Tag: r.Tag, At: at})
	}
	return out, nil
}

type genericEvent struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Action     string `json:"action"`
	Tag        string `json:"tag"`
	MediaType  string `json:"media_type"`
}

func parseGeneric(body []byte) ([]Event, error) {
	var list []genericEvent
	if body[0] == '[' {
		if err := strictDecode(body, &list); err != nil {
			return nil, err
		}
	} else {
		var one genericEvent
		if err := strictDecode(body, &one); err != nil {
			return nil, err
		}
		list = []genericEvent{one}
	}
	out := make([]Event, 0, len(list))
	for _, g := range list {
		if g.Action == "" {
			g.Action = "push"
		}
		out = append(out, Event{Action: g.Action, Repository: g.Repository, Digest: g.Digest, Tag: g.Tag, MediaType: g.MediaType})
	}
	return out, nil
}
