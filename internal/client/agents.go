package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/bulwarkdev/bulwark/internal/api"
)

// The agent routes' bodies are the API's own types: one definition of the
// wire format.
type (
	// Enrolment is what an agent says of itself when it enrols.
	Enrolment = api.EnrolRequest
	// Credential is an agent's own token, as enrolment and rotation return it.
	Credential = api.Credential
	// Heartbeat is an agent's call-in.
	Heartbeat = api.Heartbeat
	// HeartbeatReply is what the server thinks of the agent.
	HeartbeatReply = api.HeartbeatReply
)

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
