// Package auth answers "may this caller do this to that": users and their
// roles, API tokens and their scopes and bindings, and the hashing of the
// secrets behind both. Every handler of the server asks Allow; nothing else
// decides access.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope is what a token or role may do.
type Scope string

const (
	ScopeRead   Scope = "read"   // every GET of the API
	ScopeIngest Scope = "ingest" // POST reports, registry events
	ScopeTriage Scope = "triage" // exempt, dismiss, resolve
	ScopeAdmin  Scope = "admin"  // users, tokens, settings
	// ScopeEnroll is an enrolment token's only power: exchanging itself
	// for an agent's own credential.
	ScopeEnroll Scope = "enroll"
	// ScopeNone marks the routes anyone may call (health, OpenAPI).
	ScopeNone Scope = ""
)

// Scopes lists every scope.
func Scopes() []Scope { return []Scope{ScopeRead, ScopeIngest, ScopeTriage, ScopeAdmin, ScopeEnroll} }

// ParseScopes reads "ingest,read".
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(Scopes(), Scope(p)) {
			return nil, fmt.Errorf("unknown scope %q: one of read, ingest, triage, admin, enroll", p)
		}
		if !slices.Contains(out, Scope(p)) {
			out = append(out, Scope(p))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scope: give one or more of read, ingest, triage, admin, enroll")
	}
	slices.Sort(out)
	return out, nil
}

// Role is a user's role.
type Role string

const (
	RoleReader  Role = "reader"
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleReader, RoleAnalyst, RoleAdmin:
		return Role(s), nil
	}
	return "", fmt.Errorf("unknown role %q: one of reader, analyst, admin", s)
}

// RoleScopes maps a role to its scopes: reader reads, analyst also triages,
// admin does everything (ingest included, for a person testing by hand).
func RoleScopes(r Role) []Scope {
	switch r {
	case RoleReader:
		return []Scope{ScopeRead}
	case RoleAnalyst:
		return []Scope{ScopeRead, ScopeTriage}
	case RoleAdmin:
		return Scopes()
	}
	return nil
}

// Principal is an authenticated caller.
type Principal struct {
	// Kind is "user" or "token".
	Kind   string
	Name   string // user name, or token name
	ID     string // token id
	Role   Role
	Scopes []Scope
	// Binding restricts a token's writes: "cluster/NAME-or-ID" or
	// "docker-host/NAME-or-ID"; BoundID is the resource id it was pinned to
	// at its first write.
	Binding string
	BoundID string
	// CSRF is the session's token (users only): unsafe requests must echo it.
	CSRF string
}

// Actor names the principal in the audit trail.
func (p *Principal) Actor() string {
	if p == nil {
		return "anonymous"
	}
	if p.Kind == "token" {
		return "token:" + p.Name + "(" + p.ID + ")"
	}
	return "user:" + p.Name
}

// Has reports whether the principal holds a scope.
func (p *Principal) Has(s Scope) bool {
	if s == ScopeNone {
		return true
	}
	return p != nil && slices.Contains(p.Scopes, s)
}

// ErrUnauthenticated: no or bad credentials (401).
var ErrUnauthenticated = errors.New("authentication required")

// ErrForbidden: authenticated, not allowed (403).
var ErrForbidden = errors.New("forbidden")

// Allow decides a request needing scope s.
func Allow(p *Principal, s Scope) error {
	if s == ScopeNone {
		return nil
	}
	if p == nil {
		return ErrUnauthenticated
	}
	if !p.Has(s) {
		return fmt.Errorf("%w: needs scope %q", ErrForbidden, s)
	}
	return nil
}

// Target is what a write is for: the root resource of a report (a cluster
// or a Docker host) by kind, id and name.
type Target struct {
	Kind string
	ID   string
	Name string
}

// AllowWrite checks a bound token writes only for its resource. Unbound
// principals write anything their scope allows. A binding names a kind and
// a name or id; the first write pins it to that resource's id, so a second
// cluster calling itself by the same name is refused. Reports whose root
// is not a host or cluster (an image inventory, which the server matches
// itself) carry no Target and pass.
func AllowWrite(p *Principal, t *Target) (pin string, err error) {
	if p == nil || p.Binding == "" || t == nil {
		return "", nil
	}
	kind, want, _ := strings.Cut(p.Binding, "/")
	if t.Kind != kind {
		return "", fmt.Errorf("%w: token bound to %s may not write for %s %s", ErrForbidden, p.Binding, t.Kind, t.ID)
	}
	if p.BoundID != "" {
		if p.BoundID != t.ID {
			return "", fmt.Errorf("%w: token bound to %s (%s) may not write for %s %s", ErrForbidden, p.Binding, p.BoundID, t.Kind, t.ID)
		}
		return "", nil
	}
	if want != t.ID && want != t.Name {
		return "", fmt.Errorf("%w: token bound to %s may not write for %s %s (%s)", ErrForbidden, p.Binding, t.Kind, t.ID, t.Name)
	}
	return t.ID, nil
}

// Token format: "bwt_" + id (12 hex) + "_" + secret (43 base64url). The id
// finds the row; the secret is compared with its stored SHA-256 (a 256-bit
// random secret needs no slow hash; passwords do).
const tokenPrefix = "bwt_"

// NewToken makes a token's id, secret string and stored hash.
func NewToken() (id, token, hash string, err error) {
	var idb [6]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", "", err
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", "", "", err
	}
	id = hex.EncodeToString(idb[:])
	secret := base64.RawURLEncoding.EncodeToString(sec[:])
	return id, tokenPrefix + id + "_" + secret, HashSecret(secret), nil
}

// ParseToken splits a token into its id and secret.
func ParseToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(tok), tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(secret) < 20 || len(secret) > 100 {
		return "", "", false
	}
	return id, secret, true
}

// HashSecret hashes a high-entropy secret (token, session cookie).
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// SecretMatches compares a secret with a stored hash in constant time.
func SecretMatches(secret, hash string) bool {
	got := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// RandomString returns n random bytes, base64url.
func RandomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseExpiry reads "90d", "12h", "never" or an RFC 3339 time.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "never":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err != nil || n <= 0 || n > 3650 {
			return time.Time{}, fmt.Errorf("expiry %q: want a number of days like 90d", s)
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expiry %q: want 90d, 12h, never or an RFC 3339 time", s)
}
