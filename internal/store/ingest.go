package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Batch is everything one report writes, applied in one transaction.
type Batch struct {
	// Kind is the report kind (image, docker-bench, k8s-policy, k8s-bench,
	// alerts); Subject the resource the report is about ("" for alerts).
	Kind    string
	Subject string
	// ContentHash identifies the report's content (times aside): the same
	// hash again for the same Subject and Kind stores nothing new.
	ContentHash string
	At          time.Time

	// Resources are upserted (parents before children is not required).
	Resources []model.Resource
	ImageRefs []ImageRef
	Runs      []Run
	// Inventory is an image's package inventory (Subject is the image).
	Inventory *Inventory
	// Findings replace the Subject's findings when Matched is set.
	Findings []model.Finding
	Matched  bool
	// Rematched: a re-match of the stored inventory (Inventory is nil):
	// only its matched_with version is updated.
	Rematched bool
	Health    *Health
	// Assessments replace, per resource, that Source's assessments.
	Source      string
	Assessments []ResourceAssessments
	Alerts      []model.Alert
	// PruneUnder, set by a report that holds every object of a cluster
	// (the cluster agent's), removes the cluster's objects (workloads,
	// services, ingresses) this batch did not write, with their
	// assessments, labels and what they ran, and the cluster's runs this
	// batch did not record (a workload's replaced image).
	PruneUnder string

	// Deletes are objects of the Subject's cluster that are gone (a
	// delta's deletes): removed with their assessments, labels and runs.
	// Only workloads, services, ingresses and nodes under Subject are
	// removed (a resync's prune leaves nodes alone: a cluster agent
	// without the right to list nodes must not erase the node agents' ones).
	Deletes []string
	// ReplaceRuns are runners whose runs are exactly this batch's: what
	// they ran before and do not now is removed (a delta's upserts).
	ReplaceRuns []string
	// ResolveDigests resolves runs by image digest to the stored image:
	// its manifest digest, or the image whose config digest it is; the
	// digests no stored image (with an inventory) has are returned
	// (IngestResult.Unseen).
	ResolveDigests bool
	// ResyncID names a full resync of the Subject's cluster spread over
	// several batches: the one with ResyncBegin records when it began;
	// the one with ResyncEnd then prunes, as PruneUnder, what was not
	// written since. A ResyncEnd whose id did not begin here (its first
	// batch was lost) prunes nothing.
	ResyncID               string
	ResyncBegin, ResyncEnd bool
}

// UnseenImage is a running image digest the store holds no image for.
type UnseenImage struct {
	Digest     string
	Reference  string // the reference the container asked for
	Repository string // of a repository digest
}

// ImageRef is a repository (and tag) an image was seen under.
type ImageRef struct {
	ImageID    string
	Repository string // registry/path
	Tag        string
}

// Run says a runner (container, workload) runs an image, named by digest or
// reference.
type Run struct {
	RunnerID string
	Image    string
	RootID   string // host or cluster
	// Reference and Repository say where a digest run came from (not
	// stored: the registry watch uses them to scan an unseen digest).
	Reference, Repository string
}

// Inventory is an image's packages as the server keeps them to match again.
type Inventory struct {
	ImageID  string
	Distro   string // id version
	Packages int
	Data     []byte // gzip JSON of {distro, packages}
	Hash     string
}

// Health is an image's verdict and finding counts.
type Health struct {
	Verdict   model.Verdict
	Counts    model.Counts
	DBVersion string
}

// ResourceAssessments are one resource's assessments from one source.
type ResourceAssessments struct {
	ResourceID string
	Items      []model.Assessment
}

// IngestResult says what a batch changed.
type IngestResult struct {
	Duplicate   bool `json:"duplicate"`
	Resources   int  `json:"resources"`
	Findings    int  `json:"findings"`
	Assessments int  `json:"assessments"`
	Alerts      int  `json:"alerts"`
	// NewFindings and ResolvedFindings count what a match changed: findings
	// not known before, and known ones no longer found (kept in history).
	NewFindings      int `json:"new_findings,omitempty"`
	ResolvedFindings int `json:"resolved_findings,omitempty"`
	// Fresh are the new findings themselves, and NewAlerts the alerts
	// not known before, for notifications.
	Fresh     []model.Finding `json:"-"`
	NewAlerts []model.Alert   `json:"-"`
	// Deleted counts objects a delta removed; Pruned is set when a
	// resync's end pruned its cluster.
	Deleted int  `json:"deleted,omitempty"`
	Pruned  bool `json:"pruned,omitempty"`
	// Unseen are running digests no stored image with an inventory has
	// (ResolveDigests).
	Unseen []UnseenImage `json:"-"`
}

// FindingKey identifies a finding within its resource: the advisory and the
// package instance it affects.
func FindingKey(f model.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.ID, string(f.Package.Type), f.Package.Name, f.InstalledVersion, f.Package.Path} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Ingest applies a batch atomically. A batch whose content was the last one
// stored for its subject only refreshes last_seen.
func (s *Store) Ingest(ctx context.Context, b *Batch) (IngestResult, error) {
	var res IngestResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.ingestTx(ctx, tx, b)
		return err
	})
	return res, err
}

// IngestMany applies several batches in one transaction: one commit (one
// fsync) for many images, as a re-match of thousands writes them.
func (s *Store) IngestMany(ctx context.Context, bs []*Batch) ([]IngestResult, error) {
	out := make([]IngestResult, len(bs))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, b := range bs {
			r, err := s.ingestTx(ctx, tx, b)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	return out, err
}

func (s *Store) ingestTx(ctx context.Context, tx *sql.Tx, b *Batch) (IngestResult, error) {
	var res IngestResult
	at := ms(b.At)
	if at == 0 {
		at = ms(s.now())
	}
	err := func() error {
		if b.Subject != "" && b.ContentHash != "" {
			var prev string
			err := tx.QueryRowContext(ctx, s.q(`SELECT content_hash FROM reports WHERE resource_id = ? AND kind = ?`), b.Subject, b.Kind).Scan(&prev)
			switch {
			case err == nil && prev == b.ContentHash:
				res.Duplicate = true
				_, err := s.exec(ctx, tx, `UPDATE resources SET last_seen = ? WHERE id = ?`, at, b.Subject)
				return err
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("read last report: %w", err)
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO reports (resource_id, kind, content_hash, received_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (resource_id, kind) DO UPDATE SET content_hash = excluded.content_hash, received_at = excluded.received_at`,
				b.Subject, b.Kind, b.ContentHash, at); err != nil {
				return fmt.Errorf("record report: %w", err)
			}
		}
		for _, r := range b.Resources {
			if err := s.upsertResource(ctx, tx, r, at); err != nil {
				return err
			}
			res.Resources++
		}
		for _, r := range b.ImageRefs {
			if _, err := s.exec(ctx, tx, `INSERT INTO image_refs (image_id, repository, tag, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (image_id, repository, tag) DO UPDATE SET last_seen = excluded.last_seen`,
				r.ImageID, r.Repository, r.Tag, at, at); err != nil {
				return fmt.Errorf("record image reference: %w", err)
			}
		}
		if b.ResolveDigests {
			unseen, err := s.resolveDigests(ctx, tx, b.Runs)
			if err != nil {
				return err
			}
			res.Unseen = unseen
		}
		if b.ResyncID != "" && b.ResyncBegin {
			if err := s.beginResync(ctx, tx, b, at); err != nil {
				return err
			}
		}
		for _, r := range b.Runs {
			if _, err := s.exec(ctx, tx, `INSERT INTO runs (runner_id, image, root_id, last_seen) VALUES (?, ?, ?, ?)
				ON CONFLICT (runner_id, image) DO UPDATE SET root_id = excluded.root_id, last_seen = excluded.last_seen`,
				r.RunnerID, r.Image, r.RootID, at); err != nil {
				return fmt.Errorf("record what runs what: %w", err)
			}
		}
		if inv := b.Inventory; inv != nil {
			if _, err := s.exec(ctx, tx, `INSERT INTO inventories (image_id, content_hash, distro, packages, data, matched_with, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (image_id) DO UPDATE SET content_hash = excluded.content_hash, distro = excluded.distro, packages = excluded.packages,
				data = excluded.data, matched_with = excluded.matched_with, updated_at = excluded.updated_at`,
				inv.ImageID, inv.Hash, inv.Distro, inv.Packages, inv.Data, healthDB(b.Health), at); err != nil {
				return fmt.Errorf("store inventory: %w", err)
			}
		}
		if b.Matched {
			fr, err := s.replaceFindings(ctx, tx, b.Subject, b.Findings, healthDB(b.Health), at)
			if err != nil {
				return err
			}
			res.Findings, res.NewFindings, res.ResolvedFindings, res.Fresh = fr.stored, len(fr.fresh), fr.resolved, fr.fresh
		}
		if b.Rematched {
			if _, err := s.exec(ctx, tx, `UPDATE inventories SET matched_with = ? WHERE image_id = ?`, healthDB(b.Health), b.Subject); err != nil {
				return fmt.Errorf("record re-match: %w", err)
			}
		}
		if h := b.Health; h != nil {
			if _, err := s.exec(ctx, tx, `UPDATE resources SET health = ?, severity = ?, critical = ?, high = ?, medium = ?, low = ?, unknown = ?, db_version = ? WHERE id = ?`,
				string(h.Verdict), worstRank(h.Counts), h.Counts.Critical, h.Counts.High, h.Counts.Medium, h.Counts.Low, h.Counts.Unknown, h.DBVersion, b.Subject); err != nil {
				return fmt.Errorf("record verdict: %w", err)
			}
		}
		for _, ra := range b.Assessments {
			n, err := s.replaceAssessments(ctx, tx, ra, b.Source, at)
			if err != nil {
				return err
			}
			res.Assessments += n
		}
		for _, id := range b.ReplaceRuns {
			if _, err := s.exec(ctx, tx, `DELETE FROM runs WHERE runner_id = ? AND last_seen < ?`, id, at); err != nil {
				return fmt.Errorf("replace what %s runs: %w", id, err)
			}
		}
		if len(b.Deletes) > 0 {
			n, err := s.deleteObjects(ctx, tx, b.Subject, b.Deletes)
			if err != nil {
				return err
			}
			res.Deleted = n
		}
		if b.PruneUnder != "" {
			if err := s.prune(ctx, tx, b.PruneUnder, at); err != nil {
				return err
			}
		}
		if b.ResyncID != "" && b.ResyncEnd {
			began, err := s.resyncBegan(ctx, tx, b)
			if err != nil {
				return err
			}
			if began > 0 {
				if err := s.prune(ctx, tx, b.Subject, began); err != nil {
					return err
				}
				res.Pruned = true
			}
		}
		// The posture refresher recomputes the recommendations of every
		// resource judged here, and of images that now run somewhere.
		dirty := make([]string, 0, len(b.Assessments)+len(b.Runs))
		for _, ra := range b.Assessments {
			dirty = append(dirty, ra.ResourceID)
		}
		for _, r := range b.Runs {
			if strings.HasPrefix(r.Image, "sha256:") {
				dirty = append(dirty, r.Image)
			}
		}
		if err := s.markDirty(ctx, tx, dirty, at); err != nil {
			return err
		}
		fresh, err := s.unknownAlerts(ctx, tx, b.Alerts)
		if err != nil {
			return err
		}
		res.NewAlerts = fresh
		n, err := s.upsertAlerts(ctx, tx, b.Alerts)
		if err != nil {
			return err
		}
		res.Alerts = n
		return nil
	}()
	return res, err
}

// resyncKind is the reports row that records a cluster's resync in
// progress: content_hash its id, received_at when it began.
const resyncKind = "k8s-resync"

// beginResync records the start of a resync (its id once: a replayed
// first message does not move it).
func (s *Store) beginResync(ctx context.Context, tx *sql.Tx, b *Batch, at int64) error {
	if b.Subject == "" {
		return errors.New("a resync without a cluster")
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO reports (resource_id, kind, content_hash, received_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (resource_id, kind) DO UPDATE SET content_hash = excluded.content_hash, received_at = excluded.received_at
		WHERE reports.content_hash <> excluded.content_hash`, b.Subject, resyncKind, b.ResyncID, at); err != nil {
		return fmt.Errorf("record the resync of %s: %w", b.Subject, err)
	}
	return nil
}

// resyncBegan is when the batch's resync began (0: not this one).
func (s *Store) resyncBegan(ctx context.Context, tx *sql.Tx, b *Batch) (int64, error) {
	var id string
	var at int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT content_hash, received_at FROM reports WHERE resource_id = ? AND kind = ?`), b.Subject, resyncKind).Scan(&id, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read the resync of %s: %w", b.Subject, err)
	case id != b.ResyncID:
		return 0, nil
	}
	return at, nil
}

// resolveDigests rewrites runs by digest to the stored image's id (a
// config digest to the image it configures) and returns the digests no
// stored image with an inventory has.
func (s *Store) resolveDigests(ctx context.Context, tx *sql.Tx, runs []Run) ([]UnseenImage, error) {
	known := map[string]string{}
	var unseen []UnseenImage
	for i, r := range runs {
		if !strings.HasPrefix(r.Image, "sha256:") {
			continue
		}
		id, ok := known[r.Image]
		if !ok {
			// An image without an inventory (recorded not assessed when it
			// was first seen running) is still unseen: its registry may be
			// watched by now.
			var inv int
			err := tx.QueryRowContext(ctx, s.q(`SELECT id, (SELECT COUNT(*) FROM inventories WHERE image_id = resources.id) FROM resources
				WHERE kind = 'image' AND (id = ? OR alt_id = ?) ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`),
				r.Image, r.Image, r.Image).Scan(&id, &inv)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				id = ""
			case err != nil:
				return nil, fmt.Errorf("resolve image %s: %w", r.Image, err)
			}
			if inv == 0 {
				unseen = append(unseen, UnseenImage{Digest: r.Image, Reference: r.Reference, Repository: r.Repository})
			}
			known[r.Image] = id
		}
		if id != "" {
			runs[i].Image = id
		}
	}
	return unseen, nil
}

// deleteObjects removes the given objects of root (see Batch.Deletes).
func (s *Store) deleteObjects(ctx context.Context, tx *sql.Tx, root string, ids []string) (int, error) {
	prefix := root + "/"
	n := 0
	for _, id := range ids {
		if root == "" || !strings.HasPrefix(id, prefix) {
			continue
		}
		var kind string
		err := tx.QueryRowContext(ctx, s.q(`SELECT kind FROM resources WHERE id = ?`), id).Scan(&kind)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("delete %s: %w", id, err)
		}
		if kind != string(model.KindWorkload) && kind != "service" && kind != "ingress" && kind != string(model.KindNode) {
			continue
		}
		for _, q := range []string{
			`DELETE FROM assessments WHERE resource_id = ?`,
			`DELETE FROM resource_labels WHERE resource_id = ?`,
			`DELETE FROM runs WHERE runner_id = ?`,
			`DELETE FROM resources WHERE id = ?`,
		} {
			if _, err := s.exec(ctx, tx, q, id); err != nil {
				return n, fmt.Errorf("delete %s: %w", id, err)
			}
		}
		n++
	}
	return n, nil
}

// prune removes root's objects not seen at at (see Batch.PruneUnder).
func (s *Store) prune(ctx context.Context, tx *sql.Tx, root string, at int64) error {
	prefix := root + "/"
	gone := `SELECT id FROM resources WHERE SUBSTR(id, 1, ?) = ? AND kind IN ('workload', 'service', 'ingress') AND last_seen < ?`
	for _, q := range []string{
		`DELETE FROM assessments WHERE resource_id IN (` + gone + `)`,
		`DELETE FROM resource_labels WHERE resource_id IN (` + gone + `)`,
		`DELETE FROM runs WHERE runner_id IN (` + gone + `)`,
		`DELETE FROM resources WHERE id IN (` + gone + `)`,
	} {
		if _, err := s.exec(ctx, tx, q, len(prefix), prefix, at); err != nil {
			return fmt.Errorf("remove objects gone from %s: %w", root, err)
		}
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM runs WHERE root_id = ? AND SUBSTR(runner_id, 1, ?) = ? AND last_seen < ?`, root, len(prefix), prefix, at); err != nil {
		return fmt.Errorf("remove replaced images of %s: %w", root, err)
	}
	return nil
}

func healthDB(h *Health) string {
	if h == nil {
		return ""
	}
	return h.DBVersion
}

func worstRank(c model.Counts) int {
	switch {
	case c.Critical > 0:
		return model.SeverityCritical.Rank()
	case c.High > 0:
		return model.SeverityHigh.Rank()
	case c.Medium > 0:
		return model.SeverityMedium.Rank()
	case c.Low > 0:
		return model.SeverityLow.Rank()
	}
	return 0
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// upsertResource keeps a resource's first_seen and its health (set by the
// report that judges it), and takes the newest name, parent and facts; an
// empty field never erases a known one.
func (s *Store) upsertResource(ctx context.Context, tx *sql.Tx, r model.Resource, at int64) error {
	if r.ID == "" || r.Kind == "" {
		return fmt.Errorf("resource without id or kind (%q %q)", r.Kind, r.ID)
	}
	labels, facts := "{}", "{}"
	if len(r.Labels) > 0 {
		labels = jsonString(r.Labels)
	}
	if len(r.Facts) > 0 {
		facts = jsonString(r.Facts)
	}
	if r.Kind == model.KindNode && len(r.Facts) > 0 {
		// Two agents describe a node: the cluster agent (the API's
		// nodeInfo, readiness) and the node agent (kernel, OS, layout
		// from the host). Each keeps its own facts: they are merged.
		var old sql.NullString
		err := tx.QueryRowContext(ctx, s.q(`SELECT facts FROM resources WHERE id = ?`), r.ID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read facts of %s: %w", r.ID, err)
		}
		merged := map[string]string{}
		if old.Valid && old.String != "" {
			_ = json.Unmarshal([]byte(old.String), &merged) // unreadable old facts: replaced
		}
		maps.Copy(merged, r.Facts)
		facts = jsonString(merged)
	}
	alt := ""
	if r.Kind == model.KindImage {
		alt = r.Facts["config_digest"]
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO resources (id, kind, name, parent, alt_id, labels, facts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
		  name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE resources.name END,
		  parent = CASE WHEN excluded.parent <> '' THEN excluded.parent ELSE resources.parent END,
		  alt_id = CASE WHEN excluded.alt_id <> '' THEN excluded.alt_id ELSE resources.alt_id END,
		  labels = CASE WHEN excluded.labels <> '{}' THEN excluded.labels ELSE resources.labels END,
		  facts = CASE WHEN excluded.facts <> '{}' THEN excluded.facts ELSE resources.facts END,
		  last_seen = excluded.last_seen`,
		r.ID, string(r.Kind), r.Name, r.Parent, alt, labels, facts, at, at); err != nil {
		return fmt.Errorf("store resource %s: %w", r.ID, err)
	}
	if len(r.Labels) > 0 {
		if _, err := s.exec(ctx, tx, `DELETE FROM resource_labels WHERE resource_id = ?`, r.ID); err != nil {
			return fmt.Errorf("store labels of %s: %w", r.ID, err)
		}
		keys := make([]string, 0, len(r.Labels))
		for k := range r.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, err := s.exec(ctx, tx, `INSERT INTO resource_labels (resource_id, key, value) VALUES (?, ?, ?)`, r.ID, k, r.Labels[k]); err != nil {
				return fmt.Errorf("store labels of %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

// vulnPart is what every finding of one advisory shares: stored once per
// advisory id, in the vulnerabilities table.
type vulnPart struct {
	Aliases        []string     `json:"aliases,omitempty"`
	Title          string       `json:"title,omitempty"`
	SeveritySource string       `json:"severity_source,omitempty"`
	CVSS           []model.CVSS `json:"cvss,omitempty"`
	KEVDateAdded   string       `json:"kev_date_added,omitempty"`
	EPSS           *model.EPSS  `json:"epss,omitempty"`
	References     []string     `json:"references,omitempty"`
	DataSources    []string     `json:"data_sources,omitempty"`
	Published      *time.Time   `json:"published,omitempty"`
}

// splitFinding separates what is the finding's own (its package, versions,
// status, remediation) from what its advisory shares, and trims what the
// inventory keeps (package metadata, licences, the layer's history line).
func splitFinding(f model.Finding) (model.Finding, vulnPart) {
	v := vulnPart{Aliases: f.Aliases, Title: f.Title, SeveritySource: f.SeveritySource, CVSS: f.CVSS, KEVDateAdded: f.KEVDateAdded,
		EPSS: f.EPSS, References: f.References, DataSources: f.DataSources, Published: f.Published}
	f.Aliases, f.Title, f.SeveritySource, f.CVSS, f.KEVDateAdded, f.EPSS, f.References, f.DataSources, f.Published = nil, "", "", nil, "", nil, nil, nil, nil
	f.Package.Metadata = nil
	f.Package.Licenses = nil
	if f.Package.Layer != nil {
		l := *f.Package.Layer
		l.CreatedBy = ""
		f.Package.Layer = &l
	}
	return f, v
}

const findingCols = 14

type findingsResult struct {
	stored, resolved int
	fresh            []model.Finding
}

// replaceFindings makes the resource's findings the given set: new ones are
// inserted (with the DB version that found them), known ones keep
// first_seen, and the rest move to findings_resolved with the DB version
// that cleared them. Rows go in multi-row statements: ingestion runs at tens
// of thousands per second.
func (s *Store) replaceFindings(ctx context.Context, tx *sql.Tx, resourceID string, fs []model.Finding, dbVersion string, at int64) (findingsResult, error) {
	const per = 400
	var res findingsResult
	known := map[string]bool{}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT fkey FROM findings WHERE resource_id = ?`), resourceID)
	if err != nil {
		return res, fmt.Errorf("read findings of %s: %w", resourceID, err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return res, err
		}
		known[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	seen := make(map[string]bool, len(fs))
	vulns := map[string]string{}
	aliases, pkgs := map[[2]string]bool{}, map[[2]string]bool{}
	own := make([]string, len(fs))
	for i, f := range fs {
		mine, v := splitFinding(f)
		own[i] = jsonString(mine)
		vulns[f.ID] = jsonString(v)
		for _, a := range v.Aliases {
			aliases[[2]string{a, f.ID}] = true
		}
		pkgs[[2]string{f.Package.Name, f.ID}] = true
	}
	if err := s.upsertVulns(ctx, tx, vulns, at); err != nil {
		return res, err
	}
	if err := s.addAliases(ctx, tx, aliases); err != nil {
		return res, err
	}
	if err := s.addPairs(ctx, tx, "vuln_packages", "pkg_name", "vuln_id", pkgs); err != nil {
		return res, err
	}
	for start := 0; start < len(fs); start += per {
		end := min(start+per, len(fs))
		i := start - 1
		var b strings.Builder
		b.WriteString(`INSERT INTO findings (resource_id, fkey, vuln_id, severity, pkg_name, pkg_version, pkg_type, fixed_version, status, known_exploited, db_version, first_seen, last_seen, data, found_with) VALUES `)
		args := make([]any, 0, (end-start)*(findingCols+1))
		rows := 0
		for _, f := range fs[start:end] {
			i++
			key := FindingKey(f)
			if seen[key] {
				continue // a report listing one finding twice
			}
			seen[key] = true
			if !known[key] {
				res.fresh = append(res.fresh, f)
			}
			if rows > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
			rows++
			kev := 0
			if f.KnownExploited {
				kev = 1
			}
			args = append(args, resourceID, key, f.ID, f.Severity.Rank(), f.Package.Name, f.InstalledVersion, string(f.Package.Type),
				f.FixedVersion, string(f.Status), kev, dbVersion, at, at, own[i], dbVersion)
		}
		if rows == 0 {
			continue
		}
		b.WriteString(` ON CONFLICT (resource_id, fkey) DO UPDATE SET severity = excluded.severity, fixed_version = excluded.fixed_version,
			status = excluded.status, known_exploited = excluded.known_exploited, db_version = excluded.db_version, last_seen = excluded.last_seen, data = excluded.data`)
		if _, err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return res, fmt.Errorf("store findings of %s: %w", resourceID, err)
		}
	}
	for k := range known {
		if !seen[k] {
			res.resolved++
		}
	}
	if res.resolved > 0 {
		if _, err := s.exec(ctx, tx, `INSERT INTO findings_resolved (resource_id, fkey, vuln_id, severity, pkg_name, pkg_version, fixed_version, first_seen, resolved_at, found_with, resolved_with)
			SELECT resource_id, fkey, vuln_id, severity, pkg_name, pkg_version, fixed_version, first_seen, ?, found_with, ? FROM findings WHERE resource_id = ? AND last_seen < ?
			ON CONFLICT (resource_id, fkey, resolved_at) DO NOTHING`, at, dbVersion, resourceID, at); err != nil {
			return res, fmt.Errorf("keep resolved findings of %s: %w", resourceID, err)
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM findings WHERE resource_id = ? AND last_seen < ?`, resourceID, at); err != nil {
			return res, fmt.Errorf("remove resolved findings of %s: %w", resourceID, err)
		}
	}
	res.stored = len(seen)
	return res, nil
}

// markDirty queues resources for the posture refresher.
func (s *Store) markDirty(ctx context.Context, x execer, ids []string, at int64) error {
	const per = 400
	uniq := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	sort.Strings(uniq)
	for start := 0; start < len(uniq); start += per {
		part := uniq[start:min(start+per, len(uniq))]
		var b strings.Builder
		b.WriteString(`INSERT INTO posture_dirty (resource_id, at) VALUES `)
		args := make([]any, 0, 2*len(part))
		for i, id := range part {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?)")
			args = append(args, id, at)
		}
		b.WriteString(` ON CONFLICT (resource_id) DO UPDATE SET at = excluded.at`)
		if _, err := s.exec(ctx, x, b.String(), args...); err != nil {
			return fmt.Errorf("queue posture refresh: %w", err)
		}
	}
	return nil
}

// upsertVulns writes each advisory's shared part once; a row is rewritten
// only when it changed (a DB update), so 10,000 images sharing a CVE cost
// one row.
func (s *Store) upsertVulns(ctx context.Context, tx *sql.Tx, vulns map[string]string, at int64) error {
	ids := make([]string, 0, len(vulns))
	for id := range vulns {
		ids = append(ids, id)
	}
	sort.Strings(ids) // a stable lock order across concurrent writers
	const per = 300
	for start := 0; start < len(ids); start += per {
		part := ids[start:min(start+per, len(ids))]
		var b strings.Builder
		b.WriteString(`INSERT INTO vulnerabilities (id, data, updated_at) VALUES `)
		args := make([]any, 0, len(part)*3)
		for i, id := range part {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?)")
			args = append(args, id, vulns[id], at)
		}
		b.WriteString(` ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at WHERE vulnerabilities.data <> excluded.data`)
		if _, err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return fmt.Errorf("store advisories: %w", err)
		}
	}
	return nil
}

// replaceAssessments makes a resource's assessments from one source the
// given set, and derives the resource's health from all its assessments.
func (s *Store) replaceAssessments(ctx context.Context, tx *sql.Tx, ra ResourceAssessments, source string, at int64) (int, error) {
	// What each rule said before: its status history (since when, when it
	// was last resolved, every change) is kept across reports.
	type prevState struct {
		status          string
		since, resolved int64
	}
	prev := map[string]prevState{}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT rule, status, status_since, resolved_at FROM assessments WHERE resource_id = ?`), ra.ResourceID)
	if err != nil {
		return 0, fmt.Errorf("read assessments of %s: %w", ra.ResourceID, err)
	}
	for rows.Next() {
		var r string
		var p prevState
		if err := rows.Scan(&r, &p.status, &p.since, &p.resolved); err != nil {
			rows.Close()
			return 0, err
		}
		prev[r] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var changes []any
	// Rows go in multi-row statements: a cluster's resync stores tens of
	// policies for each of thousands of objects.
	const acols, aper = 13, 200
	vals := make([]any, 0, len(ra.Items)*acols)
	// One row per rule, the last one given (an ON CONFLICT statement
	// cannot touch a row twice).
	last := make(map[string]int, len(ra.Items))
	for i, a := range ra.Items {
		last[a.Rule] = i
	}
	for i, a := range ra.Items {
		if last[a.Rule] != i {
			continue
		}
		ev := "[]"
		if len(a.Evidence) > 0 {
			ev = jsonString(a.Evidence)
		}
		since, resolved := at, int64(0)
		if p, had := prev[a.Rule]; had {
			resolved = p.resolved
			switch {
			case p.status == string(a.Status) && p.since > 0:
				since = p.since
			case p.status != string(a.Status):
				changes = append(changes, ra.ResourceID, a.Rule, at, p.status, string(a.Status))
				if p.status == string(model.AssessUnhealthy) && a.Status == model.AssessHealthy {
					resolved = at
				}
			}
		}
		vals = append(vals, ra.ResourceID, a.Rule, source, string(a.Status), a.Severity.Rank(), a.Title, ev, a.Remediation, ms(a.ObservedAt), at, at, since, resolved)
	}
	for start := 0; start < len(vals); start += acols * aper {
		part := vals[start:min(start+acols*aper, len(vals))]
		q := `INSERT INTO assessments (resource_id, rule, source, status, severity, title, evidence, remediation, observed_at, first_seen, last_seen, status_since, resolved_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?,?),", len(part)/acols), ",") + `
			ON CONFLICT (resource_id, rule) DO UPDATE SET source = excluded.source, status = excluded.status, severity = excluded.severity, title = excluded.title,
			evidence = excluded.evidence, remediation = excluded.remediation, observed_at = excluded.observed_at, last_seen = excluded.last_seen,
			status_since = excluded.status_since, resolved_at = excluded.resolved_at`
		if _, err := s.exec(ctx, tx, q, part...); err != nil {
			return 0, fmt.Errorf("store assessments of %s: %w", ra.ResourceID, err)
		}
	}
	const cols = 5
	for start := 0; start < len(changes); start += cols * 200 {
		part := changes[start:min(start+cols*200, len(changes))]
		q := `INSERT INTO assessment_changes (resource_id, rule, at, previous, status) VALUES ` + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?),", len(part)/cols), ",")
		if _, err := s.exec(ctx, tx, q, part...); err != nil {
			return 0, fmt.Errorf("record assessment changes of %s: %w", ra.ResourceID, err)
		}
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM assessments WHERE resource_id = ? AND source = ? AND last_seen < ?`, ra.ResourceID, source, at); err != nil {
		return 0, fmt.Errorf("remove stale assessments of %s: %w", ra.ResourceID, err)
	}
	// A resource judged by rules (hosts, workloads, clusters) is unhealthy
	// when any rule is; its counts are its unhealthy rules by severity.
	// Images are judged by their findings (Health), not here.
	if _, err := s.exec(ctx, tx, `UPDATE resources SET
		critical = (SELECT COUNT(*) FROM assessments WHERE resource_id = ? AND status = 'unhealthy' AND severity = 5),
		high = (SELECT COUNT(*) FROM assessments WHERE resource_id = ? AND status = 'unhealthy' AND severity = 4),
		medium = (SELECT COUNT(*) FROM assessments WHERE resource_id = ? AND status = 'unhealthy' AND severity = 3),
		low = (SELECT COUNT(*) FROM assessments WHERE resource_id = ? AND status = 'unhealthy' AND severity IN (1, 2)),
		severity = (SELECT COALESCE(MAX(severity), 0) FROM assessments WHERE resource_id = ? AND status = 'unhealthy'),
		health = CASE
		  WHEN EXISTS (SELECT 1 FROM assessments WHERE resource_id = ? AND status = 'unhealthy') THEN 'unhealthy'
		  WHEN EXISTS (SELECT 1 FROM assessments WHERE resource_id = ? AND status = 'healthy') THEN 'healthy'
		  ELSE 'not-assessed' END
		WHERE id = ? AND kind <> 'image'`,
		ra.ResourceID, ra.ResourceID, ra.ResourceID, ra.ResourceID, ra.ResourceID, ra.ResourceID, ra.ResourceID, ra.ResourceID); err != nil {
		return 0, fmt.Errorf("derive health of %s: %w", ra.ResourceID, err)
	}
	return len(ra.Items), nil
}

// upsertAlerts keeps the latest document per alert id: a later one (higher
// count, or the same count seen later) replaces it; the status people set
// is kept. Multi-row statements: a runtime burst is thousands of alerts.
func (s *Store) upsertAlerts(ctx context.Context, tx *sql.Tx, alerts []model.Alert) (int, error) {
	const per = 400
	alerts, changed, err := s.foldRepeats(ctx, tx, alerts)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(alerts); start += per {
		part := alerts[start:min(start+per, len(alerts))]
		var b strings.Builder
		b.WriteString(`INSERT INTO alerts (id, type, severity, title, resource_id, status, count, first_seen, last_seen, tactics, data) VALUES `)
		args := make([]any, 0, len(part)*11)
		for i, a := range part {
			if a.ID == "" {
				return 0, errors.New("alert without id")
			}
			if a.Status == "" {
				a.Status = model.AlertActive
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
			args = append(args, a.ID, a.Type, a.Severity.Rank(), a.Title, a.Resource.ID, string(a.Status), a.Count, ms(a.FirstSeen), ms(a.LastSeen),
				strings.Join(a.Tactics, ","), jsonString(a))
		}
		b.WriteString(` ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, title = excluded.title, count = excluded.count,
			last_seen = excluded.last_seen, data = excluded.data
			WHERE excluded.count > alerts.count OR (excluded.count = alerts.count AND excluded.last_seen > alerts.last_seen)`)
		r, err := s.exec(ctx, tx, b.String(), args...)
		if err != nil {
			return 0, fmt.Errorf("store alerts: %w", err)
		}
		n, _ := r.RowsAffected()
		changed += int(n)
	}
	return changed, nil
}

// unknownAlerts returns the alerts whose id the store does not hold (nor
// folds into a dismissed one): the new ones.
func (s *Store) unknownAlerts(ctx context.Context, tx *sql.Tx, alerts []model.Alert) ([]model.Alert, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	const per = 400
	for start := 0; start < len(alerts); start += per {
		part := alerts[start:min(start+per, len(alerts))]
		ids := make([]any, 0, 2*len(part))
		for _, a := range part {
			ids = append(ids, a.ID)
		}
		ids = append(ids, ids...)
		in := strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM alerts WHERE id IN (`+in+`) UNION SELECT id FROM alert_aliases WHERE id IN (`+in+`)`), ids...)
		if err != nil {
			return nil, fmt.Errorf("read known alerts: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			known[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []model.Alert
	for _, a := range alerts {
		if !known[a.ID] {
			known[a.ID] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// foldRepeats folds repeats of dismissed alerts into them: a new aggregate
// of the same type on the same resource adds to the dismissed alert's count
// and last-seen without reopening it — unless its severity is higher, which
// reopens it (recorded in its history). It returns the alerts still to
// upsert and how many it changed.
func (s *Store) foldRepeats(ctx context.Context, tx *sql.Tx, alerts []model.Alert) ([]model.Alert, int, error) {
	if len(alerts) == 0 {
		return alerts, 0, nil
	}
	ids := make([]string, 0, len(alerts))
	resources := map[string]bool{}
	for _, a := range alerts {
		ids = append(ids, a.ID)
		resources[a.Resource.ID] = true
	}
	// Earlier documents of ids already folded.
	aliases := map[string][2]any{} // id -> target, count
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, alert_id, count FROM alert_aliases WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`), anys(part)...)
		if err != nil {
			return nil, 0, fmt.Errorf("read folded alerts: %w", err)
		}
		for rows.Next() {
			var id, target string
			var n int
			if err := rows.Scan(&id, &target, &n); err != nil {
				rows.Close()
				return nil, 0, err
			}
			aliases[id] = [2]any{target, n}
		}
		rows.Close()
	}
	// Dismissed alerts on these resources, by (type, resource).
	type twin struct {
		id  string
		sev int
	}
	dismissed := map[string]twin{}
	res := make([]string, 0, len(resources))
	for r := range resources {
		res = append(res, r)
	}
	for start := 0; start < len(res); start += 500 {
		part := res[start:min(start+500, len(res))]
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, type, resource_id, severity FROM alerts WHERE status = 'dismissed' AND resource_id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`) ORDER BY last_seen`), anys(part)...)
		if err != nil {
			return nil, 0, fmt.Errorf("read dismissed alerts: %w", err)
		}
		for rows.Next() {
			var t twin
			var typ, rid string
			if err := rows.Scan(&t.id, &typ, &rid, &t.sev); err != nil {
				rows.Close()
				return nil, 0, err
			}
			dismissed[typ+"\x00"+rid] = t // the latest wins
		}
		rows.Close()
	}
	if len(aliases) == 0 && len(dismissed) == 0 {
		return alerts, 0, nil
	}
	keep := alerts[:0:0]
	changed := 0
	for _, a := range alerts {
		target, add := "", 0
		if al, ok := aliases[a.ID]; ok {
			target, add = al[0].(string), a.Count-al[1].(int)
			if add < 0 {
				add = 0
			}
			if _, err := s.exec(ctx, tx, `UPDATE alert_aliases SET count = ? WHERE id = ? AND count < ?`, a.Count, a.ID, a.Count); err != nil {
				return nil, 0, fmt.Errorf("fold alert %s: %w", a.ID, err)
			}
		} else if t, ok := dismissed[a.Type+"\x00"+a.Resource.ID]; ok && t.id != a.ID {
			var exists int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM alerts WHERE id = ?`), a.ID).Scan(&exists); err != nil {
				return nil, 0, err
			}
			if exists > 0 {
				keep = append(keep, a) // an alert of its own already
				continue
			}
			target, add = t.id, a.Count
			if _, err := s.exec(ctx, tx, `INSERT INTO alert_aliases (id, alert_id, count) VALUES (?, ?, ?)`, a.ID, target, a.Count); err != nil {
				return nil, 0, fmt.Errorf("fold alert %s: %w", a.ID, err)
			}
		} else {
			keep = append(keep, a)
			continue
		}
		var status string
		var sev int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT status, severity FROM alerts WHERE id = ?`), target).Scan(&status, &sev); err != nil {
			return nil, 0, fmt.Errorf("read alert %s: %w", target, err)
		}
		if _, err := s.exec(ctx, tx, `UPDATE alerts SET count = count + ?, last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END WHERE id = ?`,
			add, ms(a.LastSeen), ms(a.LastSeen), target); err != nil {
			return nil, 0, fmt.Errorf("fold alert %s into %s: %w", a.ID, target, err)
		}
		if status == string(model.AlertDismissed) && a.Severity.Rank() > sev {
			if _, err := s.exec(ctx, tx, `UPDATE alerts SET status = 'active', severity = ? WHERE id = ?`, a.Severity.Rank(), target); err != nil {
				return nil, 0, err
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO alert_events (alert_id, at, actor, status, previous, comment) VALUES (?, ?, 'bulwark', 'active', 'dismissed', ?)`,
				target, ms(s.now()), fmt.Sprintf("reopened: a repeat (%s) rose to severity %s", a.ID, a.Severity)); err != nil {
				return nil, 0, err
			}
		}
		changed++
	}
	return keep, changed, nil
}
