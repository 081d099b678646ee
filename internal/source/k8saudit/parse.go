// Package k8saudit turns Kubernetes API-server audit events (audit.k8s.io/v1)
// into events: Parse and ParseList decode them, Webhook receives them from
// the API server's webhook backend, Tailer follows its log backend's files.
package k8saudit

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// ErrFiltered is returned for events of a stage other than ResponseComplete
// or Panic: they are valid but dropped, so a request counts once.
var ErrFiltered = errors.New("audit event stage is not ResponseComplete or Panic")

// auditEvent holds only what is mapped. Sub-objects are values, not
// pointers (an absent one reads as empty), so decoding allocates less. Request and response objects stay
// raw: decoding every pod spec would dominate the cost, and most rules
// never look at them.
type auditEvent struct {
	Kind             string            `json:"kind"`
	Level            string            `json:"level"`
	AuditID          string            `json:"auditID"`
	Stage            string            `json:"stage"`
	RequestURI       string            `json:"requestURI"`
	Verb             string            `json:"verb"`
	User             userInfo          `json:"user"`
	ImpersonatedUser userInfo          `json:"impersonatedUser"`
	SourceIPs        []string          `json:"sourceIPs"`
	UserAgent        string            `json:"userAgent"`
	ObjectRef        objectRef         `json:"objectRef"`
	ResponseStatus   status            `json:"responseStatus"`
	RequestObject    json.RawMessage   `json:"requestObject"`
	ResponseObject   json.RawMessage   `json:"responseObject"`
	RequestReceived  string            `json:"requestReceivedTimestamp"`
	StageTimestamp   string            `json:"stageTimestamp"`
	Annotations      map[string]string `json:"annotations"`

	// The hand-written decoder keeps a plain (unescaped) timestamp as a
	// sub-slice of the input here instead of allocating its string: it is
	// only parsed. A timestamp is in one of the two forms, never both.
	requestReceivedRaw, stageTimestampRaw []byte
}

type userInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type objectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	APIVersion  string `json:"apiVersion"`
	Subresource string `json:"subresource"`
}

type status struct {
	Code int `json:"code"`
}

// Parse decodes one audit.k8s.io/v1 Event. It returns ErrFiltered for
// stages other than ResponseComplete and Panic. The event keeps b as its
// Raw evidence, and its request and response objects are sub-slices of b:
// the caller must not reuse b.
func Parse(b []byte) (*event.Event, error) {
	return parse(b, nil)
}

func parse(b []byte, strs *strCache) (*event.Event, error) {
	var a auditEvent
	if err := decodeEvent(b, &a, strs); err != nil {
		return nil, fmt.Errorf("decoding audit event: %w", err)
	}
	return convert(&a, b)
}

// Parser decodes like Parse and ParseListDetail, and shares the strings
// that recur from one event to the next (user agents, users, groups,
// namespaces, annotations) through a small bounded table, so a long
// stream allocates less. A Parser is for one goroutine.
type Parser struct{ strs *strCache }

// NewParser returns a Parser with an empty table.
func NewParser() *Parser { return &Parser{strs: newStrCache()} }

// Parse is Parse with the Parser's table.
func (p *Parser) Parse(b []byte) (*event.Event, error) { return parse(b, p.strs) }

// ParseListDetail is ParseListDetail with the Parser's table.
func (p *Parser) ParseListDetail(b []byte) ([]*event.Event, ListResult, error) {
	return parseListDetail(b, p.strs)
}

func convert(a *auditEvent, raw []byte) (*event.Event, error) {
	if a.Kind != "" && a.Kind != "Event" {
		return nil, fmt.Errorf("decoding audit event: kind %q, want Event", a.Kind)
	}
	if a.AuditID == "" || a.Verb == "" || a.Stage == "" {
		return nil, fmt.Errorf("decoding audit event: missing auditID, verb or stage")
	}
	if a.Stage != "ResponseComplete" && a.Stage != "Panic" {
		return nil, ErrFiltered
	}
	// The event and its audit part are allocated together: one object
	// instead of two per event.
	both := &struct {
		ev event.Event
		k  event.K8sAudit
	}{}
	k := &both.k
	*k = event.K8sAudit{
		AuditID:        a.AuditID,
		Stage:          a.Stage,
		Level:          a.Level,
		Verb:           a.Verb,
		RequestURI:     a.RequestURI,
		UserAgent:      a.UserAgent,
		User:           a.User.Username,
		Groups:         a.User.Groups,
		SourceIPs:      a.SourceIPs,
		Annotations:    a.Annotations,
		RequestObject:  a.RequestObject,
		ResponseObject: a.ResponseObject,
	}
	k.ImpersonatedUser = a.ImpersonatedUser.Username
	if r := &a.ObjectRef; true {
		k.Resource, k.Subresource = r.Resource, r.Subresource
		k.Namespace, k.Name = r.Namespace, r.Name
		k.APIGroup, k.APIVersion = r.APIGroup, r.APIVersion
	}
	k.Code = a.ResponseStatus.Code
	if string(k.RequestObject) == "null" {
		k.RequestObject = nil
	}
	if string(k.ResponseObject) == "null" {
		k.ResponseObject = nil
	}
	ts := timestamp(a.StageTimestamp, a.stageTimestampRaw)
	if len(ts) == 0 {
		ts = timestamp(a.RequestReceived, a.requestReceivedRaw)
	}
	var when time.Time
	if len(ts) > 0 {
		var ok bool
		if when, ok = parseTimeFast(ts); !ok {
			var err error
			if when, err = time.Parse(time.RFC3339Nano, string(ts)); err != nil {
				return nil, fmt.Errorf("decoding audit event %s: stageTimestamp: %w", a.AuditID, err)
			}
		}
	}
	both.ev = event.Event{
		Time:   when,
		Source: event.SourceK8sAudit,
		Kind:   event.KindK8sAudit,
		Action: a.Verb,
		K8s:    k,
		Raw:    raw,
	}
	return &both.ev, nil
}

// timestamp is a timestamp field's text, whichever form it was kept in.
func timestamp(s string, raw []byte) []byte {
	if raw != nil {
		return raw
	}
	return []byte(s)
}

// parseTimeFast parses the one form the API server writes,
// 2006-01-02T15:04:05.999999999Z, without allocating. It accepts only what
// time.Parse(time.RFC3339Nano) accepts and gives the same time (ok false
// for anything else: the caller falls back to time.Parse).
func parseTimeFast(b []byte) (t time.Time, ok bool) {
	n := len(b)
	if n < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[n-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				ok = false
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	ok = true
	year, month, day := num(b[0:4]), num(b[5:7]), num(b[8:10])
	hour, minute, sec := num(b[11:13]), num(b[14:16]), num(b[17:19])
	ns := 0
	if frac := b[19 : n-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		ns = num(frac[1:])
		for i := len(frac) - 1; i < 9; i++ {
			ns *= 10
		}
	}
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ListResult is what ParseList found besides the events.
type ListResult struct {
	Filtered  int
	Malformed []error // one per item that could not be decoded
}

// ParseList decodes an audit.k8s.io/v1 EventList, dropping filtered
// stages. Malformed items are left out and reported, joined, in the error
// beside the events of the good ones; ParseListDetail counts them instead.
func ParseList(b []byte) ([]*event.Event, error) {
	evs, res, err := ParseListDetail(b)
	if err == nil && len(res.Malformed) > 0 {
		err = errors.Join(res.Malformed...)
	}
	return evs, err
}

// ParseListDetail decodes an audit.k8s.io/v1 EventList. A malformed item is
// reported in ListResult and the other items are kept; the error is only
// for a body that is not an EventList at all.
func ParseListDetail(b []byte) ([]*event.Event, ListResult, error) {
	return parseListDetail(b, nil)
}

func parseListDetail(b []byte, strs *strCache) ([]*event.Event, ListResult, error) {
	var res ListResult
	var evs []*event.Event
	n := 0
	kind, err := decodeList(b, strs, func(a *auditEvent, raw []byte) {
		e, err := convert(a, raw)
		switch {
		case errors.Is(err, ErrFiltered):
			res.Filtered++
		case err != nil:
			res.Malformed = append(res.Malformed, fmt.Errorf("item %d: %w", n, err))
		default:
			evs = append(evs, e)
		}
		n++
	})
	if err != nil {
		return nil, ListResult{}, fmt.Errorf("decoding audit event list (item %d): %w", n, err)
	}
	if kind != "EventList" {
		return nil, ListResult{}, fmt.Errorf("decoding audit event list: kind %q, want EventList", kind)
	}
	return evs, res, nil
}
