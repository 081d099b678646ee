package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// ImageLookup is an image reference split as ingestion stores references
// (ingest.ParseImageLookup makes one): a pinned digest, else a repository
// (registry/path) and tag.
type ImageLookup struct {
	Image      string // as asked
	Digest     string // sha256:…, when the reference pins one
	Repository string
	Tag        string
	Err        string // why the reference could not be parsed: answered unknown
}

// MaxImageLookups bounds one ImageVerdicts call (one request).
const MaxImageLookups = 500

// ImageVerdicts answers, per lookup in order, what the store knows of the
// image: by digest first (the image's manifest digest, its config digest,
// or an index whose platform images it holds: the worst of them), else by
// repository and tag (the image last seen under it that has a verdict). A
// digest the store does not hold is unknown even when the tag is known: the
// tag may have moved since, and the pinned image is what runs.
func (s *Store) ImageVerdicts(ctx context.Context, ls []ImageLookup) ([]model.ImageVerdict, error) {
	if len(ls) > MaxImageLookups {
		return nil, fmt.Errorf("%w: at most %d images per request", ErrBadQuery, MaxImageLookups)
	}
	out := make([]model.ImageVerdict, len(ls))
	for i, l := range ls {
		v, err := s.imageVerdict(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("image verdict of %s: %w", l.Image, err)
		}
		out[i] = v
	}
	return out, nil
}

func (s *Store) imageVerdict(ctx context.Context, l ImageLookup) (model.ImageVerdict, error) {
	v := model.ImageVerdict{Image: l.Image, Error: l.Err}
	if l.Err != "" {
		return v, nil
	}
	if l.Digest != "" {
		ids, err := s.imageIDsByDigest(ctx, l.Digest)
		if err != nil {
			return v, err
		}
		ok, err := s.judge(ctx, &v, ids)
		if ok {
			v.ResolvedBy = "digest"
			if len(ids) > 1 { // an index: its own digest names it
				v.Digest = l.Digest
			}
		}
		return v, err
	}
	if l.Repository == "" {
		return v, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT image_id FROM image_refs WHERE repository = ? AND tag = ? ORDER BY last_seen DESC, image_id LIMIT 5`), l.Repository, l.Tag)
	if err != nil {
		return v, err
	}
	var cands []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return v, err
		}
		cands = append(cands, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, err
	}
	for _, id := range cands {
		ok, err := s.judge(ctx, &v, []string{id})
		if err != nil {
			return v, err
		}
		if ok {
			v.ResolvedBy = "reference"
			return v, nil
		}
	}
	return v, nil
}

// imageIDsByDigest: the image whose id or config digest is d, else the
// platform images of the index d.
func (s *Store) imageIDsByDigest(ctx context.Context, d string) ([]string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM resources WHERE id = ? AND kind = 'image'`), d).Scan(&id)
	if err == nil {
		return []string{id}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	err = s.db.QueryRowContext(ctx, s.q(`SELECT id FROM resources WHERE alt_id = ? AND kind = 'image' ORDER BY last_seen DESC LIMIT 1`), d).Scan(&id)
	if err == nil {
		return []string{id}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT digest FROM image_scans WHERE parent = ? ORDER BY digest`), d)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// verdictRank orders verdicts, worst last.
func verdictRank(v model.Verdict) int {
	switch v {
	case model.VerdictHealthy:
		return 1
	case model.VerdictNotAssessed:
		return 2
	case model.VerdictUnhealthy:
		return 3
	}
	return 0
}

// judge fills v from the images ids (one, or an index's platform images:
// the worst verdict and, per severity, the highest count); false when none
// of them has been matched.
func (s *Store) judge(ctx context.Context, v *model.ImageVerdict, ids []string) (bool, error) {
	known := false
	for _, id := range ids {
		var health, dbv string
		var c model.Counts
		err := s.db.QueryRowContext(ctx, s.q(`SELECT health, critical, high, medium, low, unknown, db_version FROM resources WHERE id = ? AND kind = 'image'`), id).
			Scan(&health, &c.Critical, &c.High, &c.Medium, &c.Low, &c.Unknown, &dbv)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && health == "") {
			continue // not stored, or stored without a match (no DB then)
		}
		if err != nil {
			return false, err
		}
		var fix, ex model.Counts
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT severity, status, CASE WHEN fixed_version <> '' THEN 1 ELSE 0 END, COUNT(*) FROM findings
			WHERE resource_id = ? GROUP BY severity, status, CASE WHEN fixed_version <> '' THEN 1 ELSE 0 END`), id)
		if err != nil {
			return false, err
		}
		for rows.Next() {
			var rank, fixed, n int
			var status string
			if err := rows.Scan(&rank, &status, &fixed, &n); err != nil {
				rows.Close()
				return false, err
			}
			sev := model.Severity(rankName(rank))
			for range n {
				switch model.Status(status) {
				case model.StatusExempt, model.StatusNotAffected:
					ex.Add(sev)
				default:
					if fixed == 1 {
						fix.Add(sev)
					}
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
		c.Total = c.Critical + c.High + c.Medium + c.Low + c.Unknown
		if !known {
			v.Known, v.Digest, v.Verdict, v.Counts, v.Fixable, v.Exempt, v.DBVersion = true, id, model.Verdict(health), c, fix, ex, dbv
			known = true
			continue
		}
		if verdictRank(model.Verdict(health)) > verdictRank(v.Verdict) {
			v.Verdict = model.Verdict(health)
		}
		v.Counts, v.Fixable, v.Exempt = maxCounts(v.Counts, c), maxCounts(v.Fixable, fix), maxCounts(v.Exempt, ex)
		if dbv > v.DBVersion {
			v.DBVersion = dbv
		}
	}
	if known {
		v.WorstSeverity = worstOf(v.Counts)
	}
	return known, nil
}

func maxCounts(a, b model.Counts) model.Counts {
	c := model.Counts{Critical: max(a.Critical, b.Critical), High: max(a.High, b.High), Medium: max(a.Medium, b.Medium), Low: max(a.Low, b.Low), Unknown: max(a.Unknown, b.Unknown)}
	c.Total = c.Critical + c.High + c.Medium + c.Low + c.Unknown
	return c
}

// worstOf is the highest severity counted ("" for none).
func worstOf(c model.Counts) model.Severity {
	switch {
	case c.Critical > 0:
		return model.SeverityCritical
	case c.High > 0:
		return model.SeverityHigh
	case c.Medium > 0:
		return model.SeverityMedium
	case c.Low > 0:
		return model.SeverityLow
	case c.Unknown > 0:
		return model.SeverityUnknown
	}
	return ""
}
