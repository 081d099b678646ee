package api

import (
	"cmp"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/distro"
	"github.com/bulwarkdev/bulwark/internal/dockerbench"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/match"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/version"
)

// resourceRoutes are what a resource's page shows beyond its row: an
// image's layers, OS, packages and upgrades (read from the inventory the
// server stored at ingestion and the findings it matched), and any
// resource's check results by benchmark section. A resource id may hold
// slashes, so these hang off /images/{id} (an image id is a digest) and
// take the resource as a query parameter.
func (a *API) resourceRoutes() []Route {
	img := Param{Name: "id", In: "path", Desc: "image id (manifest or config digest)"}
	return []Route{
		{Method: "GET", Path: "/api/v1/images/{id}/layers", Scope: auth.ScopeRead, Tag: "inventory", Summary: "An image's platform, size, OS (with its vendor's end of support as of today) and layers with the history command that made each.",
			Params: []Param{img}, Result: "ImageLayers", Handler: a.imageLayers},
		{Method: "GET", Path: "/api/v1/images/{id}/packages", Scope: auth.ScopeRead, Tag: "inventory", Summary: "An image's packages, by name, with the layer that brought each.",
			Params: []Param{img, q("name", "exact name, or a prefix ending in *"), q("limit", "page size (1-500, default 50)"), q("cursor", "the `next` of the previous page")}, Result: "PackagePage", Handler: a.imagePackages},
		{Method: "GET", Path: "/api/v1/images/{id}/upgrades", Scope: auth.ScopeRead, Tag: "vulnerabilities",
			Summary: "An image's vulnerabilities grouped by package with their fixed versions, and the smallest set of upgrades that fixes them, ranked by what each fixes (known exploited first, then severity, then count).",
			Params:  []Param{img, q("limit", "package groups per page (1-500, default 50)"), q("cursor", "the `next` of the previous page")}, Result: "ImageUpgrades", Handler: a.imageUpgrades},
		{Method: "GET", Path: "/api/v1/assessments/sections", Scope: auth.ScopeRead, Tag: "assessments",
			Summary: "One resource's check results grouped by benchmark section (CIS Docker, CIS Kubernetes: the control id's first number) or policy family, with counts by status.",
			Params:  []Param{q("resource", "resource id (required)")}, Result: "Sections", Handler: a.assessmentSections},
	}
}

// ImageLayers is GET /api/v1/images/{id}/layers.
type ImageLayers struct {
	Image    string        `json:"image"`
	Platform string        `json:"platform,omitempty"`
	Created  string        `json:"created,omitempty"`
	Size     int64         `json:"size,omitempty"`
	Distro   *model.Distro `json:"distro,omitempty"`
	Layers   []model.Layer `json:"layers"`
}

// inventoryOf reads an image's stored inventory back.
func (a *API) inventoryOf(w http.ResponseWriter, r *http.Request) (*model.Report, bool) {
	id := r.PathValue("id")
	inv, err := a.o.Store.Inventory(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err, "inventory of image "+id)
		return nil, false
	}
	rep, err := ingest.DecodeInventory(inv)
	if err != nil {
		a.o.Logger.Error("decode stored inventory", "image", id, "err", err)
		problem(w, r, http.StatusInternalServerError, "unreadable inventory", "the stored inventory of "+id+" cannot be read; it is logged")
		return nil, false
	}
	return rep, true
}

func (a *API) imageLayers(w http.ResponseWriter, r *http.Request) {
	rep, ok := a.inventoryOf(w, r)
	if !ok {
		return
	}
	out := ImageLayers{Image: rep.Resource.ID, Platform: rep.Image.Platform, Created: rep.Image.Created, Size: rep.Image.Size, Distro: rep.Distro, Layers: rep.Image.Layers}
	if out.Layers == nil {
		out.Layers = []model.Layer{}
	}
	// End of support is a date: judged today, not when the image was
	// scanned.
	distro.MarkEOL(out.Distro, a.o.Now())
	writeJSON(w, http.StatusOK, out)
}

// pageBounds reads an offset cursor and a limit (1-500, default def).
func pageBounds(w http.ResponseWriter, r *http.Request, def int) (offset, limit int, ok bool) {
	v := r.URL.Query()
	limit = def
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			problem(w, r, http.StatusBadRequest, "bad query", "limit: want 1 to 500")
			return 0, 0, false
		}
		limit = n
	}
	if s := v.Get("cursor"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			problem(w, r, http.StatusBadRequest, "bad query", "cursor: not one this server gave")
			return 0, 0, false
		}
		offset = n
	}
	return offset, limit, true
}

func nextCursor(offset, limit, total int) string {
	if offset+limit < total {
		return strconv.Itoa(offset + limit)
	}
	return ""
}

// PackagePage is a page of an image's packages.
type PackagePage struct {
	Items []model.Package `json:"items"`
	Total int             `json:"total"`
	Next  string          `json:"next,omitempty"`
}

func (a *API) imagePackages(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := pageBounds(w, r, 50)
	if !ok {
		return
	}
	rep, ok := a.inventoryOf(w, r)
	if !ok {
		return
	}
	pkgs := rep.Packages
	if name := r.URL.Query().Get("name"); name != "" {
		prefix, isPrefix := strings.CutSuffix(name, "*")
		pkgs = slices.DeleteFunc(slices.Clone(pkgs), func(p model.Package) bool {
			if isPrefix {
				return !strings.HasPrefix(p.Name, prefix)
			}
			return p.Name != name
		})
	}
	slices.SortStableFunc(pkgs, func(x, y model.Package) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.Version, y.Version), strings.Compare(x.Path, y.Path))
	})
	out := PackagePage{Items: []model.Package{}, Total: len(pkgs), Next: nextCursor(offset, limit, len(pkgs))}
	if offset < len(pkgs) {
		out.Items = pkgs[offset:min(offset+limit, len(pkgs))]
	}
	writeJSON(w, http.StatusOK, out)
}

// PackageVulns are one package's findings in an image.
type PackageVulns struct {
	Package   string            `json:"package"`
	Type      model.PackageType `json:"type"`
	Version   string            `json:"version"`
	Path      string            `json:"path,omitempty"`
	Severity  model.Severity    `json:"severity"` // the worst
	FixedIn   string            `json:"fixed_in,omitempty"`
	Findings  []PackageFinding  `json:"findings"`
	weight    int
	worstRank int
}

// PackageFinding is one finding of a package.
type PackageFinding struct {
	ID             string         `json:"id"`
	Severity       model.Severity `json:"severity"`
	Status         model.Status   `json:"status"`
	FixedVersion   string         `json:"fixed_version,omitempty"`
	KnownExploited bool           `json:"known_exploited,omitempty"`
	Title          string         `json:"title,omitempty"`
}

// ImageUpgrades is GET /api/v1/images/{id}/upgrades.
type ImageUpgrades struct {
	Image     string                `json:"image"`
	Findings  int                   `json:"findings"` // active
	Fixable   int                   `json:"fixable"`  // active with a fix
	Upgrades  []match.RankedUpgrade `json:"upgrades"` // every one: the list is one per package
	Packages  []PackageVulns        `json:"packages"` // this page of groups, worst first
	Groups    int                   `json:"groups"`   // packages with findings
	Next      string                `json:"next,omitempty"`
	Truncated bool                  `json:"truncated,omitempty"` // more findings than one answer reads
}

// maxImageFindings bounds what one answer reads: the largest real images
// have a few thousand findings.
const maxImageFindings = 20000

// allOf reads every page of a keyset list, up to max items.
func allOf[T any](max int, list func(cursor string) (store.Page[T], error)) ([]T, bool, error) {
	var out []T
	cursor := ""
	for {
		p, err := list(cursor)
		if err != nil {
			return nil, false, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, false, nil
		}
		if len(out) >= max {
			return out, true, nil
		}
		cursor = p.Next
	}
}

func (a *API) imageUpgrades(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := pageBounds(w, r, 50)
	if !ok {
		return
	}
	id := r.PathValue("id")
	res, err := a.o.Store.Resource(r.Context(), id)
	if err == nil && res.Kind != model.KindImage {
		err = store.ErrNotFound
	}
	if err != nil {
		a.storeError(w, r, err, "image "+id)
		return
	}
	rows, truncated, err := allOf(maxImageFindings, func(c string) (store.Page[store.FindingRow], error) {
		return a.o.Store.ListFindings(r.Context(), store.FindingQuery{List: store.List{Limit: 500, Cursor: c}, Resource: id})
	})
	if err != nil {
		a.storeError(w, r, err, "findings of "+id)
		return
	}
	fs := make([]model.Finding, len(rows))
	for i, f := range rows {
		fs[i] = f.Finding
	}
	out := ImageUpgrades{Image: id, Upgrades: match.Upgrades(fs), Truncated: truncated, Packages: []PackageVulns{}}
	groups := groupByPackage(fs)
	for _, f := range fs {
		if f.Status != model.StatusNotAffected && f.Status != model.StatusExempt {
			out.Findings++
			if f.FixedVersion != "" {
				out.Fixable++
			}
		}
	}
	out.Groups = len(groups)
	out.Next = nextCursor(offset, limit, len(groups))
	if offset < len(groups) {
		out.Packages = groups[offset:min(offset+limit, len(groups))]
	}
	writeJSON(w, http.StatusOK, out)
}

// groupByPackage puts findings under their package instance, the worst
// package first; each group says the version that fixes all its fixable
// findings.
func groupByPackage(fs []model.Finding) []PackageVulns {
	byKey := map[string]*PackageVulns{}
	var order []string
	for _, f := range fs {
		p := f.Package
		key := string(p.Type) + "\x00" + p.Name + "\x00" + f.InstalledVersion + "\x00" + p.Path
		g, ok := byKey[key]
		if !ok {
			g = &PackageVulns{Package: p.Name, Type: p.Type, Version: f.InstalledVersion, Path: p.Path}
			byKey[key] = g
			order = append(order, key)
		}
		g.Findings = append(g.Findings, PackageFinding{ID: f.ID, Severity: f.Severity, Status: f.Status, FixedVersion: f.FixedVersion, KnownExploited: f.KnownExploited, Title: f.Title})
		active := f.Status != model.StatusNotAffected && f.Status != model.StatusExempt
		if active && f.Severity.Rank() > g.worstRank {
			g.worstRank, g.Severity = f.Severity.Rank(), f.Severity
		}
		if active && f.FixedVersion != "" {
			if g.FixedIn == "" {
				g.FixedIn = f.FixedVersion
			} else if c, err := version.Compare(match.VersionScheme(p.Type), f.FixedVersion, g.FixedIn); err == nil && c > 0 {
				g.FixedIn = f.FixedVersion
			}
			g.weight += f.Severity.Rank()*10 + 1
		}
	}
	out := make([]PackageVulns, 0, len(order))
	for _, k := range order {
		g := byKey[k]
		sort.SliceStable(g.Findings, func(i, j int) bool {
			if a, b := g.Findings[i].Severity.Rank(), g.Findings[j].Severity.Rank(); a != b {
				return a > b
			}
			return g.Findings[i].ID < g.Findings[j].ID
		})
		if g.Severity == "" {
			g.Severity = model.SeverityUnknown
		}
		out = append(out, *g)
	}
	slices.SortStableFunc(out, func(x, y PackageVulns) int {
		return cmp.Or(cmp.Compare(y.worstRank, x.worstRank), cmp.Compare(len(y.Findings), len(x.Findings)), strings.Compare(x.Package, y.Package))
	})
	return out
}

// Section is one benchmark section's (or policy family's) results on a
// resource.
type Section struct {
	Source string                `json:"source"`
	ID     string                `json:"id"` // "1" for CIS section 1; the family's name otherwise
	Title  string                `json:"title"`
	Counts map[string]int        `json:"counts"` // by assessment status
	Items  []store.AssessmentRow `json:"items"`
}

// Sections is GET /api/v1/assessments/sections.
type Sections struct {
	Resource string    `json:"resource"`
	Sections []Section `json:"sections"`
}

func (a *API) assessmentSections(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("resource")
	if id == "" {
		problem(w, r, http.StatusBadRequest, "bad query", "resource: required")
		return
	}
	rows, _, err := allOf(50000, func(c string) (store.Page[store.AssessmentRow], error) {
		return a.o.Store.ListAssessments(r.Context(), store.AssessmentQuery{List: store.List{Limit: 500, Cursor: c, Sort: "rule"}, Resource: id})
	})
	if err != nil {
		a.storeError(w, r, err, "assessments of "+id)
		return
	}
	writeJSON(w, http.StatusOK, Sections{Resource: id, Sections: GroupSections(rows)})
}

var sectionTitles = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, c := range dockerbench.Controls() {
		n, _, _ := strings.Cut(c.ID, ".")
		if _, ok := m["cis-docker/"+n]; !ok {
			m["cis-docker/"+n] = c.Section
		}
	}
	for _, c := range k8sbench.Controls() {
		n, _, _ := strings.Cut(c.ID, ".")
		if _, ok := m["cis-k8s/"+n]; !ok {
			m["cis-k8s/"+n] = c.Section
		}
	}
	return m
})

// sectionOf names the section of a rule: a CIS control's first number (its
// title from the benchmark's own controls), or a family of Bulwark rules.
func sectionOf(rule string) (source, id, title string) {
	for _, b := range []struct{ prefix, source, name string }{{"CIS-DOCKER-", "cis-docker", "CIS Docker"}, {"CIS-K8S-", "cis-k8s", "CIS Kubernetes"}} {
		if rest, ok := strings.CutPrefix(rule, b.prefix); ok {
			n, _, _ := strings.Cut(rest, ".")
			title := sectionTitles()[b.source+"/"+n]
			if title == "" {
				title = "Section " + n
			}
			return b.source, n, b.name + " " + n + " " + title
		}
	}
	switch {
	case strings.HasPrefix(rule, "BW-PSS-"):
		return "k8s-policy", "pss", "Pod Security Standards"
	case strings.HasPrefix(rule, "BW-K8S-"):
		return "k8s-policy", "k8s", "Kubernetes policies"
	case strings.HasPrefix(rule, "VULN-"):
		return "vuln", "vuln", "Vulnerabilities"
	}
	return "other", "other", "Other checks"
}

// ruleLess orders control ids by their numbers (1.2 before 1.10).
func ruleLess(a, b string) int {
	as, bs := strings.FieldsFunc(a, isSep), strings.FieldsFunc(b, isSep)
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		if errx == nil && erry == nil {
			if x != y {
				return cmp.Compare(x, y)
			}
			continue
		}
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

func isSep(r rune) bool { return r == '.' || r == '-' }

// GroupSections groups a resource's results by section, in the
// benchmark's order.
func GroupSections(rows []store.AssessmentRow) []Section {
	slices.SortStableFunc(rows, func(x, y store.AssessmentRow) int { return ruleLess(x.Rule, y.Rule) })
	var out []Section
	idx := map[string]int{}
	for _, row := range rows {
		src, id, title := sectionOf(row.Rule)
		k := src + "/" + id
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Section{Source: src, ID: id, Title: title, Counts: map[string]int{}})
		}
		out[i].Counts[string(row.Status)]++
		out[i].Items = append(out[i].Items, row)
	}
	slices.SortStableFunc(out, func(x, y Section) int {
		return cmp.Or(strings.Compare(x.Source, y.Source), ruleLess(x.ID, y.ID))
	})
	if out == nil {
		out = []Section{}
	}
	return out
}
