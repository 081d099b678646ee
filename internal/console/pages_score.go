package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// --- Secure score

type scoreControl struct {
	store.ControlScore
	Recs    []api.RecSummary
	Percent int // points gained of points possible, in percent
}

type scoreData struct {
	Score    store.Score
	Controls []scoreControl
	Trend    *lineChart
	Days     int
	Control  string // the one control shown, if any
	Q        url.Values
}

// scoreDays are the trend's windows the page offers.
var scoreDays = map[string]int{"7": 7, "30": 30, "90": 90}

// scorePage shows, per security control, the points gained of the points
// possible with the recommendations behind it, and the score's trend.
// ?control= narrows it to one control (and its own trend), ?days= picks the
// trend's window, ?sort= orders the controls (gain: most points to win
// first, the default; title; percent).
func (c *Console) scorePage(w http.ResponseWriter, r *http.Request) {
	in := r.URL.Query()
	d := scoreData{Days: 30, Control: strings.TrimSpace(in.Get("control")), Q: in}
	if v := in.Get("days"); v != "" {
		n, ok := scoreDays[v]
		if !ok {
			c.errorPage(w, r, sessionOf(r), http.StatusBadRequest, "Bad query", "days: 7, 30 or 90")
			return
		}
		d.Days = n
	}
	if !c.get(w, r, "/api/v1/score", &d.Score) {
		return
	}
	rq := url.Values{}
	hq := url.Values{"days": {strconv.Itoa(d.Days)}}
	if d.Control != "" {
		rq.Set("control", d.Control)
		hq.Set("control", d.Control)
	}
	var recs struct{ Items []api.RecSummary }
	if !c.get(w, r, "/api/v1/recommendations?"+rq.Encode(), &recs) {
		return
	}
	byControl := map[string][]api.RecSummary{}
	for _, rec := range recs.Items {
		byControl[rec.Control] = append(byControl[rec.Control], rec)
	}
	for _, ct := range d.Score.Controls {
		if d.Control != "" && ct.Control != d.Control {
			continue
		}
		sc := scoreControl{ControlScore: ct, Recs: byControl[ct.Control]}
		if ct.MaxPoints > 0 {
			sc.Percent = int(ct.Points * 100 / ct.MaxPoints)
		}
		d.Controls = append(d.Controls, sc)
	}
	if d.Control != "" && len(d.Controls) == 0 {
		c.errorPage(w, r, sessionOf(r), http.StatusNotFound, "No such control", "The catalogue has no security control "+d.Control+".")
		return
	}
	switch in.Get("sort") {
	case "", "gain":
		sort.SliceStable(d.Controls, func(i, j int) bool {
			return d.Controls[i].MaxPoints-d.Controls[i].Points > d.Controls[j].MaxPoints-d.Controls[j].Points
		})
	case "title":
		sort.SliceStable(d.Controls, func(i, j int) bool { return d.Controls[i].Title < d.Controls[j].Title })
	case "percent":
		sort.SliceStable(d.Controls, func(i, j int) bool { return d.Controls[i].Percent < d.Controls[j].Percent })
	default:
		c.errorPage(w, r, sessionOf(r), http.StatusBadRequest, "Bad query", "sort: gain, title or percent")
		return
	}
	var hist struct{ Items []store.ScoreDay }
	if !c.get(w, r, "/api/v1/score/history?"+hq.Encode(), &hist) {
		return
	}
	d.Trend = scoreTrendDays(hist.Items, c.o.Now(), d.Days)
	title := "Secure score"
	if d.Control != "" && len(d.Controls) == 1 {
		title = "Secure score: " + d.Controls[0].Title
	}
	c.render(w, r, http.StatusOK, "score", page{Title: title, Nav: "score", Data: d})
}
