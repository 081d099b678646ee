package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Agent is an enrolled agent and what it last said of itself.
type Agent struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // docker, cluster, node
	Name        string    `json:"name"`
	Binding     string    `json:"binding,omitempty"` // its credential's binding (docker-host/NAME, cluster/NAME)
	BoundID     string    `json:"resource_id,omitempty"`
	TokenID     string    `json:"token_id"`
	PrevTokenID string    `json:"-"`
	Version     string    `json:"version"`
	Hostname    string    `json:"hostname,omitempty"`
	EnrolledBy  string    `json:"enrolled_by,omitempty"`
	EnrolledAt  time.Time `json:"enrolled_at"`
	LastContact time.Time `json:"last_contact,omitzero"`
	// Interval is how often the agent said it would call in.
	Interval time.Duration `json:"-"`
	// Health is the agent's own JSON summary (counters, errors).
	Health string `json:"-"`
	// Silent is set when reading: no contact for three intervals.
	Silent bool `json:"silent"`
}

const agentCols = `a.id, a.kind, a.name, a.binding, a.token_id, a.prev_token_id, a.version, a.hostname, a.enrolled_by, a.enrolled_at, a.last_contact, a.interval_ms, a.health, COALESCE(t.bound_id, '')`

func (s *Store) scanAgent(sc interface{ Scan(...any) error }) (*Agent, error) {
	var a Agent
	var at, lc, iv int64
	if err := sc.Scan(&a.ID, &a.Kind, &a.Name, &a.Binding, &a.TokenID, &a.PrevTokenID, &a.Version, &a.Hostname, &a.EnrolledBy, &at, &lc, &iv, &a.Health, &a.BoundID); err != nil {
		return nil, err
	}
	a.EnrolledAt, a.LastContact, a.Interval = fromMS(at), fromMS(lc), time.Duration(iv)*time.Millisecond
	if a.Interval > 0 {
		last := a.LastContact
		if last.IsZero() {
			last = a.EnrolledAt
		}
		a.Silent = s.now().Sub(last) > 3*a.Interval
	}
	return &a, nil
}

// EnrolAgent stores a new agent and its first credential in one
// transaction.
func (s *Store) EnrolAgent(ctx context.Context, a Agent, cred Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertToken(ctx, tx, cred); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO agents (id, kind, name, binding, token_id, version, hostname, enrolled_by, enrolled_at, interval_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Kind, a.Name, a.Binding, cred.ID, a.Version, a.Hostname, a.EnrolledBy, ms(a.EnrolledAt), a.Interval.Milliseconds())
		if isUnique(err) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("store agent %s: %w", a.Name, err)
		}
		return nil
	})
}

func (s *Store) insertToken(ctx context.Context, x execer, t Token) error {
	_, err := s.exec(ctx, x, `INSERT INTO tokens (id, name, secret_hash, scopes, binding, bound_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.SecretHash, joinScopes(t.Scopes), t.Binding, t.BoundID, t.CreatedBy, ms(t.CreatedAt), ms(t.ExpiresAt))
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store token %s: %w", t.Name, err)
	}
	return nil
}

// AgentByToken finds the agent whose current or previous credential is
// tokenID.
func (s *Store) AgentByToken(ctx context.Context, tokenID string) (*Agent, error) {
	a, err := s.scanAgent(s.db.QueryRowContext(ctx, s.q(`SELECT `+agentCols+` FROM agents a LEFT JOIN tokens t ON t.id = a.token_id WHERE a.token_id = ? OR a.prev_token_id = ?`), tokenID, tokenID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read agent: %w", err)
	}
	return a, nil
}

// Agents lists the agents by kind and name.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+agentCols+` FROM agents a LEFT JOIN tokens t ON t.id = a.token_id ORDER BY a.kind, a.name, a.id LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		a, err := s.scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// RotateAgentToken gives agent id the credential next (inheriting the
// old one's pinned resource); the old one, oldID, now expires at
// graceUntil unless it expires sooner.
func (s *Store) RotateAgentToken(ctx context.Context, id, oldID string, next Token, graceUntil time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var bound string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT bound_id FROM tokens WHERE id = ?`), oldID).Scan(&bound); err != nil {
			return fmt.Errorf("read agent credential: %w", err)
		}
		next.BoundID = bound
		if err := s.insertToken(ctx, tx, next); err != nil {
			return err
		}
		r, err := s.exec(ctx, tx, `UPDATE agents SET token_id = ?, prev_token_id = ? WHERE id = ? AND token_id = ?`, next.ID, oldID, id, oldID)
		if err != nil {
			return fmt.Errorf("rotate agent credential: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrConflict // rotated already with this credential
		}
		g := ms(graceUntil)
		_, err = s.exec(ctx, tx, `UPDATE tokens SET expires_at = ? WHERE id = ? AND (expires_at = 0 OR expires_at > ?)`, g, oldID, g)
		return err
	})
}

// AgentContact records a heartbeat: version, interval and health.
func (s *Store) AgentContact(ctx context.Context, id, version string, interval time.Duration, health string) error {
	_, err := s.write(ctx, `UPDATE agents SET last_contact = ?, version = ?, interval_ms = ?, health = ? WHERE id = ?`,
		ms(s.now()), version, interval.Milliseconds(), health, id)
	if err != nil {
		return fmt.Errorf("record agent contact: %w", err)
	}
	return nil
}

func joinScopes(s []string) string { return strings.Join(s, ",") }
