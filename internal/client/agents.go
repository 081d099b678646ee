package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Enrolment is what an agent says of itself when it enrols (the server's
// EnrolRequest).
type Enrolment struct {
	Kind            string `json:"kind"`
	Name            string `json:"name"`
	Version         string `json:"version"`
	Hostname        string `json:"hostname,omitempty"`
	IntervalSeconds int    `json:"interval_seconds,omitempty"`
}

// Credential is an agent's own token, as enrolment and rotation return it.
type Credential struct {
	AgentID       string    `json:"agent_id"`
	Token         string    `json:"token"`
	ExpiresAt     time.Time `json:"expires_at"`
	ServerVersion string    `json:"server_version"`
	Warning       string    `json:"warning,omitempty"`
}

// Heartbeat is an agent's call-in.
type Heartbeat struct {
	Version         string          `json:"version"`
	IntervalSeconds int             `json:"interval_seconds,omitempty"`
	Health          json.RawMessage `json:"health,omitempty"`
}

// HeartbeatReply is what the server thinks of the agent.
type HeartbeatReply struct {
	AgentID             string    `json:"agent_id"`
	ServerVersion       string    `json:"server_version"`
	Warning             string    `json:"warning,omitempty"`
	CredentialExpiresAt time.Time `json:"credential_expires_at,omitzero"`
}

// Enrol exchanges the client's enrolment token for an agent credential.
// The client keeps using the enrolment token: call SetToken with the
// credential's.
func (c *Client) Enrol(ctx context.Context, e Enrolment) (*Credential, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var out Credential
	if err := c.do(ctx, http.MethodPost, "/api/v1/agents/enroll", nil, b, &out); err != nil {
		return nil, fmt.Errorf("enrolling: %w", err)
	}
	return &out, nil
}

// Rotate replaces the agent's credential; the client uses the new one from
// then on.
func (c *Client) Rotate(ctx context.Context) (*Credential, error) {
	var out Credential
	if err := c.do(ctx, http.MethodPost, "/api/v1/agents/rotate", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("rotating the agent credential: %w", err)
	}
	c.SetToken(out.Token)
	return &out, nil
}

// Heartbeat reports the agent's version and health.
func (c *Client) Heartbeat(ctx context.Context, h Heartbeat) (*HeartbeatReply, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var out HeartbeatReply
	if err := c.do(ctx, http.MethodPost, "/api/v1/agents/heartbeat", nil, b, &out); err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	return &out, nil
}
