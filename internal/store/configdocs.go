package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConfigDoc is one configuration document the engines pull from the
// server: its YAML text and its version (0: never set, the empty document,
// which every engine reads as its defaults).
type ConfigDoc struct {
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	Body      string    `json:"config"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// ErrVersionMismatch: a change made against a version that is no longer
// the current one.
var ErrVersionMismatch = errors.New("the document changed since that version")

// ConfigDoc reads a document; one never set is version 0 with an empty
// body.
func (s *Store) ConfigDoc(ctx context.Context, name string) (*ConfigDoc, error) {
	d := &ConfigDoc{Name: name}
	var at int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT version, body, updated_by, updated_at FROM config_docs WHERE name = ?`), name).Scan(&d.Version, &d.Body, &d.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	d.UpdatedAt = fromMS(at)
	return d, nil
}

// PutConfigDoc stores a new body as the next version. ifVersion, when not
// negative, must be the current version (optimistic concurrency: two
// admins editing the same version do not overwrite each other); otherwise
// ErrVersionMismatch. The same body again stores nothing and returns the
// current document.
func (s *Store) PutConfigDoc(ctx context.Context, name, body, by string, ifVersion int64) (doc *ConfigDoc, changed bool, err error) {
	var out *ConfigDoc
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var cur int64
		var curBody string
		err := tx.QueryRowContext(ctx, s.q(`SELECT version, body FROM config_docs WHERE name = ?`), name).Scan(&cur, &curBody)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if ifVersion >= 0 && ifVersion != cur {
			return fmt.Errorf("%w: current version %d, not %d", ErrVersionMismatch, cur, ifVersion)
		}
		if cur > 0 && curBody == body {
			out = nil
			return nil
		}
		now := ms(s.now())
		if _, err := s.exec(ctx, tx, `INSERT INTO config_docs (name, version, body, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			name, cur+1, body, by, now); err != nil {
			return err
		}
		out = &ConfigDoc{Name: name, Version: cur + 1, Body: body, UpdatedBy: by, UpdatedAt: fromMS(now)}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrVersionMismatch) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("store config %s: %w", name, err)
	}
	if out == nil {
		doc, err = s.ConfigDoc(ctx, name)
		return doc, false, err
	}
	return out, true, nil
}
