package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Agent credentials: an agent enrols with a short-lived enrolment token
// (scope enroll) and receives its own token, scope ingest, bound to its
// host or cluster, valid for AgentCredentialTTL. It rotates the token
// before expiry; the old one stays valid for rotationGrace so requests in
// flight at the switch still pass.
const (
	defaultAgentCredentialTTL = 30 * 24 * time.Hour
	rotationGrace             = 10 * time.Minute
	// maxEnrolmentTTL bounds an enrolment token's life: it is a bootstrap
	// secret, often pasted into a manifest.
	maxEnrolmentTTL = 7 * 24 * time.Hour
)

// AgentKinds are the agents the server enrols.
var agentKinds = map[string]bool{"docker": true, "cluster": true, "node": true}

// EnrolRequest is what an agent says of itself when it enrols.
type EnrolRequest struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Hostname string `json:"hostname,omitempty"`
	// IntervalSeconds is how often it will call in (heartbeat).
	IntervalSeconds int `json:"interval_seconds,omitempty"`
}

// Credential is an agent's token as the server hands it out.
type Credential struct {
	AgentID       string    `json:"agent_id"`
	Token         string    `json:"token"`
	ExpiresAt     time.Time `json:"expires_at"`
	ServerVersion string    `json:"server_version"`
	Warning       string    `json:"warning,omitempty"`
}

// Heartbeat is an agent's periodic call-in.
type Heartbeat struct {
	Version         string          `json:"version"`
	IntervalSeconds int             `json:"interval_seconds,omitempty"`
	Health          json.RawMessage `json:"health,omitempty"`
}

// HeartbeatReply tells the agent what the server thinks of it.
type HeartbeatReply struct {
	AgentID             string    `json:"agent_id"`
	ServerVersion       string    `json:"server_version"`
	Warning             string    `json:"warning,omitempty"`
	CredentialExpiresAt time.Time `json:"credential_expires_at,omitzero"`
}

func (a *API) credentialTTL() time.Duration {
	if a.o.AgentCredentialTTL > 0 {
		return a.o.AgentCredentialTTL
	}
	return defaultAgentCredentialTTL
}

// skew answers whether an agent of version v may talk to this server:
// the same minor version or one older; newer is accepted with a warning
// (an upgrade in progress); older still is refused. Development builds
// (no semantic version on either side) are not judged.
func skew(server, agent string) (warning string, err error) {
	sMaj, sMin, ok1 := majorMinor(server)
	aMaj, aMin, ok2 := majorMinor(agent)
	switch {
	case !ok1 || !ok2:
		return "", nil
	case aMaj != sMaj || aMin < sMin-1:
		return "", fmt.Errorf("agent version %s is too old for server %s: the server accepts agents of %d.%d and %d.%d; upgrade the agent", agent, server, sMaj, max(sMin-1, 0), sMaj, sMin)
	case aMin == sMin-1:
		return fmt.Sprintf("agent version %s is one minor version behind the server (%s): supported, upgrade soon", agent, server), nil
	case aMin > sMin:
		return fmt.Sprintf("agent version %s is newer than the server (%s): upgrade the server first", agent, server), nil
	}
	return "", nil
}

func majorMinor(v string) (int, int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return 0, 0, false
	}
	return maj, min, true
}

func validAgentName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._:", r)) {
			return false
		}
	}
	return true
}

func (a *API) enrolAgent(w http.ResponseWriter, r *http.Request) {
	var in EnrolRequest
	if !decodeBody(w, r, &in) {
		return
	}
	if !agentKinds[in.Kind] {
		problem(w, r, http.StatusBadRequest, "bad enrolment", fmt.Sprintf("kind %q: want docker, cluster or node", in.Kind))
		return
	}
	if !validAgentName(in.Name) || (in.Hostname != "" && !validAgentName(in.Hostname)) {
		problem(w, r, http.StatusBadRequest, "bad enrolment", "name and hostname: 1-253 characters of letters, digits and -._:")
		return
	}
	warn, err := skew(a.o.Version, in.Version)
	if err != nil {
		problem(w, r, http.StatusUpgradeRequired, "agent too old", err.Error())
		return
	}
	p := principalOf(r)
	// The credential writes for the enrolment token's resource when it
	// names one, else for the agent's own host or cluster by name. A node
	// agent without a bound enrolment token writes for no root of its own
	// (its node reports name their cluster).
	binding := p.Binding
	if binding == "" {
		switch in.Kind {
		case "docker":
			binding = string(model.KindDockerHost) + "/" + in.Name
		case "cluster":
			binding = string(model.KindCluster) + "/" + in.Name
		}
	}
	agentID, err := auth.RandomString(9)
	if err != nil {
		problem(w, r, http.StatusInternalServerError, "internal error", "no randomness")
		return
	}
	now := a.o.Now()
	cred, secret, err := newAgentToken(agentID, in.Kind, in.Name, binding, p.BoundID, p.Actor(), now, a.credentialTTL())
	if err != nil {
		problem(w, r, http.StatusInternalServerError, "internal error", "cannot make a token")
		return
	}
	interval := time.Duration(in.IntervalSeconds) * time.Second
	ag := store.Agent{ID: agentID, Kind: in.Kind, Name: in.Name, Binding: binding, Version: in.Version, Hostname: in.Hostname,
		EnrolledBy: p.Actor(), EnrolledAt: now, Interval: interval}
	if err := a.o.Store.EnrolAgent(r.Context(), ag, *cred); err != nil {
		a.storeError(w, r, err, "agent")
		return
	}
	a.audit(r, "agent.enrol", agentID, fmt.Sprintf("%s agent %s version %s binding %q credential %s", in.Kind, in.Name, in.Version, binding, cred.ID))
	writeJSON(w, http.StatusCreated, Credential{AgentID: agentID, Token: secret, ExpiresAt: cred.ExpiresAt, ServerVersion: a.o.Version, Warning: warn})
}

func newAgentToken(agentID, kind, name, binding, boundID, by string, now time.Time, ttl time.Duration) (*store.Token, string, error) {
	id, secret, hash, err := auth.NewToken()
	if err != nil {
		return nil, "", err
	}
	return &store.Token{ID: id, Name: "agent:" + kind + ":" + name + ":" + agentID, SecretHash: hash, Scopes: []string{string(auth.ScopeIngest)},
		Binding: binding, BoundID: boundID, CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(ttl)}, secret, nil
}

// callingAgent is the agent whose credential made the request.
func (a *API) callingAgent(w http.ResponseWriter, r *http.Request) (*store.Agent, bool) {
	p := principalOf(r)
	// The scope check passed: what is missing is an agent behind the
	// credential (a person, or a token made by hand), so 404.
	if p == nil || p.Kind != "token" {
		problem(w, r, http.StatusNotFound, "no such agent", "this route is for an agent's own credential")
		return nil, false
	}
	ag, err := a.o.Store.AgentByToken(r.Context(), p.ID)
	if errors.Is(err, store.ErrNotFound) {
		problem(w, r, http.StatusNotFound, "no such agent", "this token is no agent's credential (enrol with an enrolment token first)")
		return nil, false
	}
	if err != nil {
		a.storeError(w, r, err, "agent")
		return nil, false
	}
	return ag, true
}

func (a *API) rotateAgent(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.callingAgent(w, r)
	if !ok {
		return
	}
	p := principalOf(r)
	if p.ID != ag.TokenID {
		problem(w, r, http.StatusConflict, "credential already rotated", "this is the agent's previous credential: use the one the last rotation returned")
		return
	}
	now := a.o.Now()
	cred, secret, err := newAgentToken(ag.ID, ag.Kind, ag.Name, ag.Binding, "", p.Actor(), now, a.credentialTTL())
	if err != nil {
		problem(w, r, http.StatusInternalServerError, "internal error", "cannot make a token")
		return
	}
	if err := a.o.Store.RotateAgentToken(r.Context(), ag.ID, p.ID, *cred, now.Add(rotationGrace)); err != nil {
		a.storeError(w, r, err, "agent credential")
		return
	}
	a.audit(r, "agent.rotate", ag.ID, fmt.Sprintf("credential %s replaces %s", cred.ID, p.ID))
	writeJSON(w, http.StatusCreated, Credential{AgentID: ag.ID, Token: secret, ExpiresAt: cred.ExpiresAt, ServerVersion: a.o.Version})
}

func (a *API) agentHeartbeat(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.callingAgent(w, r)
	if !ok {
		return
	}
	var in Heartbeat
	if !decodeBody(w, r, &in) {
		return
	}
	warn, err := skew(a.o.Version, in.Version)
	if err != nil {
		problem(w, r, http.StatusUpgradeRequired, "agent too old", err.Error())
		return
	}
	if len(in.Health) > 16<<10 {
		problem(w, r, http.StatusRequestEntityTooLarge, "health too large", "an agent's health summary is at most 16 KiB")
		return
	}
	health := ""
	if len(in.Health) > 0 {
		if !json.Valid(in.Health) {
			problem(w, r, http.StatusBadRequest, "bad heartbeat", "health is not JSON")
			return
		}
		health = string(in.Health)
	}
	if err := a.o.Store.AgentContact(r.Context(), ag.ID, in.Version, time.Duration(in.IntervalSeconds)*time.Second, health); err != nil {
		a.storeError(w, r, err, "agent")
		return
	}
	reply := HeartbeatReply{AgentID: ag.ID, ServerVersion: a.o.Version, Warning: warn}
	if t, err := a.o.Store.Token(r.Context(), principalOf(r).ID); err == nil {
		reply.CredentialExpiresAt = t.ExpiresAt
	}
	writeJSON(w, http.StatusOK, reply)
}

// agentView is an agent as the list shows it: its health as JSON.
type agentView struct {
	store.Agent
	Health json.RawMessage `json:"health,omitempty"`
}

func (a *API) listAgents(w http.ResponseWriter, r *http.Request) {
	as, err := a.o.Store.Agents(r.Context())
	if err != nil {
		a.storeError(w, r, err, "agents")
		return
	}
	out := make([]agentView, len(as))
	for i, ag := range as {
		out[i] = agentView{Agent: ag}
		if ag.Health != "" {
			out[i].Health = json.RawMessage(ag.Health)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// isAgentCredential says whether p is an agent's own credential (scope
// ingest, issued at enrolment), for the routes an agent may call beyond
// its scope (Route.Agents). A token made by hand with the ingest scope is
// not one: it stays refused.
func (a *API) isAgentCredential(ctx context.Context, p *auth.Principal) bool {
	if p == nil || p.Kind != "token" || !p.Has(auth.ScopeIngest) {
		return false
	}
	_, err := a.o.Store.AgentByToken(ctx, p.ID)
	return err == nil
}
