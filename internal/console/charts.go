package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/store"
)

// Charts are drawn by the server as inline SVG: numbers computed here, the
// markup in the templates (so html/template escapes every label).

type lineChart struct {
	W, H   int
	Points string // polyline points
	Last   float64
	First  string
	End    string
	Empty  bool
}

// scoreTrend draws the secure score (percent) over the last 30 days.
func scoreTrend(days []store.ScoreDay, now time.Time) *lineChart {
	return scoreTrendDays(days, now, 30)
}

type bar struct {
	X, Y, W, H int
	Severity   string
	Day        string
	N          int
}

type barChart struct {
	W, H   int
	Bars   []bar
	Max    int
	First  string
	End    string
	Totals map[string]int
}

var funcs = template.FuncMap{
	"idPath": idPath,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"pct": func(a, b int) int {
		if b <= 0 {
			return 0
		}
		return a * 100 / b
	},
	"pctf":   func(f float64) string { return fmt.Sprintf("%.0f%%", f) },
	"points": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	// sel says whether a filter holds a value (a select's option).
	"sel": func(q url.Values, k, v string) bool { return q.Get(k) == v },
	// sortLink is the list's URL sorted by key (again: the other way).
	"sortLink": func(u *url.URL, key string) string {
		q := u.Query()
		if q.Get("sort") == key {
			key = "-" + key
		}
		q.Set("sort", key)
		q.Del("cursor")
		q.Del("done")
		return u.Path + "?" + q.Encode()
	},
	"can": func(s *session, scope string) bool { return s != nil && s.can(scope) },
	"str": func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	},
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	// shownFact: facts a page already shows under a plain name.
	"shownFact": func(kind, k string) bool {
		return kind == "docker-host" && (k == "docker_version" || k == "images")
	},
	// short is a digest cut for a table cell (the full one is in the JSON).
	"short": func(s string) string {
		if _, h, ok := strings.Cut(s, ":"); ok && len(h) > 12 {
			return s[:len(s)-len(h)] + h[:12]
		}
		return s
	},
	// others counts the statuses a section's columns do not show.
	"others": func(m map[string]int) int {
		n := 0
		for k, v := range m {
			switch k {
			case "healthy", "unhealthy", "manual", "not-applicable":
			default:
				n += v
			}
		}
		return n
	},
	"sevs":          func() []string { return []string{"critical", "high", "medium", "low"} },
	"healths":       func() []string { return []string{"healthy", "unhealthy", "not-assessed"} },
	"alertStatuses": func() []string { return []string{"active", "dismissed", "resolved"} },
	"kinds": func() []string {
		return []string{"registry", "repository", "image", "docker-host", "container", "cluster", "namespace", "workload", "node"}
	},
	"statuses": func() []string {
		return []string{"unhealthy", "healthy", "exempt", "not-applicable", "not-assessed", "manual", "error"}
	},
}
