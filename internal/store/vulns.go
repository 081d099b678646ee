package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// aliasesMigration is the migration that made vuln_aliases: a store
// migrated to it from an older one has its advisories' aliases added.
const aliasesMigration = 31

// addAliases records the aliases of advisories as they are stored (an
// alias seen before costs one probe of a small b-tree).
func (s *Store) addAliases(ctx context.Context, x execer, pairs map[[2]string]bool) error {
	return s.addPairs(ctx, x, "vuln_aliases", "alias", "vuln_id", pairs)
}

// addPairs inserts distinct (a, b) pairs into a two-column table keyed by
// both, leaving those it has.
func (s *Store) addPairs(ctx context.Context, x execer, table, colA, colB string, pairs map[[2]string]bool) error {
	if len(pairs) == 0 {
		return nil
	}
	list := make([][2]string, 0, len(pairs))
	for p := range pairs {
		if p[0] != "" && p[0] != p[1] && len(p[0]) <= 200 {
			list = append(list, p)
		}
	}
	// A stable lock order across concurrent writers.
	sort.Slice(list, func(i, j int) bool {
		if list[i][0] != list[j][0] {
			return list[i][0] < list[j][0]
		}
		return list[i][1] < list[j][1]
	})
	const per = 400
	for start := 0; start < len(list); start += per {
		part := list[start:min(start+per, len(list))]
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + colA + `, ` + colB + `) VALUES `)
		args := make([]any, 0, 2*len(part))
		for i, p := range part {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?)")
			args = append(args, p[0], p[1])
		}
		b.WriteString(` ON CONFLICT (` + colA + `, ` + colB + `) DO NOTHING`)
		if _, err := s.exec(ctx, x, b.String(), args...); err != nil {
			return fmt.Errorf("store %s: %w", table, err)
		}
	}
	return nil
}

// backfillAliases reads every stored advisory once and records its
// aliases (a store from before vuln_aliases).
func (s *Store) backfillAliases(ctx context.Context) error {
	pairs := map[[2]string]bool{}
	err := s.each(ctx, `SELECT id, data FROM vulnerabilities`, nil, func(r scanner) error {
		var id, data string
		if err := r.Scan(&id, &data); err != nil {
			return err
		}
		var v vulnPart
		if json.Unmarshal([]byte(data), &v) != nil {
			return nil // a damaged row has no alias to give
		}
		for _, a := range v.Aliases {
			pairs[[2]string{a, id}] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read advisories for their aliases: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.addAliases(ctx, tx, pairs) })
}

// VulnQuery searches the vulnerabilities the findings hold.
type VulnQuery struct {
	List
	// Q is an advisory id, one of its aliases, an id prefix (CVE-2026-1),
	// or a package name: tried in that order, the first that finds
	// something wins (VulnList.Match says which).
	Q        string
	Package  string         // exact package name
	Severity model.Severity // findings at least this severe
	KEV      bool           // known exploited only
}

// VulnSummary is one vulnerability across the fleet.
type VulnSummary struct {
	ID             string      `json:"id"`
	Title          string      `json:"title,omitempty"`
	Aliases        []string    `json:"aliases,omitempty"`
	Severity       string      `json:"severity"` // the worst of its findings
	Images         int         `json:"images"`   // images with a finding of it
	Findings       int         `json:"findings"`
	Package        string      `json:"package"`  // the first package name (by name)
	Packages       int         `json:"packages"` // distinct package names
	Fixable        bool        `json:"fixable"`  // some finding has a fixed version
	KnownExploited bool        `json:"known_exploited,omitempty"`
	KEVDateAdded   string      `json:"kev_date_added,omitempty"`
	EPSS           *model.EPSS `json:"epss,omitempty"`
}

// VulnList is a page of vulnerabilities and how Q matched: "id" (the id
// or an alias), "prefix", "package", "none", or "" without Q.
type VulnList struct {
	Items []VulnSummary `json:"items"`
	Next  string        `json:"next,omitempty"`
	Match string        `json:"match,omitempty"`
}

// ListVulnerabilities lists distinct vulnerabilities by id. A page is
// found in two steps, each read off an index: the next ids in order
// (findings_vuln, the partial findings_kev, or for a package vuln_packages
// checked against findings_vuln), then the counts of those ids alone —
// never an aggregate over every finding.
func (s *Store) ListVulnerabilities(ctx context.Context, q VulnQuery) (VulnList, error) {
	out := VulnList{Items: []VulnSummary{}}
	if len(q.Q) > 200 || len(q.Package) > 200 {
		return out, fmt.Errorf("%w: q and package: at most 200 characters", ErrBadQuery)
	}
	if q.Sort != "" && q.Sort != "id" {
		return out, fmt.Errorf("%w: sort: vulnerabilities are listed by id", ErrBadQuery)
	}
	var l listSQL
	// pkg: the package the list is narrowed to; its advisories are read
	// off vuln_packages rather than an index on findings.
	pkg := q.Package
	if pkg != "" {
		l.add("pkg_name = ?", pkg)
	}
	if q.Severity != "" {
		l.add("severity >= ?", q.Severity.Rank())
	}
	if q.KEV {
		l.add("known_exploited = 1")
	}
	if qq := strings.TrimSpace(q.Q); qq != "" {
		mode, cond, args, err := s.resolveVulnQ(ctx, qq)
		if err != nil {
			return out, err
		}
		out.Match = mode
		if mode == "none" {
			return out, nil
		}
		if mode == "package" {
			if pkg != "" && pkg != qq {
				return out, nil // two different packages: nothing has both
			}
			if pkg == "" {
				pkg = qq
				l.add(cond, args...)
			}
		} else {
			l.add(cond, args...)
		}
	}
	filter := l // the counts take the same filters, not the cursor
	filter.where = append([]string(nil), l.where...)
	filter.args = append([]any(nil), l.args...)
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxLimit)
	var after any
	if q.Cursor != "" {
		v, _, err := decodeCursor(q.Cursor, false)
		if err != nil {
			return out, err
		}
		after = v
	}
	var query string
	var qargs []any
	if pkg != "" {
		// The package's advisories in order, each kept when a finding of it
		// still matches (findings_vuln).
		query = `SELECT vp.vuln_id FROM vuln_packages vp WHERE vp.pkg_name = ?`
		qargs = []any{pkg}
		if after != nil {
			query += ` AND vp.vuln_id > ?`
			qargs = append(qargs, after)
		}
		query += fmt.Sprintf(` AND EXISTS (SELECT 1 FROM findings WHERE findings.vuln_id = vp.vuln_id AND %s) ORDER BY vp.vuln_id LIMIT %d`, strings.Join(l.where, " AND "), limit+1)
		qargs = append(qargs, l.args...)
	} else {
		if after != nil {
			l.add("vuln_id > ?", after)
		}
		query, qargs = fmt.Sprintf(`SELECT DISTINCT vuln_id FROM findings%s ORDER BY vuln_id LIMIT %d`, where(&l), limit+1), l.args
	}
	var ids []string
	err := s.each(ctx, query, qargs, func(r scanner) error {
		var id string
		if err := r.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("list vulnerabilities: %w", err)
	}
	if len(ids) > limit {
		ids = ids[:limit]
		out.Next = encodeCursor(ids[limit-1], ids[limit-1])
	}
	if len(ids) == 0 {
		return out, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	filter.add("vuln_id IN ("+in+")", anys(ids)...)
	byID := map[string]*VulnSummary{}
	for _, id := range ids {
		out.Items = append(out.Items, VulnSummary{ID: id})
	}
	for i := range out.Items {
		byID[out.Items[i].ID] = &out.Items[i]
	}
	err = s.each(ctx, `SELECT vuln_id, COUNT(DISTINCT resource_id), COUNT(*), MAX(severity), MAX(known_exploited),
		MAX(CASE WHEN fixed_version <> '' THEN 1 ELSE 0 END), MIN(pkg_name), COUNT(DISTINCT pkg_name) FROM findings`+where(&filter)+` GROUP BY vuln_id`, filter.args, func(r scanner) error {
		var id, pkg string
		var images, findings, sev, kev, fix, pkgs int
		if err := r.Scan(&id, &images, &findings, &sev, &kev, &fix, &pkg, &pkgs); err != nil {
			return err
		}
		if v := byID[id]; v != nil {
			v.Images, v.Findings, v.Severity, v.KnownExploited, v.Fixable, v.Package, v.Packages = images, findings, rankName(sev), kev == 1, fix == 1, pkg, pkgs
			if v.Severity == "" {
				v.Severity = string(model.SeverityUnknown)
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("count vulnerabilities: %w", err)
	}
	err = s.each(ctx, `SELECT id, data FROM vulnerabilities WHERE id IN (`+in+`)`, anys(ids), func(r scanner) error {
		var id, data string
		if err := r.Scan(&id, &data); err != nil {
			return err
		}
		var vp vulnPart
		if json.Unmarshal([]byte(data), &vp) != nil {
			return nil
		}
		if v := byID[id]; v != nil {
			v.Title, v.Aliases, v.KEVDateAdded, v.EPSS = vp.Title, vp.Aliases, vp.KEVDateAdded, vp.EPSS
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read advisories: %w", err)
	}
	return out, nil
}

// resolveVulnQ turns a search into a condition on findings: the id or an
// alias of it, else an id prefix, else a package name — each checked with
// one index probe.
func (s *Store) resolveVulnQ(ctx context.Context, q string) (mode, cond string, args []any, err error) {
	exists := func(cond string, args ...any) (bool, error) {
		var one int
		err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM findings WHERE `+cond+` LIMIT 1`), args...).Scan(&one)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, err
	}
	cands := map[string]bool{q: true, strings.ToUpper(q): true}
	err = s.each(ctx, `SELECT vuln_id FROM vuln_aliases WHERE alias IN (?, ?)`, []any{q, strings.ToUpper(q)}, func(r scanner) error {
		var id string
		if err := r.Scan(&id); err != nil {
			return err
		}
		cands[id] = true
		return nil
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("search aliases: %w", err)
	}
	ids := make([]string, 0, len(cands))
	for id := range cands {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	idCond := "vuln_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	if ok, err := exists(idCond, anys(ids)...); err != nil || ok {
		return "id", idCond, anys(ids), err
	}
	pfx := q
	if strings.HasPrefix(strings.ToUpper(q), "CVE-") || strings.HasPrefix(strings.ToUpper(q), "GHSA-") {
		pfx = strings.ToUpper(q[:strings.Index(q, "-")]) + q[strings.Index(q, "-"):]
	}
	pCond := "vuln_id >= ? AND vuln_id < ?"
	if ok, err := exists(pCond, pfx, pfx+"\uffff"); err != nil || ok {
		return "prefix", pCond, []any{pfx, pfx + "\uffff"}, err
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM vuln_packages vp WHERE vp.pkg_name = ?
		AND EXISTS (SELECT 1 FROM findings f WHERE f.vuln_id = vp.vuln_id AND f.pkg_name = vp.pkg_name) LIMIT 1`), q).Scan(&one)
	switch {
	case err == nil:
		return "package", "pkg_name = ?", []any{q}, nil
	case err != sql.ErrNoRows:
		return "", "", nil, fmt.Errorf("search packages: %w", err)
	}
	return "none", "", nil, nil
}

// AlertCount is how many alerts were last seen on a day (UTC) with a
// severity and a status.
type AlertCount struct {
	Day      string `json:"day"` // YYYY-MM-DD
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Count    int    `json:"count"`
}

// AlertCounts counts the alerts last seen from the start of from's day
// (UTC) on, per day, severity and status: one pass over an index range,
// whatever the number of alerts.
func (s *Store) AlertCounts(ctx context.Context, from time.Time) ([]AlertCount, error) {
	start := from.UTC().Truncate(24 * time.Hour)
	out := []AlertCount{}
	err := s.each(ctx, `SELECT (last_seen - ?) / 86400000, severity, status, COUNT(*) FROM alerts WHERE last_seen >= ? GROUP BY 1, 2, 3 ORDER BY 1, 2 DESC, 3`,
		[]any{ms(start), ms(start)}, func(r scanner) error {
			var day int64
			var sev int
			var c AlertCount
			if err := r.Scan(&day, &sev, &c.Status, &c.Count); err != nil {
				return err
			}
			c.Day = start.AddDate(0, 0, int(day)).Format("2006-01-02")
			c.Severity = rankName(sev)
			if c.Severity == "" {
				c.Severity = string(model.SeverityUnknown)
			}
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count alerts per day: %w", err)
	}
	return out, nil
}
