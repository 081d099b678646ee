package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Registry is a watched registry as stored. Config is the registry
// package's JSON; Secret the sealed password or token (never returned by
// the API).
type Registry struct {
	Name      string
	URL       string
	Config    string
	Secret    []byte
	CrawledAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateRegistry stores a new registry; ErrConflict when the name is taken.
func (s *Store) CreateRegistry(ctx context.Context, r Registry) error {
	now := ms(s.now())
	_, err := s.write(ctx, `INSERT INTO registries (name, url, config, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		r.Name, r.URL, r.Config, nullBytes(r.Secret), now, now)
	if err != nil {
		return fmt.Errorf("create registry %s: %w", r.Name, err)
	}
	got, err := s.Registry(ctx, r.Name)
	if err != nil {
		return err
	}
	if got.CreatedAt.UnixMilli() != now || got.URL != r.URL || got.Config != r.Config {
		return ErrConflict
	}
	return nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

const registryCols = `name, url, config, secret, crawled_at, created_at, updated_at`

func scanRegistry(row interface{ Scan(...any) error }) (*Registry, error) {
	var r Registry
	var crawled, created, updated int64
	if err := row.Scan(&r.Name, &r.URL, &r.Config, &r.Secret, &crawled, &created, &updated); err != nil {
		return nil, err
	}
	r.CrawledAt, r.CreatedAt, r.UpdatedAt = fromMS(crawled), fromMS(created), fromMS(updated)
	return &r, nil
}

// Registry reads one registry.
func (s *Store) Registry(ctx context.Context, name string) (*Registry, error) {
	r, err := scanRegistry(s.db.QueryRowContext(ctx, s.q(`SELECT `+registryCols+` FROM registries WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read registry %s: %w", name, err)
	}
	return r, nil
}

// Registries lists the registries by name (a handful: not paged).
func (s *Store) Registries(ctx context.Context) ([]Registry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+registryCols+` FROM registries ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list registries: %w", err)
	}
	defer rows.Close()
	var out []Registry
	for rows.Next() {
		r, err := scanRegistry(rows)
		if err != nil {
			return nil, fmt.Errorf("list registries: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// DeleteRegistry forgets a registry and what it held; the images' stored
// results (resources, findings) stay as history.
func (s *Store) DeleteRegistry(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM registries WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete registry %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = s.exec(ctx, tx, `DELETE FROM registry_images WHERE registry = ?`, name)
		return err
	})
}

// ClaimCrawl marks a registry crawled at now if it was last crawled before
// due; false when another replica (or an earlier tick) already did.
func (s *Store) ClaimCrawl(ctx context.Context, name string, due time.Time) (bool, error) {
	res, err := s.write(ctx, `UPDATE registries SET crawled_at = ? WHERE name = ? AND crawled_at <= ?`, ms(s.now()), name, ms(due))
	if err != nil {
		return false, fmt.Errorf("claim crawl of %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Registry image actions.
const (
	ActionPush   = "push"
	ActionPull   = "pull"
	ActionDelete = "delete"
)

// RegistryImage is a digest in a repository of a watched registry.
type RegistryImage struct {
	Registry   string    `json:"registry"`
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tag        string    `json:"tag,omitempty"`
	MediaType  string    `json:"media_type,omitempty"`
	PushedAt   time.Time `json:"pushed_at,omitzero"`
	PulledAt   time.Time `json:"pulled_at,omitzero"`
	DeletedAt  time.Time `json:"deleted_at,omitzero"`
}

// RecordRegistryEvent applies a push (or import, or a digest the crawler
// found), pull or delete to the registry's images. It says whether the
// digest needs a scan (pushed or pulled, and not scanned yet) and the scan's
// generation: a failed scan pushed again starts a new one.
func (s *Store) RecordRegistryEvent(ctx context.Context, action string, ri RegistryImage) (needsScan bool, generation int, err error) {
	at := ms(ri.PushedAt)
	if at == 0 {
		at = ms(s.now())
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var q string
		switch action {
		case ActionPush:
			q = `INSERT INTO registry_images (registry, repository, digest, tag, media_type, pushed_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, 0)
				ON CONFLICT (registry, repository, digest) DO UPDATE SET pushed_at = excluded.pushed_at, deleted_at = 0,
				tag = CASE WHEN excluded.tag = '' THEN registry_images.tag ELSE excluded.tag END,
				media_type = CASE WHEN excluded.media_type = '' THEN registry_images.media_type ELSE excluded.media_type END`
		case ActionPull:
			// A pull of a digest pushed before the watch began is news too.
			q = `INSERT INTO registry_images (registry, repository, digest, tag, media_type, pulled_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, 0)
				ON CONFLICT (registry, repository, digest) DO UPDATE SET pulled_at = excluded.pulled_at, deleted_at = 0,
				tag = CASE WHEN excluded.tag = '' THEN registry_images.tag ELSE excluded.tag END,
				media_type = CASE WHEN excluded.media_type = '' THEN registry_images.media_type ELSE excluded.media_type END`
		case ActionDelete:
			_, err := s.exec(ctx, tx, `UPDATE registry_images SET deleted_at = ? WHERE registry = ? AND repository = ? AND digest = ?`, at, ri.Registry, ri.Repository, ri.Digest)
			if err != nil {
				return fmt.Errorf("record delete of %s: %w", ri.Digest, err)
			}
			return nil
		default:
			return fmt.Errorf("record registry event: unknown action %q", action)
		}
		if _, err := s.exec(ctx, tx, q, ri.Registry, ri.Repository, ri.Digest, ri.Tag, ri.MediaType, at); err != nil {
			return fmt.Errorf("record %s of %s: %w", action, ri.Digest, err)
		}
		var state string
		err := tx.QueryRowContext(ctx, s.q(`SELECT state, generation FROM image_scans WHERE digest = ?`), ri.Digest).Scan(&state, &generation)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			needsScan = true
			_, err = s.exec(ctx, tx, `INSERT INTO image_scans (digest, state, updated_at) VALUES (?, 'pending', ?)`, ri.Digest, at)
			return err
		case err != nil:
			return fmt.Errorf("read scan state of %s: %w", ri.Digest, err)
		}
		// A failed scan is tried again when the image is pushed again.
		if state == ScanFailed && action == ActionPush {
			needsScan = true
			generation++
			_, err = s.exec(ctx, tx, `UPDATE image_scans SET state = 'pending', reason = '', detail = '', attempts = 0, generation = ?, updated_at = ? WHERE digest = ?`, generation, at, ri.Digest)
			return err
		}
		needsScan = state == ScanPending
		return nil
	})
	return needsScan, generation, err
}

// KnownDigest says whether the registry's repository holds the digest as
// far as the store knows (the crawler's test for news).
func (s *Store) KnownDigest(ctx context.Context, registry, repository, digest string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM registry_images WHERE registry = ? AND repository = ? AND digest = ? AND deleted_at = 0`),
		registry, repository, digest).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up %s/%s@%s: %w", registry, repository, digest, err)
	}
	return n > 0, nil
}

// Scan states.
const (
	ScanPending = "pending"
	ScanScanned = "scanned"
	ScanFailed  = "failed"
)

// ImageScan is a digest's scan state.
type ImageScan struct {
	Digest    string    `json:"digest"`
	Parent    string    `json:"parent,omitempty"`
	Platform  string    `json:"platform,omitempty"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Attempts  int       `json:"attempts"`
	Scans     int       `json:"scans"`
	UpdatedAt time.Time `json:"updated_at"`
	ScannedAt time.Time `json:"scanned_at,omitzero"`
}

// ImageScanState reads a digest's scan state.
func (s *Store) ImageScanState(ctx context.Context, digest string) (*ImageScan, error) {
	var st ImageScan
	var upd, scanned int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT digest, parent, platform, state, reason, detail, attempts, scans, updated_at, scanned_at FROM image_scans WHERE digest = ?`), digest).
		Scan(&st.Digest, &st.Parent, &st.Platform, &st.State, &st.Reason, &st.Detail, &st.Attempts, &st.Scans, &upd, &scanned)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read scan state of %s: %w", digest, err)
	}
	st.UpdatedAt, st.ScannedAt = fromMS(upd), fromMS(scanned)
	return &st, nil
}

// AddPlatformImage records a platform image of an index as pending (unless
// it has a state already); true when it is new and needs a scan.
func (s *Store) AddPlatformImage(ctx context.Context, digest, parent, platform string) (bool, error) {
	// Pushing an index pushes its platform manifests first, each with its
	// own event: those are known already, and learn their index here.
	_, err := s.write(ctx, `INSERT INTO image_scans (digest, parent, platform, state, updated_at) VALUES (?, ?, ?, 'pending', ?)
		ON CONFLICT (digest) DO UPDATE SET parent = excluded.parent, platform = excluded.platform WHERE image_scans.parent = ''`,
		digest, parent, platform, ms(s.now()))
	if err != nil {
		return false, fmt.Errorf("record platform image %s of %s: %w", digest, parent, err)
	}
	st, err := s.ImageScanState(ctx, digest)
	if err != nil {
		return false, err
	}
	return st.State == ScanPending, nil
}

// SetImageScan records an attempt's outcome: state, reason and detail;
// scanned adds one to the digest's stored scans.
func (s *Store) SetImageScan(ctx context.Context, digest, state, reason, detail string, attempt int, stored bool) error {
	now := ms(s.now())
	scannedAt, add := int64(0), 0
	if state == ScanScanned {
		scannedAt = now
	}
	if stored {
		add = 1
	}
	if len(detail) > 2000 {
		detail = detail[:2000]
	}
	_, err := s.write(ctx, `INSERT INTO image_scans (digest, state, reason, detail, attempts, scans, updated_at, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET state = excluded.state, reason = excluded.reason, detail = excluded.detail, attempts = excluded.attempts,
		scans = image_scans.scans + excluded.scans, updated_at = excluded.updated_at,
		scanned_at = CASE WHEN excluded.scanned_at = 0 THEN image_scans.scanned_at ELSE excluded.scanned_at END`,
		digest, state, reason, detail, attempt, add, now, scannedAt)
	if err != nil {
		return fmt.Errorf("record scan state of %s: %w", digest, err)
	}
	return nil
}

// HasInventory says whether the store holds the image's inventory (it was
// scanned, by the watch or a client).
func (s *Store) HasInventory(ctx context.Context, imageID string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM inventories WHERE image_id = ?`), imageID).Scan(&n); err != nil {
		return false, fmt.Errorf("look up inventory of %s: %w", imageID, err)
	}
	return n > 0, nil
}

// DigestRefs lists where a digest (or the index it belongs to) was seen in
// watched registries, as registry name, repository and tag.
func (s *Store) DigestRefs(ctx context.Context, digest string) ([]RegistryImage, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT registry, repository, digest, tag FROM registry_images
		WHERE deleted_at = 0 AND (digest = ? OR digest IN (SELECT parent FROM image_scans WHERE digest = ? AND parent <> ''))
		ORDER BY registry, repository, tag`), digest, digest)
	if err != nil {
		return nil, fmt.Errorf("list references of %s: %w", digest, err)
	}
	defer rows.Close()
	var out []RegistryImage
	for rows.Next() {
		var ri RegistryImage
		if err := rows.Scan(&ri.Registry, &ri.Repository, &ri.Digest, &ri.Tag); err != nil {
			return nil, err
		}
		out = append(out, ri)
	}
	return out, rows.Err()
}

// RegistryImageState is a registry image with its scan state and, once
// scanned, the verdict of each image it stands for (one, or one per
// platform of an index).
type RegistryImageState struct {
	RegistryImage
	Scan   *ImageScan     `json:"scan,omitempty"`
	Images []ImageVerdict `json:"images,omitempty"`
}

// ImageVerdict is a stored image's verdict and counts.
type ImageVerdict struct {
	ID       string `json:"id"`
	Platform string `json:"platform,omitempty"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
	Verdict  string `json:"verdict,omitempty"`
	Critical int    `json:"critical"`
	High     int    `json:"high"`
	Medium   int    `json:"medium"`
	Low      int    `json:"low"`
	Unknown  int    `json:"unknown"`
}

// RegistryImages lists a registry's images (repository, digest order),
// at most limit after the (repository, digest) cursor.
func (s *Store) RegistryImages(ctx context.Context, registry string, afterRepo, afterDigest string, limit int) ([]RegistryImageState, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT repository, digest, tag, media_type, pushed_at, pulled_at, deleted_at FROM registry_images
		WHERE registry = ? AND (repository > ? OR (repository = ? AND digest > ?)) ORDER BY repository, digest LIMIT ?`),
		registry, afterRepo, afterRepo, afterDigest, limit)
	if err != nil {
		return nil, fmt.Errorf("list images of %s: %w", registry, err)
	}
	var out []RegistryImageState
	for rows.Next() {
		var ri RegistryImageState
		var p, l, d int64
		if err := rows.Scan(&ri.Repository, &ri.Digest, &ri.Tag, &ri.MediaType, &p, &l, &d); err != nil {
			rows.Close()
			return nil, err
		}
		ri.Registry, ri.PushedAt, ri.PulledAt, ri.DeletedAt = registry, fromMS(p), fromMS(l), fromMS(d)
		out = append(out, ri)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		st, err := s.ImageScanState(ctx, out[i].Digest)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		out[i].Scan = st
		if out[i].Images, err = s.imageVerdicts(ctx, out[i].Digest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageVerdicts reads the verdicts of a digest, or of an index's platform
// images.
func (s *Store) imageVerdicts(ctx context.Context, digest string) ([]ImageVerdict, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT i.digest, i.platform, i.state, i.reason, COALESCE(r.health, ''), COALESCE(r.critical, 0), COALESCE(r.high, 0),
		COALESCE(r.medium, 0), COALESCE(r.low, 0), COALESCE(r.unknown, 0)
		FROM image_scans i LEFT JOIN resources r ON r.id = i.digest
		WHERE (i.digest = ? OR i.parent = ?) AND NOT EXISTS (SELECT 1 FROM image_scans c WHERE c.parent = i.digest)
		ORDER BY i.platform, i.digest`), digest, digest)
	if err != nil {
		return nil, fmt.Errorf("read verdicts of %s: %w", digest, err)
	}
	defer rows.Close()
	var out []ImageVerdict
	for rows.Next() {
		var v ImageVerdict
		if err := rows.Scan(&v.ID, &v.Platform, &v.State, &v.Reason, &v.Verdict, &v.Critical, &v.High, &v.Medium, &v.Low, &v.Unknown); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ImagesUnderAssessment lists the ids of the stored images that are under
// assessment at now: pushed, imported or pulled in a watched registry
// since now-window and not deleted since (an index stands for its
// platform images); not from a watched registry and last reported by a
// client (scan image --server, the same report again included) since
// then; or run by a container or workload (the runs table),
// whatever their age. Only images whose inventory is stored are listed:
// those are what a re-match can judge again. Sorted.
func (s *Store) ImagesUnderAssessment(ctx context.Context, window time.Duration) ([]string, error) {
	since := ms(s.now().Add(-window))
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT inv.image_id FROM inventories inv WHERE
		EXISTS (SELECT 1 FROM registry_images ri WHERE ri.deleted_at = 0 AND (ri.pushed_at >= ? OR ri.pulled_at >= ?)
			AND (ri.digest = inv.image_id OR ri.digest IN (SELECT parent FROM image_scans sc WHERE sc.digest = inv.image_id AND sc.parent <> '')))
		OR EXISTS (SELECT 1 FROM resources rs WHERE rs.id = inv.image_id AND rs.last_seen >= ?
			AND NOT EXISTS (SELECT 1 FROM image_scans sc2 WHERE sc2.digest = inv.image_id))
		OR EXISTS (SELECT 1 FROM runs rn WHERE rn.image = inv.image_id)
		OR EXISTS (SELECT 1 FROM resources r JOIN runs rn2 ON rn2.image = r.alt_id WHERE r.id = inv.image_id AND r.alt_id <> '')
		ORDER BY inv.image_id`), since, since, since)
	if err != nil {
		return nil, fmt.Errorf("list images under assessment: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RegistryHost is the host[:port] of a registry URL (what image references
// start with).
func RegistryHost(url string) string {
	h := url
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h, _, _ = strings.Cut(h, "/")
	return h
}

// QueueDB is the database handle the job queue uses: the store's own on
// PostgreSQL; on SQLite a second pool of one connection on the same file,
// as River's SQLite driver wants, so the queue never starves the store's
// pool. The caller closes it when it differs from DB().
func (s *Store) QueueDB() (*sql.DB, error) {
	if s.dialect == Postgres {
		return s.db, nil
	}
	db, err := sql.Open("sqlite", s.dsn)
	if err != nil {
		return nil, fmt.Errorf("open queue pool on %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
