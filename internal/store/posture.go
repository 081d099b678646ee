package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
)

// Transition is a change of a resource's status for a recommendation.
type Transition struct {
	Recommendation string                 `json:"recommendation"`
	ResourceID     string                 `json:"resource_id"`
	Kind           string                 `json:"kind"`
	From           model.AssessmentStatus `json:"from,omitempty"` // "" for a new row
	To             model.AssessmentStatus `json:"to"`
	Severity       model.Severity         `json:"severity"`
}

// PostureResult says what a refresh did.
type PostureResult struct {
	Resources       int          `json:"resources"`
	Changed         int          `json:"changed"`
	ExemptionsEnded int          `json:"exemptions_ended"`
	Rescored        bool         `json:"rescored"`
	Transitions     []Transition `json:"-"`
}

// refreshBatch bounds one refresh transaction.
const refreshBatch = 500

// RefreshPosture recomputes the recommendations of the resources ingestion
// (or an exemption) marked dirty, applies the exemptions that ended, and —
// when anything changed, or force — the counts and the secure score, with
// today's row of its history. Safe to run on several replicas at once (each
// writes what the same inputs give), though one at a time is cheaper.
func (s *Store) RefreshPosture(ctx context.Context, cat *recommend.Catalog, now time.Time, force bool) (PostureResult, error) {
	var res PostureResult
	n, err := s.endExemptions(ctx, now)
	if err != nil {
		return res, err
	}
	res.ExemptionsEnded = n
	exs, err := s.Exemptions(ctx, ExemptionQuery{Kind: "recommendation"})
	if err != nil {
		return res, err
	}
	for {
		done, changed, trans, err := s.refreshBatch(ctx, cat, exs, now)
		if err != nil {
			return res, err
		}
		res.Resources += done
		res.Changed += changed
		res.Transitions = append(res.Transitions, trans...)
		if done < refreshBatch {
			break
		}
	}
	if res.Changed > 0 || res.ExemptionsEnded > 0 || force {
		if err := s.rescore(ctx, cat, now); err != nil {
			return res, err
		}
		res.Rescored = true
	}
	return res, nil
}

// EndExemptions applies the end of exemptions that expired or were revoked
// (RefreshPosture does it too); call it before a re-match so the images an
// ended vulnerability exemption covered are matched in the same pass.
func (s *Store) EndExemptions(ctx context.Context, now time.Time) (int, error) {
	return s.endExemptions(ctx, now)
}

// endExemptions applies the end of exemptions that expired or were revoked:
// the resources they covered are computed again (a recommendation's), or
// the images with the vulnerability are matched again (a finding's).
func (s *Store) endExemptions(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, rec_id, vuln_id FROM exemptions WHERE ended_done = 0 AND
		((expires_at > 0 AND expires_at <= ?) OR (revoked_at > 0 AND revoked_at <= ?))`), ms(now), ms(now))
	if err != nil {
		return 0, fmt.Errorf("read ended exemptions: %w", err)
	}
	type ended struct{ id, rec, vuln string }
	var es []ended
	for rows.Next() {
		var e ended
		if err := rows.Scan(&e.id, &e.rec, &e.vuln); err != nil {
			rows.Close()
			return 0, err
		}
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, e := range es {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if e.rec != "" {
				if _, err := s.exec(ctx, tx, `INSERT INTO posture_dirty (resource_id, at) SELECT resource_id, CAST(? AS BIGINT) FROM rec_resources WHERE exemption_id = ?
					ON CONFLICT (resource_id) DO UPDATE SET at = excluded.at`, ms(now), e.id); err != nil {
					return err
				}
			} else if err := s.invalidateMatches(ctx, tx, e.vuln); err != nil {
				return err
			}
			_, err := s.exec(ctx, tx, `UPDATE exemptions SET ended_done = 1 WHERE id = ?`, e.id)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("end exemption %s: %w", e.id, err)
		}
	}
	return len(es), nil
}

// invalidateMatches makes the images with a vulnerability (by id or alias)
// due for a re-match, so a finding exemption's start or end reaches their
// verdicts.
func (s *Store) invalidateMatches(ctx context.Context, tx *sql.Tx, vuln string) error {
	ids := []any{vuln}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(`"`+vuln+`"`) + "%"
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM vulnerabilities WHERE data LIKE ? ESCAPE '\'`), pattern)
	if err != nil {
		return fmt.Errorf("find aliases of %s: %w", vuln, err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if id != vuln {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `UPDATE inventories SET matched_with = '' WHERE image_id IN (SELECT resource_id FROM findings WHERE vuln_id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`))`, ids...)
	if err != nil {
		return fmt.Errorf("queue re-match for %s: %w", vuln, err)
	}
	return nil
}

type recRow struct {
	status, underlying, exemption, evidence string
	severity                                int
	first, since, resolved                  int64
}

// refreshBatch recomputes one batch of dirty resources.
func (s *Store) refreshBatch(ctx context.Context, cat *recommend.Catalog, exs []recommend.Exemption, now time.Time) (int, int, []Transition, error) {
	type dirty struct {
		id string
		at int64
	}
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT resource_id, at FROM posture_dirty ORDER BY resource_id LIMIT %d`, refreshBatch)))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read posture queue: %w", err)
	}
	var ds []dirty
	for rows.Next() {
		var d dirty
		if err := rows.Scan(&d.id, &d.at); err != nil {
			rows.Close()
			return 0, 0, nil, err
		}
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ds) == 0 {
		return 0, 0, nil, err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.id
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	args := anys(ids)

	type res struct{ kind, parent string }
	resources := map[string]res{}
	if err := s.each(ctx, `SELECT id, kind, parent FROM resources WHERE id IN `+in, args, func(sc scanner) error {
		var id string
		var r res
		if err := sc.Scan(&id, &r.kind, &r.parent); err != nil {
			return err
		}
		resources[id] = r
		return nil
	}); err != nil {
		return 0, 0, nil, fmt.Errorf("read resources: %w", err)
	}
	results := map[string][]recommend.RuleResult{}
	if err := s.each(ctx, `SELECT resource_id, rule, status, severity, title, evidence FROM assessments WHERE resource_id IN `+in, args, func(sc scanner) error {
		var id, ev string
		var r recommend.RuleResult
		var sev int
		if err := sc.Scan(&id, &r.Rule, &r.Status, &sev, &r.Title, &ev); err != nil {
			return err
		}
		r.Severity = model.Severity(rankName(sev))
		if ev != "[]" && ev != "" {
			json.Unmarshal([]byte(ev), &r.Evidence) //nolint:errcheck
		}
		results[id] = append(results[id], r)
		return nil
	}); err != nil {
		return 0, 0, nil, fmt.Errorf("read assessments: %w", err)
	}
	subjects := map[string]*recommend.Subject{}
	subject := func(id string) *recommend.Subject {
		if sj := subjects[id]; sj != nil {
			return sj
		}
		r := resources[id]
		sj := recommend.KubeSubject(id, r.kind, r.parent)
		subjects[id] = &sj
		return &sj
	}
	roots := map[string][]string{} // image -> where it runs
	if err := s.each(ctx, `SELECT image_id, repository FROM image_refs WHERE image_id IN `+in, args, func(sc scanner) error {
		var id, repo string
		if err := sc.Scan(&id, &repo); err != nil {
			return err
		}
		sj := subject(id)
		sj.Repositories = append(sj.Repositories, repo)
		return nil
	}); err != nil {
		return 0, 0, nil, fmt.Errorf("read image references: %w", err)
	}
	if err := s.each(ctx, `SELECT image, runner_id, root_id FROM runs WHERE image IN `+in, args, func(sc scanner) error {
		var img, runner, root string
		if err := sc.Scan(&img, &runner, &root); err != nil {
			return err
		}
		sj := subject(img)
		ks := recommend.KubeSubject(runner, "", "")
		if len(ks.Clusters) > 0 {
			sj.Clusters = appendNew(sj.Clusters, ks.Clusters...)
			sj.Namespaces = appendNew(sj.Namespaces, ks.Namespaces...)
		} else if root != "" {
			sj.Clusters = appendNew(sj.Clusters, root) // a Docker host counts as its own place
		}
		roots[img] = appendNew(roots[img], root)
		return nil
	}); err != nil {
		return 0, 0, nil, fmt.Errorf("read runs: %w", err)
	}
	existing := map[string]map[string]recRow{}
	if err := s.each(ctx, `SELECT resource_id, rec_id, status, underlying, exemption_id, evidence, severity, first_seen, status_since, resolved_at FROM rec_resources WHERE resource_id IN `+in, args, func(sc scanner) error {
		var id, rec string
		var r recRow
		if err := sc.Scan(&id, &rec, &r.status, &r.underlying, &r.exemption, &r.evidence, &r.severity, &r.first, &r.since, &r.resolved); err != nil {
			return err
		}
		if existing[id] == nil {
			existing[id] = map[string]recRow{}
		}
		existing[id][rec] = r
		return nil
	}); err != nil {
		return 0, 0, nil, fmt.Errorf("read recommendation states: %w", err)
	}

	at := ms(now)
	changed := 0
	var trans []Transition
	err = s.tx(ctx, func(tx *sql.Tx) error {
		changed, trans = 0, nil
		for _, id := range ids {
			r, known := resources[id]
			rs := results[id]
			if known && r.kind == string(model.KindImage) {
				// A running image's vulnerabilities are a recommendation
				// of their own: the image's verdict, where it runs.
				if len(roots[id]) > 0 {
					for _, x := range rs {
						if x.Rule == recommend.RuleImage {
							x.Rule = recommend.RuleRunningImage
							rs = append(rs, x)
							break
						}
					}
				}
			}
			var states []recommend.State
			if known {
				states = cat.Evaluate(*subject(id), rs, exs, now)
			}
			root, ns := rootOf(id, r.kind, r.parent, roots[id]), ""
			if sj := subject(id); len(sj.Namespaces) == 1 && r.kind != string(model.KindImage) {
				ns = sj.Namespaces[0]
			}
			old := existing[id]
			keep := map[string]bool{}
			for _, st := range states {
				keep[st.Recommendation] = true
				ev := "[]"
				if len(st.Evidence) > 0 {
					ev = jsonString(st.Evidence)
				}
				o, had := old[st.Recommendation]
				if had && o.status == string(st.Status) && o.underlying == string(st.Underlying) && o.exemption == st.ExemptionID &&
					o.evidence == ev && o.severity == st.Severity.Rank() {
					if _, err := s.exec(ctx, tx, `UPDATE rec_resources SET evaluated_at = ? WHERE rec_id = ? AND resource_id = ?`, at, st.Recommendation, id); err != nil {
						return err
					}
					continue
				}
				first, since, resolved := at, at, int64(0)
				if had {
					first, resolved = o.first, o.resolved
					if o.status == string(st.Status) {
						since = o.since
					}
					if o.underlying == string(model.AssessUnhealthy) && st.Underlying == model.AssessHealthy {
						resolved = at
					}
				}
				if !had || o.status != string(st.Status) {
					trans = append(trans, Transition{Recommendation: st.Recommendation, ResourceID: id, Kind: r.kind,
						From: model.AssessmentStatus(o.status), To: st.Status, Severity: st.Severity})
				}
				changed++
				if _, err := s.exec(ctx, tx, `INSERT INTO rec_resources (rec_id, resource_id, kind, root_id, namespace, status, underlying, severity, exemption_id, evidence, first_seen, evaluated_at, status_since, resolved_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (rec_id, resource_id) DO UPDATE SET kind = excluded.kind, root_id = excluded.root_id, namespace = excluded.namespace,
					status = excluded.status, underlying = excluded.underlying, severity = excluded.severity, exemption_id = excluded.exemption_id,
					evidence = excluded.evidence, evaluated_at = excluded.evaluated_at, status_since = excluded.status_since, resolved_at = excluded.resolved_at`,
					st.Recommendation, id, r.kind, root, ns, string(st.Status), string(st.Underlying), st.Severity.Rank(), st.ExemptionID, ev,
					first, at, since, resolved); err != nil {
					return fmt.Errorf("store recommendation %s of %s: %w", st.Recommendation, id, err)
				}
			}
			for rec := range old {
				if !keep[rec] {
					changed++
					if _, err := s.exec(ctx, tx, `DELETE FROM rec_resources WHERE rec_id = ? AND resource_id = ?`, rec, id); err != nil {
						return err
					}
				}
			}
		}
		// Only the marks read: one set meanwhile by a newer report stays.
		for _, d := range ds {
			if _, err := s.exec(ctx, tx, `DELETE FROM posture_dirty WHERE resource_id = ? AND at = ?`, d.id, d.at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("refresh recommendations: %w", err)
	}
	return len(ds), changed, trans, nil
}

// rootOf is the cluster or Docker host a resource belongs to (an image: the
// first place it runs).
func rootOf(id, kind, parent string, runs []string) string {
	switch model.ResourceKind(kind) {
	case model.KindDockerHost, model.KindCluster:
		return id
	case model.KindContainer, model.KindNode:
		return parent
	case model.KindImage:
		if len(runs) > 0 {
			sort.Strings(runs)
			return runs[0]
		}
		return ""
	}
	if c, _, ok := strings.Cut(id, "/"); ok {
		return c
	}
	return parent
}

func appendNew(xs []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, x := range xs {
			if x == a {
				found = true
				break
			}
		}
		if !found && a != "" {
			xs = append(xs, a)
		}
	}
	return xs
}

type scanner interface{ Scan(...any) error }

func (s *Store) each(ctx context.Context, query string, args []any, f func(scanner) error) error {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ControlScore is one security control's part of the secure score.
type ControlScore struct {
	Control       string  `json:"control"`
	Title         string  `json:"title"`
	Points        float64 `json:"points"`
	MaxPoints     float64 `json:"max_points"`
	Healthy       int     `json:"healthy"`
	Unhealthy     int     `json:"unhealthy"`
	NotAssessed   int     `json:"not_assessed"`
	Exempt        int     `json:"exempt"`
	NotApplicable int     `json:"not_applicable"`
}

// rescore recomputes the counts per recommendation and the score per
// control: a resource counts healthy in a control only when none of the
// control's recommendations is unhealthy for it (Defender's rule), exempt
// and not-applicable resources count in neither, and a control with nothing
// assessed earns 0.
func (s *Store) rescore(ctx context.Context, cat *recommend.Catalog, now time.Time) error {
	type flags struct{ unhealthy, healthy, exempt, na, notAssessed bool }
	per := map[string]map[string]*flags{}
	counts := map[[2]string]int{}
	if err := s.each(ctx, `SELECT rec_id, resource_id, status FROM rec_resources`, nil, func(sc scanner) error {
		var rec, id, st string
		if err := sc.Scan(&rec, &id, &st); err != nil {
			return err
		}
		counts[[2]string{rec, st}]++
		r, ok := cat.Recommendation(rec)
		if !ok {
			return nil
		}
		m := per[r.Control]
		if m == nil {
			m = map[string]*flags{}
			per[r.Control] = m
		}
		f := m[id]
		if f == nil {
			f = &flags{}
			m[id] = f
		}
		switch model.AssessmentStatus(st) {
		case model.AssessUnhealthy:
			f.unhealthy = true
		case model.AssessHealthy:
			f.healthy = true
		case model.AssessExempt:
			f.exempt = true
		case model.AssessNotApplicable, model.AssessManual:
			f.na = true
		default:
			f.notAssessed = true
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read recommendation states: %w", err)
	}
	scores := make([]ControlScore, 0, len(cat.Controls))
	for _, ct := range cat.Controls {
		cs := ControlScore{Control: ct.ID, Title: ct.Title, MaxPoints: ct.MaxPoints}
		for _, f := range per[ct.ID] {
			switch {
			case f.unhealthy:
				cs.Unhealthy++
			case f.healthy:
				cs.Healthy++
			case f.exempt:
				cs.Exempt++
			case f.notAssessed:
				cs.NotAssessed++
			default:
				cs.NotApplicable++
			}
		}
		if cs.Healthy+cs.Unhealthy > 0 {
			cs.Points = ct.MaxPoints * float64(cs.Healthy) / float64(cs.Healthy+cs.Unhealthy)
		}
		scores = append(scores, cs)
	}
	at := ms(now)
	day := now.UTC().Format("2006-01-02")
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM rec_counts`); err != nil {
			return err
		}
		keys := make([][2]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
		for _, k := range keys {
			if _, err := s.exec(ctx, tx, `INSERT INTO rec_counts (rec_id, status, n) VALUES (?, ?, ?)`, k[0], k[1], counts[k]); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM score_controls`); err != nil {
			return err
		}
		var total ControlScore
		for _, cs := range scores {
			if _, err := s.exec(ctx, tx, `INSERT INTO score_controls (control, healthy, unhealthy, not_assessed, exempt, not_applicable, points, max_points, computed_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, cs.Control, cs.Healthy, cs.Unhealthy, cs.NotAssessed, cs.Exempt, cs.NotApplicable, cs.Points, cs.MaxPoints, at); err != nil {
				return err
			}
			if err := s.scoreDay(ctx, tx, day, cs); err != nil {
				return err
			}
			total.Points += cs.Points
			total.MaxPoints += cs.MaxPoints
			total.Healthy += cs.Healthy
			total.Unhealthy += cs.Unhealthy
		}
		return s.scoreDay(ctx, tx, day, total)
	})
}

func (s *Store) scoreDay(ctx context.Context, tx *sql.Tx, day string, cs ControlScore) error {
	_, err := s.exec(ctx, tx, `INSERT INTO score_history (day, control, points, max_points, healthy, unhealthy) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, control) DO UPDATE SET points = excluded.points, max_points = excluded.max_points, healthy = excluded.healthy, unhealthy = excluded.unhealthy`,
		day, cs.Control, cs.Points, cs.MaxPoints, cs.Healthy, cs.Unhealthy)
	return err
}

// Score is the secure score as last computed.
type Score struct {
	Points     float64        `json:"points"`
	MaxPoints  float64        `json:"max_points"`
	Percent    float64        `json:"percent"`
	Controls   []ControlScore `json:"controls"`
	ComputedAt time.Time      `json:"computed_at,omitzero"`
}

// Score reads the precomputed secure score; titles come from the catalogue.
func (s *Store) Score(ctx context.Context, cat *recommend.Catalog) (*Score, error) {
	sc := &Score{Controls: []ControlScore{}}
	byID := map[string]ControlScore{}
	var at int64
	if err := s.each(ctx, `SELECT control, healthy, unhealthy, not_assessed, exempt, not_applicable, points, max_points, computed_at FROM score_controls`, nil, func(r scanner) error {
		var c ControlScore
		if err := r.Scan(&c.Control, &c.Healthy, &c.Unhealthy, &c.NotAssessed, &c.Exempt, &c.NotApplicable, &c.Points, &c.MaxPoints, &at); err != nil {
			return err
		}
		byID[c.Control] = c
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read score: %w", err)
	}
	for _, ct := range cat.Controls {
		c, ok := byID[ct.ID]
		if !ok {
			c = ControlScore{Control: ct.ID, MaxPoints: ct.MaxPoints}
		}
		c.Title, c.MaxPoints = ct.Title, ct.MaxPoints
		sc.Controls = append(sc.Controls, c)
		sc.Points += c.Points
		sc.MaxPoints += c.MaxPoints
	}
	if sc.MaxPoints > 0 {
		sc.Percent = 100 * sc.Points / sc.MaxPoints
	}
	sc.ComputedAt = fromMS(at)
	return sc, nil
}

// ScoreDay is one day of the score's history.
type ScoreDay struct {
	Day       string  `json:"day"`
	Control   string  `json:"control,omitempty"`
	Points    float64 `json:"points"`
	MaxPoints float64 `json:"max_points"`
	Percent   float64 `json:"percent"`
	Healthy   int     `json:"healthy"`
	Unhealthy int     `json:"unhealthy"`
}

// ScoreHistory reads the daily score from a day on ("" control: the whole
// score).
func (s *Store) ScoreHistory(ctx context.Context, control, from string) ([]ScoreDay, error) {
	out := []ScoreDay{}
	err := s.each(ctx, `SELECT day, control, points, max_points, healthy, unhealthy FROM score_history WHERE control = ? AND day >= ? ORDER BY day`,
		[]any{control, from}, func(r scanner) error {
			var d ScoreDay
			if err := r.Scan(&d.Day, &d.Control, &d.Points, &d.MaxPoints, &d.Healthy, &d.Unhealthy); err != nil {
				return err
			}
			if d.MaxPoints > 0 {
				d.Percent = 100 * d.Points / d.MaxPoints
			}
			out = append(out, d)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read score history: %w", err)
	}
	return out, nil
}

// RecFilter narrows the recommendation counts to part of the estate.
type RecFilter struct {
	Root      string // a cluster or Docker host id
	Namespace string // CLUSTER_ID/NAMESPACE
	Kind      string // resource kind
}

// RecCounts counts resources per recommendation and status: precomputed
// for the whole estate, grouped on the fly (off an index) for part of it.
func (s *Store) RecCounts(ctx context.Context, f RecFilter) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	q, args := `SELECT rec_id, status, n FROM rec_counts`, []any(nil)
	if f != (RecFilter{}) {
		var l listSQL
		if f.Root != "" {
			l.add("root_id = ?", f.Root)
		}
		if f.Namespace != "" {
			l.add("namespace = ?", f.Namespace)
		}
		if f.Kind != "" {
			l.add("kind = ?", f.Kind)
		}
		q, args = `SELECT rec_id, status, COUNT(*) FROM rec_resources`+where(&l)+` GROUP BY rec_id, status`, l.args
	}
	err := s.each(ctx, q, args, func(r scanner) error {
		var rec, st string
		var n int
		if err := r.Scan(&rec, &st, &n); err != nil {
			return err
		}
		if out[rec] == nil {
			out[rec] = map[string]int{}
		}
		out[rec][st] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count recommendations: %w", err)
	}
	return out, nil
}

// RecResourceRow is one resource of a recommendation, with its evidence.
type RecResourceRow struct {
	ResourceID  string    `json:"resource_id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name,omitempty"`
	Root        string    `json:"root,omitempty"`
	Namespace   string    `json:"namespace,omitempty"`
	Status      string    `json:"status"`
	Underlying  string    `json:"underlying"`
	Severity    string    `json:"severity,omitempty"`
	ExemptionID string    `json:"exemption_id,omitempty"`
	Evidence    []string  `json:"evidence,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	EvaluatedAt time.Time `json:"evaluated_at"`
	StatusSince time.Time `json:"status_since"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
}

// RecResourceQuery lists a recommendation's resources.
type RecResourceQuery struct {
	List
	Recommendation string
	Status         string
	Root           string
	Namespace      string
}

var recResourceSorts = map[string]sortKey{"resource": {col: "resource_id"}, "severity": {col: "severity", numeric: true}}

// RecResources lists the resources of one recommendation.
func (s *Store) RecResources(ctx context.Context, q RecResourceQuery) (Page[RecResourceRow], error) {
	var p Page[RecResourceRow]
	var l listSQL
	l.add("rec_id = ?", q.Recommendation)
	if q.Status != "" {
		l.add("status = ?", q.Status)
	}
	if q.Root != "" {
		l.add("root_id = ?", q.Root)
	}
	if q.Namespace != "" {
		l.add("namespace = ?", q.Namespace)
	}
	order, limit, col, _, err := keyset(q.List, recResourceSorts, "-severity", []string{"resource_id"}, &l)
	if err != nil {
		return p, err
	}
	var sevs []int
	err = s.each(ctx, `SELECT resource_id, kind, root_id, namespace, status, underlying, severity, exemption_id, evidence, first_seen, evaluated_at, status_since, resolved_at FROM rec_resources`+where(&l)+order, l.args, func(r scanner) error {
		var row RecResourceRow
		var sev int
		var ev string
		var first, eval, since, resolved int64
		if err := r.Scan(&row.ResourceID, &row.Kind, &row.Root, &row.Namespace, &row.Status, &row.Underlying, &sev, &row.ExemptionID, &ev, &first, &eval, &since, &resolved); err != nil {
			return err
		}
		row.Severity = rankName(sev)
		if ev != "[]" {
			json.Unmarshal([]byte(ev), &row.Evidence) //nolint:errcheck
		}
		row.FirstSeen, row.EvaluatedAt, row.StatusSince, row.ResolvedAt = fromMS(first), fromMS(eval), fromMS(since), fromMS(resolved)
		p.Items = append(p.Items, row)
		sevs = append(sevs, sev)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("list recommendation resources: %w", err)
	}
	if len(p.Items) > limit {
		last := p.Items[limit-1]
		var v any = last.ResourceID
		if col.numeric {
			v = sevs[limit-1]
		}
		p.Items, p.Next = p.Items[:limit], encodeCursor(v, last.ResourceID)
	}
	if p.Items == nil {
		p.Items = []RecResourceRow{}
	}
	// Names for the page, in one query.
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.ResourceID
	}
	if len(ids) > 0 {
		names := map[string]string{}
		if err := s.each(ctx, `SELECT id, name FROM resources WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`, anys(ids), func(r scanner) error {
			var id, n string
			if err := r.Scan(&id, &n); err != nil {
				return err
			}
			names[id] = n
			return nil
		}); err != nil {
			return p, err
		}
		for i := range p.Items {
			p.Items[i].Name = names[p.Items[i].ResourceID]
		}
	}
	return p, nil
}

// ExemptionQuery filters exemptions.
type ExemptionQuery struct {
	Kind     string // "recommendation", "vulnerability" or "" for both
	Ended    bool   // include expired and revoked ones
	ID       string
	Resource string // exemptions whose scope is exactly this resource
	// Vulnerability: the exemptions of this advisory id (or any of ids).
	Vulnerability []string
}

const exemptionCols = `id, rec_id, vuln_id, scope, scope_value, reason, justification, author, source, created_at, expires_at, until_fix, revoked_at, revoked_by`

// Exemptions lists exemptions, the current ones unless asked otherwise.
func (s *Store) Exemptions(ctx context.Context, q ExemptionQuery) ([]recommend.Exemption, error) {
	var l listSQL
	switch q.Kind {
	case "recommendation":
		l.add("rec_id <> ''")
	case "vulnerability":
		l.add("vuln_id <> ''")
	}
	if !q.Ended {
		l.add("ended_done = 0 AND revoked_at = 0")
		l.add("(expires_at = 0 OR expires_at > ?)", ms(s.now()))
	}
	if q.ID != "" {
		l.add("id = ?", q.ID)
	}
	if q.Resource != "" {
		l.add("scope = 'resource' AND scope_value = ?", q.Resource)
	}
	if len(q.Vulnerability) > 0 {
		l.add("vuln_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Vulnerability)), ",")+")", anys(q.Vulnerability)...)
	}
	out := []recommend.Exemption{}
	err := s.each(ctx, `SELECT `+exemptionCols+` FROM exemptions`+where(&l)+` ORDER BY created_at, id`, l.args, func(r scanner) error {
		var e recommend.Exemption
		var created, expires, revoked int64
		var untilFix int
		if err := r.Scan(&e.ID, &e.Recommendation, &e.Vulnerability, &e.Scope, &e.Value, &e.Reason, &e.Justification, &e.Author, &e.Source,
			&created, &expires, &untilFix, &revoked, &e.RevokedBy); err != nil {
			return err
		}
		e.CreatedAt, e.Expires, e.RevokedAt, e.UntilFix = fromMS(created), fromMS(expires), fromMS(revoked), untilFix == 1
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list exemptions: %w", err)
	}
	return out, nil
}

// CreateExemption stores an exemption and queues what it covers: the
// recommendation's unhealthy resources are computed again, the images with
// the vulnerability matched again.
func (s *Store) CreateExemption(ctx context.Context, e recommend.Exemption) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO exemptions (`+exemptionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Recommendation, e.Vulnerability, string(e.Scope), e.Value, e.Reason, e.Justification, e.Author, e.Source,
			ms(e.CreatedAt), ms(e.Expires), b2i(e.UntilFix), ms(e.RevokedAt), e.RevokedBy); err != nil {
			if isUnique(err) {
				return ErrConflict
			}
			return fmt.Errorf("store exemption: %w", err)
		}
		if e.Recommendation != "" {
			_, err := s.exec(ctx, tx, `INSERT INTO posture_dirty (resource_id, at) SELECT resource_id, CAST(? AS BIGINT) FROM rec_resources WHERE rec_id = ? AND underlying = 'unhealthy'
				ON CONFLICT (resource_id) DO UPDATE SET at = excluded.at`, ms(s.now()), e.Recommendation)
			return err
		}
		return s.invalidateMatches(ctx, tx, e.Vulnerability)
	})
}

// RevokeExemption ends an exemption now; the next refresh brings back what
// it covered.
func (s *Store) RevokeExemption(ctx context.Context, id, by string) error {
	r, err := s.write(ctx, `UPDATE exemptions SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at = 0`, ms(s.now()), by, id)
	if err != nil {
		return fmt.Errorf("revoke exemption: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkAllDirty queues every resource with assessments for a refresh (after
// the catalogue changed with a new version of the server).
func (s *Store) MarkAllDirty(ctx context.Context) error {
	_, err := s.write(ctx, `INSERT INTO posture_dirty (resource_id, at) SELECT DISTINCT resource_id, CAST(? AS BIGINT) FROM assessments WHERE true
		ON CONFLICT (resource_id) DO UPDATE SET at = excluded.at`, ms(s.now()))
	return err
}

// VEXDocument is an OpenVEX document the server applies.
type VEXDocument struct {
	ID         string    `json:"id"`
	Author     string    `json:"author"`
	Statements int       `json:"statements"`
	ReceivedAt time.Time `json:"received_at"`
	Data       []byte    `json:"-"`
}

// AddVEX stores a document (by its hash: the same one twice is a conflict)
// and queues the images with the vulnerabilities it names for a re-match.
func (s *Store) AddVEX(ctx context.Context, d VEXDocument, vulns []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO vex_documents (id, author, statements, received_at, data) VALUES (?, ?, ?, ?, ?)`,
			d.ID, d.Author, d.Statements, ms(d.ReceivedAt), string(d.Data)); err != nil {
			if isUnique(err) {
				return ErrConflict
			}
			return fmt.Errorf("store VEX document: %w", err)
		}
		for _, v := range vulns {
			if err := s.invalidateMatches(ctx, tx, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// VEXDocuments lists the documents in force, oldest first (withData: with
// their content).
func (s *Store) VEXDocuments(ctx context.Context, withData bool) ([]VEXDocument, error) {
	cols := `id, author, statements, received_at, ''`
	if withData {
		cols = `id, author, statements, received_at, data`
	}
	out := []VEXDocument{}
	err := s.each(ctx, `SELECT `+cols+` FROM vex_documents WHERE revoked_at = 0 ORDER BY received_at, id`, nil, func(r scanner) error {
		var d VEXDocument
		var at int64
		var data string
		if err := r.Scan(&d.ID, &d.Author, &d.Statements, &at, &data); err != nil {
			return err
		}
		d.ReceivedAt, d.Data = fromMS(at), []byte(data)
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list VEX documents: %w", err)
	}
	return out, nil
}

// InventoriesDue lists images whose stored inventory was not matched with
// the DB version (a DB update, or an exemption that changed), after a
// cursor, in id order: a re-match that stops resumes where it was.
func (s *Store) InventoriesDue(ctx context.Context, version, after string, limit int) ([]string, error) {
	var out []string
	err := s.each(ctx, fmt.Sprintf(`SELECT image_id FROM inventories WHERE image_id > ? AND matched_with <> ? ORDER BY image_id LIMIT %d`, limit),
		[]any{after, version}, func(r scanner) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list inventories to match: %w", err)
	}
	return out, nil
}

// CountInventoriesDue counts what InventoriesDue would list in all (off
// the matched_with index: the blobs are not read).
func (s *Store) CountInventoriesDue(ctx context.Context, version string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM inventories WHERE matched_with < ? OR matched_with > ?`), version, version).Scan(&n)
	return n, err
}

// ImageSubject says where an image lives, for exemption scopes: the
// repositories it was seen under and the clusters and namespaces (or
// Docker hosts) it runs in.
func (s *Store) ImageSubject(ctx context.Context, id string) (recommend.Subject, error) {
	sj := recommend.Subject{ResourceID: id}
	if err := s.each(ctx, `SELECT repository FROM image_refs WHERE image_id = ?`, []any{id}, func(r scanner) error {
		var repo string
		if err := r.Scan(&repo); err != nil {
			return err
		}
		sj.Repositories = appendNew(sj.Repositories, repo)
		return nil
	}); err != nil {
		return sj, err
	}
	err := s.each(ctx, `SELECT runner_id, root_id FROM runs WHERE image = ?`, []any{id}, func(r scanner) error {
		var runner, root string
		if err := r.Scan(&runner, &root); err != nil {
			return err
		}
		ks := recommend.KubeSubject(runner, "", "")
		if len(ks.Clusters) > 0 {
			sj.Clusters = appendNew(sj.Clusters, ks.Clusters...)
			sj.Namespaces = appendNew(sj.Namespaces, ks.Namespaces...)
		} else {
			sj.Clusters = appendNew(sj.Clusters, root)
		}
		return nil
	})
	return sj, err
}

// WithLock runs f when no other replica runs the same named job: a
// PostgreSQL session advisory lock, held on one connection for f's
// duration; SQLite is one process, so an in-process lock. It reports false
// without running f when another holds the lock.
func (s *Store) WithLock(ctx context.Context, name string, f func(context.Context) error) (bool, error) {
	if s.dialect == SQLite {
		mu := s.jobLock(name)
		if !mu.TryLock() {
			return false, nil
		}
		defer mu.Unlock()
		return true, f(ctx)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, "bulwark:"+name).Scan(&got); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, "bulwark:"+name) //nolint:errcheck
	return true, f(ctx)
}

// History is what happened to a resource over time.
type History struct {
	Resource string `json:"resource"`
	// Assessments: each rule's first evaluation, last evaluation, current
	// status since when, and when it was last resolved.
	Assessments []AssessmentHistory `json:"assessments"`
	// Changes are the rules' status changes, newest first.
	Changes []AssessmentChange `json:"changes"`
	// ResolvedFindings went away (fixed, or cleared by a DB update), newest
	// first, with the DB versions that found and cleared them.
	ResolvedFindings []ResolvedFinding `json:"resolved_findings"`
	// Recommendations are its states, with first seen, last evaluated and
	// resolved.
	Recommendations []RecHistory `json:"recommendations"`
}

// AssessmentHistory is one rule's timeline on a resource.
type AssessmentHistory struct {
	Rule          string    `json:"rule"`
	Status        string    `json:"status"`
	FirstSeen     time.Time `json:"first_seen"`
	LastEvaluated time.Time `json:"last_evaluated"`
	StatusSince   time.Time `json:"status_since,omitzero"`
	ResolvedAt    time.Time `json:"resolved_at,omitzero"`
}

// AssessmentChange is one status change of a rule.
type AssessmentChange struct {
	Rule     string    `json:"rule"`
	At       time.Time `json:"at"`
	Previous string    `json:"previous"`
	Status   string    `json:"status"`
}

// ResolvedFinding is a finding no longer present.
type ResolvedFinding struct {
	Vulnerability string    `json:"vulnerability"`
	Severity      string    `json:"severity"`
	Package       string    `json:"package"`
	Version       string    `json:"version"`
	FixedVersion  string    `json:"fixed_version,omitempty"`
	FirstSeen     time.Time `json:"first_seen"`
	ResolvedAt    time.Time `json:"resolved_at"`
	FoundWith     string    `json:"found_with,omitempty"`
	ResolvedWith  string    `json:"resolved_with,omitempty"`
}

// RecHistory is a resource's state for one recommendation.
type RecHistory struct {
	Recommendation string    `json:"recommendation"`
	Status         string    `json:"status"`
	Underlying     string    `json:"underlying"`
	FirstSeen      time.Time `json:"first_seen"`
	EvaluatedAt    time.Time `json:"evaluated_at"`
	StatusSince    time.Time `json:"status_since"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
}

// History reads a resource's history, each list at most limit entries.
func (s *Store) History(ctx context.Context, id string, limit int) (*History, error) {
	h := &History{Resource: id, Assessments: []AssessmentHistory{}, Changes: []AssessmentChange{}, ResolvedFindings: []ResolvedFinding{}, Recommendations: []RecHistory{}}
	err := s.each(ctx, fmt.Sprintf(`SELECT rule, status, first_seen, last_seen, status_since, resolved_at FROM assessments WHERE resource_id = ? ORDER BY rule LIMIT %d`, limit), []any{id}, func(r scanner) error {
		var a AssessmentHistory
		var first, last, since, resolved int64
		if err := r.Scan(&a.Rule, &a.Status, &first, &last, &since, &resolved); err != nil {
			return err
		}
		a.FirstSeen, a.LastEvaluated, a.StatusSince, a.ResolvedAt = fromMS(first), fromMS(last), fromMS(since), fromMS(resolved)
		h.Assessments = append(h.Assessments, a)
		return nil
	})
	if err == nil {
		err = s.each(ctx, fmt.Sprintf(`SELECT rule, at, previous, status FROM assessment_changes WHERE resource_id = ? ORDER BY seq DESC LIMIT %d`, limit), []any{id}, func(r scanner) error {
			var c AssessmentChange
			var at int64
			if err := r.Scan(&c.Rule, &at, &c.Previous, &c.Status); err != nil {
				return err
			}
			c.At = fromMS(at)
			h.Changes = append(h.Changes, c)
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, fmt.Sprintf(`SELECT vuln_id, severity, pkg_name, pkg_version, fixed_version, first_seen, resolved_at, found_with, resolved_with FROM findings_resolved
			WHERE resource_id = ? ORDER BY resolved_at DESC, fkey LIMIT %d`, limit), []any{id}, func(r scanner) error {
			var f ResolvedFinding
			var sev int
			var first, resolved int64
			if err := r.Scan(&f.Vulnerability, &sev, &f.Package, &f.Version, &f.FixedVersion, &first, &resolved, &f.FoundWith, &f.ResolvedWith); err != nil {
				return err
			}
			f.Severity, f.FirstSeen, f.ResolvedAt = rankName(sev), fromMS(first), fromMS(resolved)
			h.ResolvedFindings = append(h.ResolvedFindings, f)
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, `SELECT rec_id, status, underlying, first_seen, evaluated_at, status_since, resolved_at FROM rec_resources WHERE resource_id = ? ORDER BY rec_id`, []any{id}, func(r scanner) error {
			var x RecHistory
			var first, eval, since, resolved int64
			if err := r.Scan(&x.Recommendation, &x.Status, &x.Underlying, &first, &eval, &since, &resolved); err != nil {
				return err
			}
			x.FirstSeen, x.EvaluatedAt, x.StatusSince, x.ResolvedAt = fromMS(first), fromMS(eval), fromMS(since), fromMS(resolved)
			h.Recommendations = append(h.Recommendations, x)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", id, err)
	}
	return h, nil
}

// Retention bounds the history the store keeps.
type Retention struct {
	// History: resolved findings, assessment changes and alert events older
	// than this are deleted; so are resolved and dismissed alerts not seen
	// for as long. ScoreHistory: daily score rows; AuditLog: the audit trail.
	History, ScoreHistory, AuditLog time.Duration
}

// Purged counts what a retention pass deleted.
type Purged struct {
	ResolvedFindings  int64 `json:"resolved_findings"`
	AssessmentChanges int64 `json:"assessment_changes"`
	Alerts            int64 `json:"alerts"`
	ScoreDays         int64 `json:"score_days"`
	AuditEntries      int64 `json:"audit_entries"`
	Exemptions        int64 `json:"exemptions"`
}

// Purge deletes history past the retention, so the store stays bounded. A
// zero duration keeps that history for ever.
func (s *Store) Purge(ctx context.Context, r Retention, now time.Time) (Purged, error) {
	var p Purged
	del := func(n *int64, d time.Duration, q string, extra ...any) error {
		if d <= 0 {
			return nil
		}
		res, err := s.write(ctx, q, append([]any{ms(now.Add(-d))}, extra...)...)
		if err != nil {
			return err
		}
		c, _ := res.RowsAffected()
		*n += c
		return nil
	}
	err := errors.Join(
		del(&p.ResolvedFindings, r.History, `DELETE FROM findings_resolved WHERE resolved_at < ?`),
		del(&p.AssessmentChanges, r.History, `DELETE FROM assessment_changes WHERE at < ?`),
		del(&p.Alerts, r.History, `DELETE FROM alerts WHERE last_seen < ? AND status IN ('resolved', 'dismissed')`),
		del(&p.Exemptions, r.History, `DELETE FROM exemptions WHERE ended_done = 1 AND (revoked_at > 0 OR expires_at > 0) AND created_at < ?`),
		del(&p.AuditEntries, r.AuditLog, `DELETE FROM audit_log WHERE at < ?`),
	)
	if err == nil && r.ScoreHistory > 0 {
		res, e := s.write(ctx, `DELETE FROM score_history WHERE day < ?`, now.Add(-r.ScoreHistory).UTC().Format("2006-01-02"))
		if e == nil {
			p.ScoreDays, _ = res.RowsAffected()
		}
		err = e
	}
	if err == nil && r.History > 0 {
		// Events of alerts that are gone.
		_, err = s.write(ctx, `DELETE FROM alert_events WHERE alert_id NOT IN (SELECT id FROM alerts)`)
	}
	if err != nil {
		return p, fmt.Errorf("purge history: %w", err)
	}
	return p, nil
}
