// Package scan is the image-scanning pipeline: open a source, catalog its
// packages layer by layer, match them against the vulnerability DB, apply
// suppressions and decide whether the image is healthy. It returns one
// model.Report; rendering is the report package's job.
package scan

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bulwarkdev/bulwark/internal/analyze"
	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/catalog/builtin"
	"github.com/bulwarkdev/bulwark/internal/catalog/ospkg"
	"github.com/bulwarkdev/bulwark/internal/distro"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/match"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/sbom"
	"github.com/bulwarkdev/bulwark/internal/suppress"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// SourceKind says where an image is read from.
type SourceKind string

const (
	FromRegistry SourceKind = "registry"
	FromDocker   SourceKind = "docker"
	FromTarball  SourceKind = "tarball"
	FromLayout   SourceKind = "oci-layout"
	FromDir      SourceKind = "dir"
)

// Target names the artifact to scan.
type Target struct {
	Kind SourceKind
	Ref  string // image reference, file or directory
}

// Options configure a scan. The zero value plus CacheDir is usable.
type Options struct {
	// CacheDir holds the vulnerability DB (CacheDir/db) and the per-layer
	// analysis cache (CacheDir/layers).
	CacheDir string
	// NoLayerCache disables the per-layer cache.
	NoLayerCache bool
	// Threshold: the image is unhealthy when an active finding is at or
	// above it. Default medium.
	Threshold model.Severity
	// Severities, when set, keeps only findings of these severities.
	Severities []model.Severity
	// IgnoreUnfixed drops findings that have no fix.
	IgnoreUnfixed bool
	IgnoreFile    string
	VEXFile       string
	Image         image.Options
	Limits        layer.Limits
	// DBMaxAge: older DBs get a staleness warning. Default 7 days.
	DBMaxAge time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
	Version  string // tool version for the report
	// Suppress, when set, marks findings suppressed after the ignore file
	// and VEX (the server's exemptions): before the verdict is reached.
	Suppress func(findings []model.Finding, img model.ImageInfo) []model.Finding

	// only restricts a directory's walk (Host).
	only []string
}

func (o *Options) defaults() {
	if o.Threshold == "" {
		o.Threshold = model.SeverityMedium
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DBMaxAge == 0 {
		o.DBMaxAge = 7 * 24 * time.Hour
	}
	if o.Limits == (layer.Limits{}) {
		o.Limits = layer.DefaultLimits()
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// DBDir is where the vulnerability DB lives under a cache dir.
func DBDir(cacheDir string) string { return filepath.Join(cacheDir, "db") }

// LayerCacheDir is where per-layer analyses live under a cache dir.
func LayerCacheDir(cacheDir string) string { return filepath.Join(cacheDir, "layers") }

// Open opens the target's image.
func Open(ctx context.Context, t Target, o image.Options) (*image.Opened, error) {
	op, err := open(ctx, t, o)
	if err != nil {
		return nil, err
	}
	// A single-platform image is taken as it is by every source; a
	// --platform it does not have must not be scanned silently instead.
	if err := image.CheckPlatform(op.Info, o); err != nil {
		op.Close()
		return nil, err
	}
	return op, nil
}

func open(ctx context.Context, t Target, o image.Options) (*image.Opened, error) {
	switch t.Kind {
	case FromRegistry:
		return image.Remote(ctx, t.Ref, o)
	case FromDocker:
		return image.Docker(ctx, t.Ref, o)
	case FromTarball:
		return image.Tarball(ctx, t.Ref, o)
	case FromLayout:
		return image.Layout(ctx, t.Ref, o)
	}
	return nil, fmt.Errorf("unknown image source %q", t.Kind)
}

// Catalog inventories the target's packages without matching: the basis of
// `bulwark sbom` and the first half of a scan.
func Catalog(ctx context.Context, t Target, opts Options) (*model.Report, error) {
	opts.defaults()
	tab, err := builtin.Table()
	if err != nil {
		return nil, fmt.Errorf("build cataloger table: %w", err)
	}
	return catalogWith(ctx, t, tab, opts)
}

func catalogWith(ctx context.Context, t Target, tab *catalog.Table, opts Options) (*model.Report, error) {
	ao := analyze.Options{Table: tab, Limits: opts.Limits, Logger: opts.Logger, Only: opts.only}
	if !opts.NoLayerCache && opts.CacheDir != "" {
		ao.Cache = analyze.DirCache(LayerCacheDir(opts.CacheDir))
	}
	rep := newReport(opts)
	var res *analyze.Result
	if t.Kind == FromDir {
		r, err := analyze.Dir(ctx, t.Ref, ao)
		if err != nil {
			return nil, fmt.Errorf("analyze directory %s: %w", t.Ref, err)
		}
		res = r
		rep.Image = model.ImageInfo{Reference: t.Ref, Source: string(FromDir)}
		rep.Resource = model.Resource{Kind: model.KindImage, ID: "dir:" + t.Ref, Name: t.Ref}
	} else {
		op, err := Open(ctx, t, opts.Image)
		if err != nil {
			// Every image source's error names the image and what failed.
			return nil, err
		}
		defer op.Close()
		ao.Open = op.LayerReader()
		r, err := analyze.Image(ctx, op.Image, op.Info.Layers, ao)
		if err != nil {
			return nil, fmt.Errorf("analyze image %s: %w", t.Ref, err)
		}
		res = r
		rep.Image = op.Info
		rep.Resource = imageResource(op.Info)
	}
	rep.Distro = res.Distro
	if rep.Distro != nil {
		distro.MarkEOL(rep.Distro, opts.Now())
		if rep.Distro.EOL {
			rep.Warnings = append(rep.Warnings, model.Warning{Stage: "os", Subject: rep.Distro.PrettyName,
				Message: fmt.Sprintf("%s %s reached end of life on %s: it gets no security fixes; move to a supported release", rep.Distro.ID, rep.Distro.VersionID, rep.Distro.EOLDate)})
		}
	}
	rep.Packages = catalog.Dedupe(res.Packages)
	ospkg.ApplyDistro(rep.Packages, rep.Distro)
	rep.Warnings = append(rep.Warnings, res.Warnings...)
	rep.Summary.Packages = len(rep.Packages)
	return rep, nil
}

func newReport(opts Options) *model.Report {
	return &model.Report{
		SchemaVersion: model.SchemaVersion,
		Tool:          model.Tool{Name: "bulwark", Version: opts.Version},
		GeneratedAt:   opts.Now().UTC().Truncate(time.Second),
		Packages:      []model.Package{},
		Findings:      []model.Finding{},
	}
}

func imageResource(info model.ImageInfo) model.Resource {
	id := info.Digest
	if id == "" {
		id = info.ConfigDigest
	}
	facts := map[string]string{"source": info.Source}
	if info.Platform != "" {
		facts["platform"] = info.Platform
	}
	return model.Resource{Kind: model.KindImage, ID: id, Name: info.Reference, Facts: facts}
}

// Image scans an image: catalog, match, suppress, summarize.
func Image(ctx context.Context, t Target, opts Options) (*model.Report, error) {
	opts.defaults()
	db, err := vulndb.Open(DBDir(opts.CacheDir))
	if err != nil {
		return nil, err // names the DB and what to do
	}
	defer db.Close()
	rep, err := Catalog(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	if err := matchInto(ctx, rep, db, opts); err != nil {
		return nil, err
	}
	return rep, nil
}

// SBOM scans the packages listed in a CycloneDX or SPDX JSON document.
func SBOM(ctx context.Context, path string, opts Options) (*model.Report, error) {
	opts.defaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open SBOM: %w", err)
	}
	defer f.Close()
	doc, err := sbom.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read SBOM %s: %w", path, err)
	}
	db, err := vulndb.Open(DBDir(opts.CacheDir))
	if err != nil {
		return nil, err // names the DB and what to do
	}
	defer db.Close()
	rep := newReport(opts)
	rep.Image = doc.Subject
	rep.Image.Source = "sbom:" + doc.Format
	if rep.Image.Reference == "" {
		rep.Image.Reference = path
	}
	rep.Resource = imageResource(rep.Image)
	if rep.Resource.ID == "" {
		rep.Resource.ID = "sbom:" + path
	}
	rep.Distro = doc.Distro
	if rep.Distro != nil {
		distro.MarkEOL(rep.Distro, opts.Now())
	}
	rep.Packages = doc.Packages
	if rep.Packages == nil {
		rep.Packages = []model.Package{}
	}
	rep.Summary.Packages = len(rep.Packages)
	if err := matchInto(ctx, rep, db, opts); err != nil {
		return nil, err
	}
	return rep, nil
}

func matchInto(ctx context.Context, rep *model.Report, db *vulndb.DB, opts Options) error {
	meta := db.Meta()
	info := &model.DBInfo{BuiltAt: meta.BuiltAt.UTC()}
	for _, s := range meta.Sources {
		info.Sources = append(info.Sources, s.Name)
	}
	if opts.Now().Sub(meta.BuiltAt) > opts.DBMaxAge {
		info.Stale = true
		rep.Warnings = append(rep.Warnings, model.Warning{Stage: "db", Message: fmt.Sprintf("vulnerability DB was built %s ago; run `bulwark db update`", opts.Now().Sub(meta.BuiltAt).Round(time.Hour))})
	}
	rep.DB = info
	findings, warns, err := match.New(db, match.WithLogger(opts.Logger)).Match(ctx, rep.Distro, rep.Packages)
	if err != nil {
		return fmt.Errorf("match packages: %w", err)
	}
	rep.Warnings = append(rep.Warnings, warns...)
	findings = filter(findings, opts)
	if opts.IgnoreFile != "" {
		rules, err := suppress.LoadIgnoreFile(opts.IgnoreFile)
		if err != nil {
			return fmt.Errorf("load ignore file: %w", err)
		}
		var w []model.Warning
		findings, w = rules.Apply(findings, opts.Now())
		rep.Warnings = append(rep.Warnings, w...)
	}
	if opts.VEXFile != "" {
		vex, err := suppress.LoadVEX(opts.VEXFile)
		if err != nil {
			return fmt.Errorf("load VEX: %w", err)
		}
		findings = vex.Apply(findings, rep.Image)
	}
	if opts.Suppress != nil {
		findings = opts.Suppress(findings, rep.Image)
	}
	if findings == nil {
		findings = []model.Finding{}
	}
	rep.Findings = findings
	rep.Summary = match.Summarize(findings, len(rep.Packages), opts.Threshold)
	// Summarize judges the findings only; the verdict also needs to know
	// that every part of the image was looked at.
	rep.Summary.Coverage = coverage(rep, meta)
	rep.Summary.Decide(rep.Summary.Healthy)
	rep.Assessments = []model.Assessment{healthAssessment(rep, opts)}
	return nil
}

// coverage compares the image's packages with what the DB holds and says,
// for each part the DB lacks, what would fill it.
func coverage(rep *model.Report, meta vulndb.Meta) []model.CoveragePart {
	parts := match.Coverage(rep.Distro, rep.Packages, func(eco string) ([]string, bool) {
		c, ok := meta.Covers(eco)
		if !ok {
			return nil, false
		}
		names := make([]string, 0, len(c.Sources))
		for _, s := range c.Sources {
			names = append(names, s.Name)
		}
		return names, true
	})
	for i := range parts {
		p := &parts[i]
		if p.Assessed || p.Kind == model.CoverageNone || p.Need != "" {
			continue
		}
		p.Need = need(p.Name)
	}
	return parts
}

// need says what `bulwark db update` must bring for an ecosystem's part to
// be assessed.
func need(eco string) string {
	if feed.DefaultCovers(eco) {
		return fmt.Sprintf("%s advisories: run `bulwark db update` (its default upstreams carry them), or on an air-gapped host `bulwark db update --source` with a feed for them", match.Describe(eco))
	}
	return fmt.Sprintf("%s advisories: the default upstreams of `bulwark db update` carry none yet; import a feed with `bulwark db update --source` (OSV records of ecosystem %q)", match.Describe(eco), eco)
}

func filter(fs []model.Finding, opts Options) []model.Finding {
	out := fs[:0]
	for _, f := range fs {
		// A finding without a severity is of unknown severity: --severity
		// unknown keeps it, like any other level.
		sev, _ := model.ParseSeverity(string(f.Severity))
		if len(opts.Severities) > 0 && !slices.Contains(opts.Severities, sev) {
			continue
		}
		if opts.IgnoreUnfixed && f.FixedVersion == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// healthAssessment expresses the verdict in the shared result model so the
// server can store image health beside every other capability's results.
func healthAssessment(rep *model.Report, opts Options) model.Assessment {
	a := model.Assessment{Rule: "VULN-image", Title: "Container images should have vulnerability findings resolved",
		Severity: model.SeverityHigh, ObservedAt: rep.GeneratedAt}
	c := rep.Summary.Counts
	a.Evidence = []string{fmt.Sprintf("threshold %s: critical=%d high=%d medium=%d low=%d unknown=%d suppressed=%d",
		opts.Threshold, c.Critical, c.High, c.Medium, c.Low, c.Unknown, rep.Summary.Suppressed)}
	switch rep.Summary.Verdict {
	case model.VerdictHealthy:
		a.Status = model.AssessHealthy
		return a
	case model.VerdictNotAssessed:
		a.Status = model.AssessNotAssessed
		for _, p := range rep.Summary.NotAssessed() {
			a.Evidence = append(a.Evidence, fmt.Sprintf("not assessed: %s (%d packages): %s; needs %s", p.Name, p.Packages, p.Reason, p.Need))
		}
		a.Remediation = "Bring advisory data for the parts not assessed (`bulwark db update`, or `--source` with a feed for them) and rescan; until then the image's health is unknown."
		return a
	}
	a.Status = model.AssessUnhealthy
	// Summary.Upgrades is already ordered by what matters most (severity
	// weighted); the evidence names the first few.
	for i, u := range rep.Summary.Upgrades {
		if i == 3 {
			break
		}
		a.Evidence = append(a.Evidence, fmt.Sprintf("upgrade %s %s → %s fixes %d", u.Package, u.From, u.To, u.FixesCount))
	}
	a.Remediation = "Apply the listed package upgrades (or rebuild on an updated base image) and rescan."
	return a
}

// Match judges a report's packages with an open DB: findings, summary,
// coverage and the VULN-image assessment, as a scan does. The server uses
// it on inventories clients send and on stored ones when its DB changes.
func Match(ctx context.Context, rep *model.Report, db *vulndb.DB, opts Options) error {
	opts.defaults()
	return matchInto(ctx, rep, db, opts)
}
