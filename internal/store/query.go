package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Page is one page of a list and the cursor of the next ("" at the end).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// MaxLimit bounds a page.
const MaxLimit = 500

// List is what every list takes: a sort key (a leading "-" sorts
// descending), a page size and the cursor a previous page returned.
type List struct {
	Sort   string
	Limit  int
	Cursor string
}

// ErrBadQuery wraps errors in a list's parameters (a 400, not a 500).
var ErrBadQuery = errors.New("bad query")

// sortKey is a sortable column: only indexed ones are offered.
type sortKey struct {
	col     string
	numeric bool
}

type listSQL struct {
	where []string
	args  []any
}

func (l *listSQL) add(cond string, args ...any) {
	l.where = append(l.where, cond)
	l.args = append(l.args, args...)
}

// keyset builds ORDER BY and the cursor condition for a list sorted by one
// column then id (keyset pagination: a page costs the same at any depth).
func keyset(l List, keys map[string]sortKey, def string, tie []string, q *listSQL) (order string, limit int, col sortKey, desc bool, err error) {
	name := l.Sort
	if name == "" {
		name = def
	}
	desc = strings.HasPrefix(name, "-")
	name = strings.TrimPrefix(name, "-")
	col, ok := keys[name]
	if !ok {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		return "", 0, col, false, fmt.Errorf("%w: sort by %q: one of %s (prefix - for descending)", ErrBadQuery, name, strings.Join(sortedStrings(names), ", "))
	}
	limit = l.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	if l.Cursor != "" {
		v, ids, err := decodeCursor(l.Cursor, col.numeric)
		if err != nil || len(ids) != len(tie) {
			return "", 0, col, false, fmt.Errorf("%w: cursor: not one this server gave", ErrBadQuery)
		}
		args := append([]any{v}, anys(ids)...)
		q.add(fmt.Sprintf("(%s, %s) %s (%s)", col.col, strings.Join(tie, ", "), cmp, strings.TrimSuffix(strings.Repeat("?, ", len(tie)+1), ", ")), args...)
	}
	// The sort column then the key columns, all in the same direction: an
	// index on them serves the page without sorting.
	order = " ORDER BY " + col.col + " " + dir
	for _, c := range tie {
		order += ", " + c + " " + dir
	}
	return fmt.Sprintf("%s LIMIT %d", order, limit+1), limit, col, desc, nil
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func encodeCursor(v any, ids ...string) string {
	b, _ := json.Marshal(append([]any{v}, anys(ids)...))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string, numeric bool) (any, []string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	bad := fmt.Errorf("%w: cursor: not one this server gave", ErrBadQuery)
	if err != nil {
		return nil, nil, bad
	}
	var parts []json.RawMessage
	if json.Unmarshal(b, &parts) != nil || len(parts) < 2 || len(parts) > 3 {
		return nil, nil, bad
	}
	ids := make([]string, len(parts)-1)
	for i := range ids {
		if json.Unmarshal(parts[i+1], &ids[i]) != nil {
			return nil, nil, bad
		}
	}
	if numeric {
		var n int64
		if json.Unmarshal(parts[0], &n) != nil {
			return nil, nil, bad
		}
		return n, ids, nil
	}
	var s string
	if json.Unmarshal(parts[0], &s) != nil {
		return nil, nil, bad
	}
	return s, ids, nil
}

func where(l *listSQL) string {
	if len(l.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(l.where, " AND ")
}

// ResourceRow is a resource as the inventory shows it.
type ResourceRow struct {
	model.Resource
	Health    string       `json:"health,omitempty"`
	Severity  string       `json:"severity,omitempty"` // worst unhealthy result
	Counts    model.Counts `json:"counts"`
	DBVersion string       `json:"db_version,omitempty"`
	FirstSeen time.Time    `json:"first_seen"`
	LastSeen  time.Time    `json:"last_seen"`
}

// ResourceQuery filters the inventory.
type ResourceQuery struct {
	List
	Kind     string
	Parent   string
	Name     string // exact name, or a prefix ending in *
	Health   string
	Severity model.Severity // at least
	Label    string         // key=value
	IDs      []string
}

var resourceSorts = map[string]sortKey{
	"id": {col: "id"}, "name": {col: "name"}, "last_seen": {col: "last_seen", numeric: true},
	"first_seen": {col: "first_seen", numeric: true}, "severity": {col: "severity", numeric: true},
}

const resourceCols = `id, kind, name, parent, labels, facts, health, severity, critical, high, medium, low, unknown, db_version, first_seen, last_seen`

func scanResource(sc interface{ Scan(...any) error }) (ResourceRow, error) {
	var r ResourceRow
	var labels, facts string
	var sev int
	var first, last int64
	err := sc.Scan(&r.ID, &r.Kind, &r.Name, &r.Parent, &labels, &facts, &r.Health, &sev, &r.Counts.Critical, &r.Counts.High,
		&r.Counts.Medium, &r.Counts.Low, &r.Counts.Unknown, &r.DBVersion, &first, &last)
	if err != nil {
		return r, err
	}
	if labels != "{}" {
		json.Unmarshal([]byte(labels), &r.Labels) //nolint:errcheck
	}
	if facts != "{}" {
		json.Unmarshal([]byte(facts), &r.Facts) //nolint:errcheck
	}
	r.Severity = rankName(sev)
	r.Counts.Total = r.Counts.Critical + r.Counts.High + r.Counts.Medium + r.Counts.Low + r.Counts.Unknown
	r.FirstSeen, r.LastSeen = fromMS(first), fromMS(last)
	return r, nil
}

func rankName(r int) string {
	for _, s := range model.AllSeverities() {
		if s.Rank() == r && r > 0 {
			return string(s)
		}
	}
	return ""
}

// ListResources lists the inventory.
func (s *Store) ListResources(ctx context.Context, q ResourceQuery) (Page[ResourceRow], error) {
	var l listSQL
	if q.Kind != "" {
		l.add("kind = ?", q.Kind)
	}
	if q.Parent != "" {
		l.add("parent = ?", q.Parent)
	}
	if q.Name != "" {
		if p, ok := strings.CutSuffix(q.Name, "*"); ok {
			l.add("name >= ? AND name < ?", p, p+"\uffff")
		} else {
			l.add("name = ?", q.Name)
		}
	}
	if q.Health != "" {
		l.add("health = ?", q.Health)
	}
	if q.Severity != "" {
		l.add("severity >= ?", q.Severity.Rank())
	}
	if q.Label != "" {
		k, v, _ := strings.Cut(q.Label, "=")
		l.add("id IN (SELECT resource_id FROM resource_labels WHERE key = ? AND value = ?)", k, v)
	}
	if len(q.IDs) > 0 {
		l.add("id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.IDs)), ",")+")", anys(q.IDs)...)
	}
	order, limit, col, _, err := keyset(q.List, resourceSorts, "name", []string{"id"}, &l)
	if err != nil {
		return Page[ResourceRow]{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+resourceCols+` FROM resources`+where(&l)+order), l.args...)
	if err != nil {
		return Page[ResourceRow]{}, fmt.Errorf("list resources: %w", err)
	}
	defer rows.Close()
	page := Page[ResourceRow]{Items: []ResourceRow{}}
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return page, fmt.Errorf("list resources: %w", err)
		}
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list resources: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = encodeCursor(resourceSortValue(last, col), last.ID)
	}
	return page, nil
}

func resourceSortValue(r ResourceRow, k sortKey) any {
	switch k.col {
	case "name":
		return r.Name
	case "last_seen":
		return r.LastSeen.UnixMilli()
	case "first_seen":
		return r.FirstSeen.UnixMilli()
	case "severity":
		return int64(model.Severity(r.Severity).Rank())
	}
	return r.ID
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// ResourceDetail is one resource with what hangs off it.
type ResourceDetail struct {
	ResourceRow
	// References: the repositories and tags an image was seen under.
	References []ImageRefRow `json:"references,omitempty"`
	// Children counts the resources whose parent this is, by kind.
	Children map[string]int `json:"children,omitempty"`
	// Uses: images this container, workload or host runs or holds.
	Uses []string `json:"uses,omitempty"`
	// UsedBy: for an image, the containers, workloads and hosts that run
	// or hold it.
	UsedBy []RunRow `json:"used_by,omitempty"`
	// Inventory: an image's stored package inventory (count and distro),
	// or a Docker host's or node's own OS packages.
	Inventory *InventoryInfo `json:"inventory,omitempty"`
}

// ImageRefRow is a reference an image was seen under.
type ImageRefRow struct {
	Repository string    `json:"repository"`
	Tag        string    `json:"tag,omitempty"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
}

// RunRow is a runner of an image and where it runs.
type RunRow struct {
	RunnerID string    `json:"runner"`
	Image    string    `json:"image"`
	RootID   string    `json:"root,omitempty"`
	LastSeen time.Time `json:"last_seen"`
}

// InventoryInfo describes an image's stored inventory.
type InventoryInfo struct {
	Distro      string    `json:"distro,omitempty"`
	Packages    int       `json:"packages"`
	MatchedWith string    `json:"matched_with,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Resource returns one resource with its references, children and runs.
func (s *Store) Resource(ctx context.Context, id string) (*ResourceDetail, error) {
	r, err := scanResource(s.db.QueryRowContext(ctx, s.q(`SELECT `+resourceCols+` FROM resources WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read resource %s: %w", id, err)
	}
	d := &ResourceDetail{ResourceRow: r}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT repository, tag, first_seen, last_seen FROM image_refs WHERE image_id = ? ORDER BY repository, tag LIMIT 200`), id)
	if err != nil {
		return nil, fmt.Errorf("read references of %s: %w", id, err)
	}
	for rows.Next() {
		var ref ImageRefRow
		var f, l int64
		if err := rows.Scan(&ref.Repository, &ref.Tag, &f, &l); err != nil {
			rows.Close()
			return nil, err
		}
		ref.FirstSeen, ref.LastSeen = fromMS(f), fromMS(l)
		d.References = append(d.References, ref)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, s.q(`SELECT kind, COUNT(*) FROM resources WHERE parent = ? GROUP BY kind`), id)
	if err != nil {
		return nil, fmt.Errorf("count children of %s: %w", id, err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if d.Children == nil {
			d.Children = map[string]int{}
		}
		d.Children[k] = n
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, s.q(`SELECT image FROM runs WHERE runner_id = ? ORDER BY image LIMIT 500`), id)
	if err != nil {
		return nil, fmt.Errorf("read images of %s: %w", id, err)
	}
	for rows.Next() {
		var img string
		if err := rows.Scan(&img); err != nil {
			rows.Close()
			return nil, err
		}
		d.Uses = append(d.Uses, img)
	}
	rows.Close()
	if r.Kind == model.KindImage {
		used, err := s.usedBy(ctx, []string{id})
		if err != nil {
			return nil, err
		}
		d.UsedBy = used
	}
	// An image's inventory, or a host's own packages (its agent's).
	if r.Kind == model.KindImage || r.Kind == model.KindDockerHost || r.Kind == model.KindNode {
		var inv InventoryInfo
		var at int64
		err = s.db.QueryRowContext(ctx, s.q(`SELECT distro, packages, matched_with, updated_at FROM inventories WHERE image_id = ?`), id).Scan(&inv.Distro, &inv.Packages, &inv.MatchedWith, &at)
		if err == nil {
			inv.UpdatedAt = fromMS(at)
			d.Inventory = &inv
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read inventory of %s: %w", id, err)
		}
	}
	return d, nil
}

// usedBy finds the runners of images: by the image's id, its config digest
// (how the Docker engine names an image) or any reference it was seen under.
func (s *Store) usedBy(ctx context.Context, imageIDs []string) ([]RunRow, error) {
	if len(imageIDs) == 0 {
		return nil, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(imageIDs)), ",")
	args := append(anys(imageIDs), anys(imageIDs)...)
	args = append(args, anys(imageIDs)...)
	// Three lookups on runs_image joined by UNION: with OR between them
	// PostgreSQL scans every run (14 ms at 9,000 runs) instead.
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT runner_id, image, root_id, last_seen FROM runs WHERE image IN (`+in+`)
		UNION SELECT runner_id, image, root_id, last_seen FROM runs WHERE image IN (SELECT alt_id FROM resources WHERE id IN (`+in+`) AND alt_id <> '')
		UNION SELECT runner_id, image, root_id, last_seen FROM runs WHERE image IN (SELECT repository || ':' || tag FROM image_refs WHERE image_id IN (`+in+`) AND tag <> '')
		ORDER BY runner_id LIMIT 1000`), args...)
	if err != nil {
		return nil, fmt.Errorf("find runners: %w", err)
	}
	defer rows.Close()
	var out []RunRow
	for rows.Next() {
		var r RunRow
		var at int64
		if err := rows.Scan(&r.RunnerID, &r.Image, &r.RootID, &at); err != nil {
			return nil, err
		}
		r.LastSeen = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindingRow is a stored finding with its resource.
type FindingRow struct {
	ResourceID string `json:"resource"`
	model.Finding
	DBVersion string    `json:"db_version,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Key       string    `json:"key"`
}

// FindingQuery filters findings.
type FindingQuery struct {
	List
	Resource string
	Vuln     string
	Package  string
	Severity model.Severity // at least
	KEV      bool
	Fixable  bool
}

var findingSorts = map[string]sortKey{
	"severity": {col: "severity", numeric: true}, "vuln": {col: "vuln_id"}, "package": {col: "pkg_name"},
	"first_seen": {col: "first_seen", numeric: true},
}

// ListFindings lists findings.
func (s *Store) ListFindings(ctx context.Context, q FindingQuery) (Page[FindingRow], error) {
	var l listSQL
	if q.Resource != "" {
		l.add("resource_id = ?", q.Resource)
	}
	if q.Vuln != "" {
		l.add("vuln_id = ?", q.Vuln)
	}
	if q.Package != "" {
		if q.Resource == "" && q.Vuln == "" {
			// No index leads by package: a package is searched within an
			// image or a vulnerability, or in the inventories.
			return Page[FindingRow]{}, fmt.Errorf("%w: package: give resource or vulnerability with it", ErrBadQuery)
		}
		l.add("pkg_name = ?", q.Package)
	}
	if q.Severity != "" {
		l.add("severity >= ?", q.Severity.Rank())
	}
	if q.KEV {
		l.add("known_exploited = 1")
	}
	if q.Fixable {
		l.add("fixed_version <> ''")
	}
	order, limit, col, _, err := keyset(q.List, findingSorts, "-severity", []string{"resource_id", "fkey"}, &l)
	if err != nil {
		return Page[FindingRow]{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT resource_id, fkey, severity, vuln_id, pkg_name, db_version, first_seen, last_seen, data,
		COALESCE((SELECT v.data FROM vulnerabilities v WHERE v.id = findings.vuln_id), '{}') FROM findings`+where(&l)+order), l.args...)
	if err != nil {
		return Page[FindingRow]{}, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	page := Page[FindingRow]{Items: []FindingRow{}}
	var vals []any
	for rows.Next() {
		var r FindingRow
		var data, vdata, vuln, pkg string
		var f, ls, sev int64
		if err := rows.Scan(&r.ResourceID, &r.Key, &sev, &vuln, &pkg, &r.DBVersion, &f, &ls, &data, &vdata); err != nil {
			return page, fmt.Errorf("list findings: %w", err)
		}
		// The advisory's shared part first, then the finding's own over it.
		if err := json.Unmarshal([]byte(vdata), &r.Finding); err != nil {
			return page, fmt.Errorf("list findings: stored advisory %s: %w", vuln, err)
		}
		if err := json.Unmarshal([]byte(data), &r.Finding); err != nil {
			return page, fmt.Errorf("list findings: stored finding of %s: %w", r.ResourceID, err)
		}
		r.FirstSeen, r.LastSeen = fromMS(f), fromMS(ls)
		page.Items = append(page.Items, r)
		vals = append(vals, map[string]any{"severity": sev, "vuln_id": vuln, "pkg_name": pkg, "first_seen": f}[col.col])
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = encodeCursor(vals[limit-1], last.ResourceID, last.Key)
	}
	return page, nil
}

// AssessmentRow is a stored assessment with its resource and source.
type AssessmentRow struct {
	ResourceID string `json:"resource"`
	Source     string `json:"source"`
	model.Assessment
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// AssessmentQuery filters assessments.
type AssessmentQuery struct {
	List
	Resource string
	Rule     string
	Status   string
	Source   string
	Severity model.Severity
}

var assessmentSorts = map[string]sortKey{
	"severity": {col: "severity", numeric: true}, "rule": {col: "rule"}, "observed_at": {col: "observed_at", numeric: true},
}

// ListAssessments lists assessments.
func (s *Store) ListAssessments(ctx context.Context, q AssessmentQuery) (Page[AssessmentRow], error) {
	var l listSQL
	if q.Resource != "" {
		l.add("resource_id = ?", q.Resource)
	}
	if q.Rule != "" {
		l.add("rule = ?", q.Rule)
	}
	if q.Status != "" {
		l.add("status = ?", q.Status)
	}
	if q.Source != "" {
		l.add("source = ?", q.Source)
	}
	if q.Severity != "" {
		l.add("severity >= ?", q.Severity.Rank())
	}
	order, limit, col, _, err := keyset(q.List, assessmentSorts, "-severity", []string{"resource_id", "rule"}, &l)
	if err != nil {
		return Page[AssessmentRow]{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT resource_id, rule, source, status, severity, title, evidence, remediation, observed_at, first_seen, last_seen FROM assessments`+where(&l)+order), l.args...)
	if err != nil {
		return Page[AssessmentRow]{}, fmt.Errorf("list assessments: %w", err)
	}
	defer rows.Close()
	page := Page[AssessmentRow]{Items: []AssessmentRow{}}
	var vals []any
	for rows.Next() {
		var r AssessmentRow
		var sev, obs, f, ls int64
		var ev string
		if err := rows.Scan(&r.ResourceID, &r.Rule, &r.Source, &r.Status, &sev, &r.Title, &ev, &r.Remediation, &obs, &f, &ls); err != nil {
			return page, fmt.Errorf("list assessments: %w", err)
		}
		json.Unmarshal([]byte(ev), &r.Evidence) //nolint:errcheck
		r.Severity = model.Severity(rankName(int(sev)))
		if r.Severity == "" {
			r.Severity = model.SeverityUnknown
		}
		r.ObservedAt, r.FirstSeen, r.LastSeen = fromMS(obs), fromMS(f), fromMS(ls)
		page.Items = append(page.Items, r)
		vals = append(vals, map[string]any{"severity": sev, "rule": r.Rule, "observed_at": obs}[col.col])
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list assessments: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = encodeCursor(vals[limit-1], last.ResourceID, last.Rule)
	}
	return page, nil
}

// AlertQuery filters alerts.
type AlertQuery struct {
	List
	Severity model.Severity // at least
	Type     string
	Status   string
	Resource string
	Tactic   string
	Since    time.Time
}

var alertSorts = map[string]sortKey{
	"last_seen": {col: "last_seen", numeric: true}, "severity": {col: "severity", numeric: true}, "first_seen": {col: "first_seen", numeric: true},
}

// ListAlerts lists alerts, newest first by default.
func (s *Store) ListAlerts(ctx context.Context, q AlertQuery) (Page[model.Alert], error) {
	var l listSQL
	if q.Severity != "" {
		l.add("severity >= ?", q.Severity.Rank())
	}
	if q.Type != "" {
		l.add("type = ?", q.Type)
	}
	if q.Status != "" {
		l.add("status = ?", q.Status)
	}
	if q.Resource != "" {
		l.add("resource_id = ?", q.Resource)
	}
	if q.Tactic != "" {
		l.add("(',' || tactics || ',') LIKE ?", "%,"+strings.ReplaceAll(q.Tactic, "%", "")+",%")
	}
	if !q.Since.IsZero() {
		l.add("last_seen >= ?", ms(q.Since))
	}
	order, limit, col, _, err := keyset(q.List, alertSorts, "-last_seen", []string{"id"}, &l)
	if err != nil {
		return Page[model.Alert]{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, severity, status, first_seen, last_seen, count, data FROM alerts`+where(&l)+order), l.args...)
	if err != nil {
		return Page[model.Alert]{}, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	page := Page[model.Alert]{Items: []model.Alert{}}
	var vals []any
	for rows.Next() {
		var id, status, data string
		var sev, f, ls int64
		var count int
		if err := rows.Scan(&id, &sev, &status, &f, &ls, &count, &data); err != nil {
			return page, fmt.Errorf("list alerts: %w", err)
		}
		var a model.Alert
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return page, fmt.Errorf("list alerts: stored alert %s: %w", id, err)
		}
		columnsOver(&a, status, int(sev), count, ls)
		page.Items = append(page.Items, a)
		vals = append(vals, map[string]any{"severity": sev, "first_seen": f, "last_seen": ls}[col.col])
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list alerts: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = encodeCursor(vals[limit-1], page.Items[limit-1].ID)
	}
	return page, nil
}

// columnsOver puts what people and folded repeats change (status,
// severity, count, last-seen: columns) over the stored document.
func columnsOver(a *model.Alert, status string, sev, count int, lastSeen int64) {
	a.Status = model.AlertStatus(status)
	if s := rankName(sev); s != "" {
		a.Severity = model.Severity(s)
	}
	a.Count = count
	if t := fromMS(lastSeen); t.After(a.LastSeen) {
		a.LastSeen = t
	}
}

// Alert returns one alert.
func (s *Store) Alert(ctx context.Context, id string) (*model.Alert, error) {
	var data, status string
	var sev, count int
	var ls int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT data, status, severity, count, last_seen FROM alerts WHERE id = ?`), id).Scan(&data, &status, &sev, &count, &ls)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read alert %s: %w", id, err)
	}
	var a model.Alert
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return nil, fmt.Errorf("read alert %s: %w", id, err)
	}
	columnsOver(&a, status, sev, count, ls)
	return &a, nil
}

// Where answers "where is this vulnerability": the images with a finding
// of it, the containers, workloads and hosts that run or hold them, and the
// hosts and clusters those are on.
type Where struct {
	Vulnerability string       `json:"vulnerability"`
	Images        []WhereImage `json:"images"`
	Runners       []RunRow     `json:"runners"`
	Roots         []string     `json:"roots"`
	Truncated     bool         `json:"truncated,omitempty"`
}

// WhereImage is one image affected.
type WhereImage struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Packages   []string `json:"packages"` // name version → fixed
	Severity   string   `json:"severity"`
	References []string `json:"references,omitempty"`
}

// WhereIs finds a vulnerability (by id or alias as the finding names it)
// across the inventory; at most limit images.
func (s *Store) WhereIs(ctx context.Context, vuln string, limit int) (*Where, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	w := &Where{Vulnerability: vuln, Images: []WhereImage{}, Runners: []RunRow{}, Roots: []string{}}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT f.resource_id, COALESCE(r.name, ''), f.pkg_name, f.pkg_version, f.fixed_version, f.severity
		FROM findings f LEFT JOIN resources r ON r.id = f.resource_id WHERE f.vuln_id = ? ORDER BY f.resource_id LIMIT ?`), vuln, limit*4+1)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", vuln, err)
	}
	byID := map[string]int{}
	n := 0
	for rows.Next() {
		n++
		var id, name, pkg, ver, fixed string
		var sev int
		if err := rows.Scan(&id, &name, &pkg, &ver, &fixed, &sev); err != nil {
			rows.Close()
			return nil, err
		}
		i, ok := byID[id]
		if !ok {
			if len(w.Images) == limit {
				w.Truncated = true
				continue
			}
			byID[id] = len(w.Images)
			w.Images = append(w.Images, WhereImage{ID: id, Name: name, Severity: rankName(sev)})
			i = len(w.Images) - 1
		}
		p := pkg + " " + ver
		if fixed != "" {
			p += " → " + fixed
		}
		w.Images[i].Packages = append(w.Images[i].Packages, p)
	}
	rows.Close()
	if n > limit*4 {
		w.Truncated = true
	}
	ids := make([]string, 0, len(w.Images))
	for _, im := range w.Images {
		ids = append(ids, im.ID)
	}
	for start := 0; start < len(ids); start += 200 {
		part := ids[start:min(start+200, len(ids))]
		runs, err := s.usedBy(ctx, part)
		if err != nil {
			return nil, err
		}
		w.Runners = append(w.Runners, runs...)
		refs, err := s.refsOf(ctx, part)
		if err != nil {
			return nil, err
		}
		for i := range w.Images {
			w.Images[i].References = append(w.Images[i].References, refs[w.Images[i].ID]...)
		}
	}
	roots := map[string]bool{}
	for _, r := range w.Runners {
		if r.RootID != "" && !roots[r.RootID] {
			roots[r.RootID] = true
			w.Roots = append(w.Roots, r.RootID)
		}
	}
	sortedStrings(w.Roots)
	return w, nil
}

func (s *Store) refsOf(ctx context.Context, ids []string) (map[string][]string, error) {
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT image_id, repository, tag FROM image_refs WHERE image_id IN (`+in+`) ORDER BY image_id, repository, tag`), anys(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read references: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, repo, tag string
		if err := rows.Scan(&id, &repo, &tag); err != nil {
			return nil, err
		}
		if tag != "" {
			repo += ":" + tag
		}
		out[id] = append(out[id], repo)
	}
	return out, rows.Err()
}

// Stats counts what the store holds.
type Stats struct {
	Resources map[string]int `json:"resources"`
	Findings  int            `json:"findings"`
	Alerts    int            `json:"alerts"`
	Unhealthy map[string]int `json:"unhealthy"`
	// NotAssessed counts resources not assessed, by kind; UnhealthyBySeverity
	// unhealthy resources by their worst result (the dashboard's figures,
	// counted once rather than listed).
	NotAssessed         map[string]int `json:"not_assessed"`
	UnhealthyBySeverity map[string]int `json:"unhealthy_by_severity"`
}

// Stats counts resources by kind, findings and alerts.
func (s *Store) Stats(ctx context.Context) (*Stats, error) {
	st := &Stats{Resources: map[string]int{}, Unhealthy: map[string]int{}, NotAssessed: map[string]int{}, UnhealthyBySeverity: map[string]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT kind, health, severity, COUNT(*) FROM resources GROUP BY kind, health, severity`)
	if err != nil {
		return nil, fmt.Errorf("count resources: %w", err)
	}
	for rows.Next() {
		var k, h string
		var sev, n int
		if err := rows.Scan(&k, &h, &sev, &n); err != nil {
			rows.Close()
			return nil, err
		}
		st.Resources[k] += n
		switch h {
		case "unhealthy":
			st.Unhealthy[k] += n
			if name := rankName(sev); name != "" {
				st.UnhealthyBySeverity[name] += n
			}
		case "not-assessed":
			st.NotAssessed[k] += n
		}
	}
	rows.Close()
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM findings`).Scan(&st.Findings); err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts`).Scan(&st.Alerts); err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	return st, nil
}

// Inventories walks stored image inventories (for re-matching).
func (s *Store) Inventory(ctx context.Context, imageID string) (*Inventory, error) {
	inv := &Inventory{ImageID: imageID}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT content_hash, distro, packages, data FROM inventories WHERE image_id = ?`), imageID).Scan(&inv.Hash, &inv.Distro, &inv.Packages, &inv.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory of %s: %w", imageID, err)
	}
	return inv, nil
}
