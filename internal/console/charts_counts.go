package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/store"
)

// scoreTrendDays draws the secure score (percent) over the last n days.
func scoreTrendDays(days []store.ScoreDay, now time.Time, n int) *lineChart {
	lc := &lineChart{W: 300, H: 80}
	if len(days) == 0 {
		lc.Empty = true
		return lc
	}
	span := max(n-1, 1)
	start := now.UTC().AddDate(0, 0, -span).Truncate(24 * time.Hour)
	var pts []string
	for _, d := range days {
		t, err := time.Parse("2006-01-02", d.Day)
		if err != nil {
			continue
		}
		x := t.Sub(start).Hours() / 24 * float64(lc.W) / float64(span)
		y := float64(lc.H) - d.Percent*float64(lc.H)/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		lc.Last = d.Percent
	}
	if len(pts) == 1 { // one day: a short flat line so it shows
		pts = append([]string{"0" + pts[0][strings.Index(pts[0], ","):]}, pts...)
	}
	lc.Points = strings.Join(pts, " ")
	lc.First, lc.End = start.Format("2 Jan"), now.UTC().Format("2 Jan")
	return lc
}

// alertCountBars stacks the server's per-day counts of the last 30 days by
// severity (GET /api/v1/alerts/stats: counted in the store, not listed).
func alertCountBars(counts []store.AlertCount, now time.Time) *barChart {
	bc := &barChart{W: 300, H: 80, Totals: map[string]int{}}
	start := now.UTC().AddDate(0, 0, -29).Truncate(24 * time.Hour)
	sevs := []string{"critical", "high", "medium", "low", "info", "unknown"}
	per := make([]map[string]int, 30)
	for i := range per {
		per[i] = map[string]int{}
	}
	for _, c := range counts {
		t, err := time.Parse("2006-01-02", c.Day)
		if err != nil {
			continue
		}
		day := int(t.Sub(start).Hours() / 24)
		if day < 0 || day >= 30 {
			continue
		}
		per[day][c.Severity] += c.Count
		bc.Totals[c.Severity] += c.Count
	}
	for _, m := range per {
		n := 0
		for _, v := range m {
			n += v
		}
		bc.Max = max(bc.Max, n)
	}
	bw := bc.W / 30
	for i, m := range per {
		y := bc.H
		for _, s := range sevs {
			if m[s] == 0 {
				continue
			}
			h := max(1, m[s]*bc.H/max(bc.Max, 1))
			y -= h
			bc.Bars = append(bc.Bars, bar{X: i * bw, Y: y, W: bw - 1, H: h, Severity: s, N: m[s], Day: start.AddDate(0, 0, i).Format("2 Jan")})
		}
	}
	bc.First, bc.End = start.Format("2 Jan"), now.UTC().Format("2 Jan")
	return bc
}
