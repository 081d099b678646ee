package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is a person who logs in to the server.
type User struct {
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	MustChange   bool      `json:"must_change_password,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	FailedLogins int       `json:"-"`
	LockedUntil  time.Time `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint") || strings.Contains(m, "duplicate key") || strings.Contains(m, "SQLSTATE 23505")
}

// CreateUser adds a user; ErrConflict when the name is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	_, err := s.write(ctx, `INSERT INTO users (name, password_hash, role, must_change, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Name, u.PasswordHash, u.Role, b2i(u.MustChange), b2i(u.Disabled), ms(s.now()))
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return nil
}

// CountUsers counts users (none means a first run).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

const userCols = `name, password_hash, role, must_change, disabled, failed_logins, locked_until, created_at`

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var must, dis int
	var locked, created int64
	if err := sc.Scan(&u.Name, &u.PasswordHash, &u.Role, &must, &dis, &u.FailedLogins, &locked, &created); err != nil {
		return nil, err
	}
	u.MustChange, u.Disabled = must == 1, dis == 1
	u.LockedUntil, u.CreatedAt = fromMS(locked), fromMS(created)
	return &u, nil
}

// User reads a user by name.
func (s *Store) User(ctx context.Context, name string) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user %s: %w", name, err)
	}
	return u, nil
}

// Users lists users by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// UpdateUser writes a user's role, password, flags and lock state.
func (s *Store) UpdateUser(ctx context.Context, u User) error {
	r, err := s.write(ctx, `UPDATE users SET password_hash = ?, role = ?, must_change = ?, disabled = ?, failed_logins = ?, locked_until = ? WHERE name = ?`,
		u.PasswordHash, u.Role, b2i(u.MustChange), b2i(u.Disabled), u.FailedLogins, ms(u.LockedUntil), u.Name)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.Name, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// LoginFailed counts a failed log-in and locks the user out for a while
// after several: the count lives in the store so every replica sees it.
// It returns the lock's end (zero when not locked).
func (s *Store) LoginFailed(ctx context.Context, name string, threshold int, lock func(fails int) time.Duration) (time.Time, error) {
	var until time.Time
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var fails int
		err := tx.QueryRowContext(ctx, s.q(`SELECT failed_logins FROM users WHERE name = ?`), name).Scan(&fails)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		fails++
		if fails >= threshold {
			until = s.now().Add(lock(fails))
		}
		_, err = s.exec(ctx, tx, `UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?`, fails, ms(until), name)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("count failed log-in of %s: %w", name, err)
	}
	return until, nil
}

// LoginSucceeded clears the failure count.
func (s *Store) LoginSucceeded(ctx context.Context, name string) error {
	_, err := s.write(ctx, `UPDATE users SET failed_logins = 0, locked_until = 0 WHERE name = ?`, name)
	return err
}

// DeleteUser removes a user and their sessions.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.exec(ctx, tx, `DELETE FROM users WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete user %s: %w", name, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = s.exec(ctx, tx, `DELETE FROM sessions WHERE user_name = ?`, name)
		return err
	})
}

// Session is a logged-in browser.
type Session struct {
	IDHash    string
	User      string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	_, err := s.write(ctx, `INSERT INTO sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		se.IDHash, se.User, se.CSRF, ms(se.CreatedAt), ms(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	// Expired sessions go as new ones come, so the table stays bounded.
	_, err = s.write(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(s.now()))
	return err
}

// Session reads a live session by the hash of its cookie.
func (s *Store) Session(ctx context.Context, idHash string) (*Session, error) {
	var se Session
	var c, e int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id_hash, user_name, csrf, created_at, expires_at FROM sessions WHERE id_hash = ?`), idHash).Scan(&se.IDHash, &se.User, &se.CSRF, &c, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	se.CreatedAt, se.ExpiresAt = fromMS(c), fromMS(e)
	if !s.now().Before(se.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &se, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.write(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteSessionsOf ends every session of a user (a password change).
func (s *Store) DeleteSessionsOf(ctx context.Context, user string) error {
	_, err := s.write(ctx, `DELETE FROM sessions WHERE user_name = ?`, user)
	return err
}

// Token is an API token: its secret is stored hashed.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	SecretHash string    `json:"-"`
	Scopes     []string  `json:"scopes"`
	Binding    string    `json:"binding,omitempty"`  // kind/name-or-id the token may write for
	BoundID    string    `json:"bound_id,omitempty"` // the resource id the binding was pinned to
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	_, err := s.write(ctx, `INSERT INTO tokens (id, name, secret_hash, scopes, binding, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.SecretHash, strings.Join(t.Scopes, ","), t.Binding, t.CreatedBy, ms(t.CreatedAt), ms(t.ExpiresAt))
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store token %s: %w", t.Name, err)
	}
	return nil
}

const tokenCols = `id, name, secret_hash, scopes, binding, bound_id, created_by, created_at, expires_at, revoked_at, last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var scopes string
	var c, e, r, u int64
	if err := sc.Scan(&t.ID, &t.Name, &t.SecretHash, &scopes, &t.Binding, &t.BoundID, &t.CreatedBy, &c, &e, &r, &u); err != nil {
		return nil, err
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMS(c), fromMS(e), fromMS(r), fromMS(u)
	return &t, nil
}

// Token reads a token by its public id.
func (s *Store) Token(ctx context.Context, id string) (*Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM tokens WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists tokens, newest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at DESC, id LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token (kept, so the audit trail can name it).
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	r, err := s.write(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ms(s.now()), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchToken records a token's use, at most once a minute per token: a
// read decides, so most requests take no write lock at all.
func (s *Store) TouchToken(ctx context.Context, id string) error {
	now := ms(s.now())
	var last int64
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT last_used_at FROM tokens WHERE id = ?`), id).Scan(&last); err != nil || last >= now-60_000 {
		return err
	}
	_, err := s.write(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, now, id, now-60_000)
	return err
}

// PinToken pins a token's binding to the first resource id it writes for;
// it returns the pinned id (another one if a concurrent request won).
func (s *Store) PinToken(ctx context.Context, id, resourceID string) (string, error) {
	if _, err := s.write(ctx, `UPDATE tokens SET bound_id = ? WHERE id = ? AND bound_id = ''`, resourceID, id); err != nil {
		return "", fmt.Errorf("pin token binding: %w", err)
	}
	t, err := s.Token(ctx, id)
	if err != nil {
		return "", err
	}
	return t.BoundID, nil
}

// AuditEntry is a change a person or token made.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Audit records a change.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.write(ctx, `INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`, ms(e.At), e.Actor, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// AuditLog lists the newest entries.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > MaxLimit {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at, actor, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// OIDCState is a log-in in progress with the identity provider.
type OIDCState struct {
	StateHash string
	Nonce     string
	Verifier  string
	ReturnTo  string
	ExpiresAt time.Time
}

// PutOIDCState stores a log-in in progress (and forgets expired ones).
func (s *Store) PutOIDCState(ctx context.Context, st OIDCState) error {
	if _, err := s.write(ctx, `DELETE FROM oidc_states WHERE expires_at < ?`, ms(s.now())); err != nil {
		return fmt.Errorf("expire log-in states: %w", err)
	}
	_, err := s.write(ctx, `INSERT INTO oidc_states (state_hash, nonce, verifier, return_to, expires_at) VALUES (?, ?, ?, ?, ?)`,
		st.StateHash, st.Nonce, st.Verifier, st.ReturnTo, ms(st.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store log-in state: %w", err)
	}
	return nil
}

// TakeOIDCState reads and deletes a log-in state: each is good once.
func (s *Store) TakeOIDCState(ctx context.Context, stateHash string) (*OIDCState, error) {
	var st OIDCState
	var exp int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT state_hash, nonce, verifier, return_to, expires_at FROM oidc_states WHERE state_hash = ?`), stateHash).
			Scan(&st.StateHash, &st.Nonce, &st.Verifier, &st.ReturnTo, &exp)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `DELETE FROM oidc_states WHERE state_hash = ?`, stateHash)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read log-in state: %w", err)
	}
	st.ExpiresAt = fromMS(exp)
	if !s.now().Before(st.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &st, nil
}

// UpsertExternalUser records a user the identity provider vouched for:
// no password (a password log-in can never match), the role the provider's
// claims give, updated at every log-in.
func (s *Store) UpsertExternalUser(ctx context.Context, name, role string) error {
	_, err := s.write(ctx, `INSERT INTO users (name, password_hash, role, must_change, disabled, created_at) VALUES (?, '', ?, 0, 0, ?)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role`, name, role, ms(s.now()))
	if err != nil {
		return fmt.Errorf("record user %s: %w", name, err)
	}
	return nil
}

// AlertEvent is one change of an alert's status by a person or token.
type AlertEvent struct {
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Status   string    `json:"status"`
	Previous string    `json:"previous"`
	Comment  string    `json:"comment,omitempty"`
}

// SetAlertStatus moves an alert to a status and records who, when and
// why, in one transaction. It returns the previous status.
func (s *Store) SetAlertStatus(ctx context.Context, id, status, actor, comment string) (string, error) {
	var prev string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT status FROM alerts WHERE id = ?`), id).Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE alerts SET status = ? WHERE id = ?`, status, id); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO alert_events (alert_id, at, actor, status, previous, comment) VALUES (?, ?, ?, ?, ?, ?)`,
			id, ms(s.now()), actor, status, prev, comment)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("set status of alert %s: %w", id, err)
	}
	return prev, nil
}

// AlertEvents lists an alert's status changes, oldest first.
func (s *Store) AlertEvents(ctx context.Context, id string) ([]AlertEvent, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at, actor, status, previous, comment FROM alert_events WHERE alert_id = ? ORDER BY seq LIMIT 1000`), id)
	if err != nil {
		return nil, fmt.Errorf("read history of alert %s: %w", id, err)
	}
	defer rows.Close()
	out := []AlertEvent{}
	for rows.Next() {
		var e AlertEvent
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Status, &e.Previous, &e.Comment); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
