package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/distro"
	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/progress"
)

// analyzerVersion changes whenever the per-layer result would differ for the
// same layer and table, so old cache entries stop matching.
const analyzerVersion = "analyze/1"

// Options configure an analysis.
type Options struct {
	// Table holds the catalogers to run (required).
	Table *catalog.Table
	// Cache keeps per-layer results across runs; nil disables caching.
	Cache Cache
	// Limits bound each layer's walk; zero fields take layer.DefaultLimits.
	Limits layer.Limits
	// Concurrency is how many layers are analysed at once; default NumCPU.
	Concurrency int
	Logger      *slog.Logger
	// Open returns a layer's uncompressed tar stream; default
	// Layer.Uncompressed. The scan pipeline passes image.LayerReader, which
	// decompresses faster.
	Open func(v1.Layer) (io.ReadCloser, error)
	// Only, for Dir, walks just these paths below the root (slash
	// separated, relative to it; files or directories, missing ones
	// skipped) instead of the whole tree: a host's OS inventory needs its
	// package databases and release files, not a walk of every mounted
	// filesystem.
	Only []string

	// detect replaces distro.Detect in tests.
	detect func(map[string][]byte) (*model.Distro, error)
}

// Result is the content of the final (merged) filesystem.
type Result struct {
	Distro *model.Distro
	// Packages are sorted by type, name, version and path.
	Packages []model.Package
	Warnings []model.Warning
}

// layerResult is what one layer holds, independent of the layers around it;
// it is what the cache stores.
type layerResult struct {
	// Files maps every wanted regular file to what the catalogers found.
	Files map[string]*fileResult `json:"files,omitempty"`
	// Distro holds the raw bytes of files distro.Wants.
	Distro     map[string][]byte `json:"distro,omitempty"`
	Whiteouts  []string          `json:"whiteouts,omitempty"`
	OpaqueDirs []string          `json:"opaque_dirs,omitempty"`
	// Warnings are the walk's own (skipped entries), stage "layer".
	Warnings []string `json:"warnings,omitempty"`
}

type fileResult struct {
	Packages []model.Package `json:"packages,omitempty"`
	// Errors are cataloger failures on this file: "cataloger: message".
	Errors []string `json:"errors,omitempty"`
}

func (o *Options) normalise() error {
	if o.Table == nil {
		return errors.New("analyze: Options.Table is required")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.NumCPU()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.detect == nil {
		o.detect = distro.Detect
	}
	return nil
}

// Image analyses every layer of img and merges them. layers describes the
// image's layers (image.Opened.Info.Layers) and supplies the metadata copied
// into Package.Layer; where it is short, layers are described by digest only.
// A layer that cannot be read becomes a warning and the others still count.
func Image(ctx context.Context, img v1.Image, layers []model.Layer, o Options) (*Result, error) {
	if err := o.normalise(); err != nil {
		return nil, err
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list image layers: %w", err)
	}
	// DiffIDs come from the config: asking a compressed layer for its
	// DiffID makes go-containerregistry decompress it whole just to hash it,
	// which would double a scan's cost. They are checked against the
	// content whenever a layer is actually read (see analyzeLayer).
	var cfgDiffIDs []v1.Hash
	if cf, err := img.ConfigFile(); err == nil && cf != nil && len(cf.RootFS.DiffIDs) == len(ls) {
		cfgDiffIDs = cf.RootFS.DiffIDs
	}
	meta := make([]model.Layer, len(ls))
	for i, l := range ls {
		if i < len(layers) {
			meta[i] = layers[i]
		} else {
			// Only the diffID: a compressed digest can cost compressing the
			// whole layer (Docker engine images).
			meta[i] = model.Layer{Index: i}
		}
		if meta[i].DiffID == "" {
			if cfgDiffIDs != nil {
				meta[i].DiffID = cfgDiffIDs[i].String()
			} else if d, err := l.DiffID(); err == nil {
				meta[i].DiffID = d.String()
			}
		}
		meta[i].Index = i
	}

	// On a terminal: the bytes read (downloaded, for a registry image)
	// and the layers done.
	bar := progress.Start(ctx, fmt.Sprintf("analyse layers 0/%d", len(ls)), -1, true)
	defer bar.Finish()
	var done atomic.Int32
	open := o.Open
	if open == nil {
		open = v1.Layer.Uncompressed
	}
	o.Open = func(l v1.Layer) (io.ReadCloser, error) {
		rc, err := open(l)
		if err != nil {
			return nil, err
		}
		return progressReadCloser{progress.Reader(rc, bar), rc}, nil
	}

	results := make([]*layerResult, len(ls))
	failures := make([]*model.Warning, len(ls))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, l := range ls {
		g.Go(func() error {
			subject := layerSubject(meta[i], l)
			lr, err := analyzeLayer(gctx, l, meta[i], o)
			bar.Describe(fmt.Sprintf("analyse layers %d/%d", done.Add(1), len(ls)))
			if err != nil {
				if ctxErr := gctx.Err(); ctxErr != nil {
					return ctxErr
				}
				o.Logger.WarnContext(gctx, "layer skipped", "layer", subject, "err", err)
				failures[i] = &model.Warning{Stage: "layer", Subject: subject, Message: err.Error()}
				return nil
			}
			results[i] = lr
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("analyse layers: %w", err)
	}

	var warns []model.Warning
	for i := range ls {
		if failures[i] != nil {
			warns = append(warns, *failures[i])
		}
	}
	res, err := merge(results, meta, layerSubjects(meta, ls), o.detect)
	if err != nil {
		return nil, err
	}
	// Layer failures first, in layer order; merge's own warnings follow in
	// its deterministic order (layers in order, paths sorted).
	res.Warnings = append(warns, res.Warnings...)
	return res, nil
}

// progressReadCloser counts a layer's reads and closes the layer.
type progressReadCloser struct {
	io.Reader
	io.Closer
}

func layerSubject(m model.Layer, l v1.Layer) string {
	if m.Digest != "" {
		return m.Digest
	}
	if m.DiffID != "" {
		return m.DiffID
	}
	if d, err := l.DiffID(); err == nil {
		return d.String()
	}
	return fmt.Sprintf("layer %d", m.Index)
}

func layerSubjects(meta []model.Layer, ls []v1.Layer) []string {
	out := make([]string, len(ls))
	for i := range ls {
		out[i] = layerSubject(meta[i], ls[i])
	}
	return out
}

// cacheKey names a layer's result: the layer content, the catalogers'
// behaviour, this package's behaviour and the limits (which decide what is
// skipped) all go in.
func cacheKey(diffID string, t *catalog.Table, lim layer.Limits) string {
	lim = lim.WithDefaults()
	h := sha256.Sum256([]byte(diffID + "\x00" + t.Fingerprint() + "\x00" + analyzerVersion +
		fmt.Sprintf("\x00%d/%d/%d/%d", lim.MaxFileSize, lim.MaxLayerSize, lim.MaxEntries, lim.MaxLinkBytes)))
	return hex.EncodeToString(h[:])
}

func analyzeLayer(ctx context.Context, l v1.Layer, m model.Layer, o Options) (*layerResult, error) {
	diffID, err := v1.NewHash(m.DiffID)
	if err != nil {
		if diffID, err = l.DiffID(); err != nil {
			return nil, fmt.Errorf("layer diffID: %w", err)
		}
	}
	// The compressed digest (when the source knows it cheaply) is part of
	// the key too, so an image whose config claims another layer's diffID
	// does not get that layer's cached result unless its blob matches too.
	key := cacheKey(m.Digest+"\x00"+diffID.String(), o.Table, o.Limits)
	if o.Cache != nil {
		data, ok, err := o.Cache.Get(ctx, key)
		if err != nil {
			o.Logger.WarnContext(ctx, "layer cache read failed", "diff_id", diffID.String(), "err", err)
		} else if ok {
			var lr layerResult
			if err := json.Unmarshal(data, &lr); err == nil {
				o.Logger.DebugContext(ctx, "layer cache hit", "diff_id", diffID.String())
				return &lr, nil
			}
			o.Logger.WarnContext(ctx, "corrupt layer cache entry ignored", "diff_id", diffID.String())
		}
	}

	open := o.Open
	if open == nil {
		open = v1.Layer.Uncompressed
	}
	rc, err := open(l)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", diffID, err)
	}
	defer rc.Close()
	hasher := sha256.New()
	lr, err := walkLayer(ctx, io.TeeReader(rc, hasher), o)
	if err != nil {
		return nil, fmt.Errorf("walk layer %s: %w", diffID, err)
	}
	// The walk stops at the tar end marker; hash the padding after it too.
	if _, err := io.Copy(hasher, io.LimitReader(rc, 1<<20)); err != nil {
		return nil, fmt.Errorf("read layer %s: %w", diffID, err)
	}
	if diffID.Algorithm == "sha256" && hex.EncodeToString(hasher.Sum(nil)) != diffID.Hex {
		return nil, fmt.Errorf("layer content does not match its diffID %s: refusing it (and not caching it)", diffID)
	}
	if o.Cache != nil {
		data, err := json.Marshal(lr)
		if err == nil {
			err = o.Cache.Put(ctx, key, data)
		}
		if err != nil {
			o.Logger.WarnContext(ctx, "layer cache write failed", "diff_id", diffID.String(), "err", err)
		}
	}
	return lr, nil
}

// walkLayer catalogues one uncompressed layer stream.
func walkLayer(ctx context.Context, r io.Reader, o Options) (*layerResult, error) {
	lr := &layerResult{Files: map[string]*fileResult{}, Distro: map[string][]byte{}}
	want := func(p string, mode fs.FileMode, size int64) bool {
		if len(o.Table.Wanting(p, mode, size)) == 0 && !distro.Wants(p) {
			return false
		}
		// Record the path even if the walker then skips it (too big): the
		// version below is still replaced in the merged filesystem.
		if _, ok := lr.Files[p]; !ok {
			lr.Files[p] = &fileResult{}
		}
		return true
	}
	fn := func(p string, mode fs.FileMode, data []byte) error {
		lr.Files[p] = catalogueFile(ctx, o.Table, p, mode, data)
		if distro.Wants(p) {
			lr.Distro[p] = data
		}
		return nil
	}
	wr, err := layer.Walk(ctx, r, o.Limits, want, fn)
	if err != nil {
		return nil, err
	}
	lr.Whiteouts, lr.OpaqueDirs, lr.Warnings = wr.Whiteouts, wr.OpaqueDirs, wr.Warnings
	return lr, nil
}

// catalogueFile runs every wanting cataloger on one file. A failing (or
// panicking) cataloger marks only this file.
func catalogueFile(ctx context.Context, t *catalog.Table, p string, mode fs.FileMode, data []byte) *fileResult {
	fr := &fileResult{}
	for _, c := range t.Wanting(p, mode, int64(len(data))) {
		pkgs, err := safeParse(ctx, c, catalog.File{Path: p, Mode: mode, Data: data})
		if err != nil {
			fr.Errors = append(fr.Errors, c.Name()+": "+err.Error())
			continue
		}
		for _, pkg := range pkgs {
			if strings.HasPrefix(pkg.Path, "!") {
				pkg.Path = "/" + p + pkg.Path
			} else {
				pkg.Path = "/" + p
			}
			pkg.Cataloger = c.Name()
			pkg.Layer = nil
			fr.Packages = append(fr.Packages, pkg)
		}
	}
	return fr
}

func safeParse(ctx context.Context, c catalog.Cataloger, f catalog.File) (pkgs []model.Package, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("cataloger panicked: %v", r)
		}
	}()
	return c.Parse(ctx, f)
}

// version is one layer's copy of a path in the merged filesystem.
type version struct {
	layer  int
	file   *fileResult
	distro []byte
	isDist bool
}

// merge overlays the layer results bottom to top. A nil result is a layer
// that could not be read: it contributes nothing.
func merge(results []*layerResult, meta []model.Layer, subjects []string, detect func(map[string][]byte) (*model.Distro, error)) (*Result, error) {
	// chains maps each surviving path to its consecutive versions, oldest
	// first; a deletion ends a chain, so only the versions since the path
	// last (re)appeared are kept.
	chains := map[string][]version{}
	var warns []model.Warning
	for i, lr := range results {
		if lr == nil {
			continue
		}
		for _, w := range lr.Warnings {
			warns = append(warns, model.Warning{Stage: "layer", Subject: subjects[i], Message: w})
		}
		// Whiteouts and opaque dirs act on the layers below only, so they go
		// before this layer's own files.
		for _, d := range lr.OpaqueDirs {
			deleteUnder(chains, d, false)
		}
		for _, p := range lr.Whiteouts {
			deleteUnder(chains, p, true)
		}
		for p, fr := range lr.Files {
			v := version{layer: i, file: fr}
			if b, ok := lr.Distro[p]; ok {
				v.distro, v.isDist = b, true
			}
			chains[p] = append(chains[p], v)
		}
	}

	res := &Result{Warnings: warns}
	distroFiles := map[string][]byte{}
	paths := make([]string, 0, len(chains))
	for p := range chains {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		chain := chains[p]
		top := chain[len(chain)-1]
		if top.isDist {
			distroFiles[p] = top.distro
		}
		if top.file == nil {
			continue
		}
		for _, e := range top.file.Errors {
			res.Warnings = append(res.Warnings, model.Warning{Stage: "catalog", Subject: "/" + p, Message: e})
		}
		sets := make([]map[string]bool, len(chain))
		for _, pkg := range top.file.Packages {
			from := attribute(chain, sets, pkg)
			if meta != nil && from < len(meta) {
				l := meta[from]
				pkg.Layer = &l
			}
			res.Packages = append(res.Packages, pkg)
		}
	}
	sortPackages(res.Packages)

	d, err := detect(distroFiles)
	if err != nil {
		res.Warnings = append(res.Warnings, model.Warning{Stage: "distro", Message: err.Error()})
	}
	res.Distro = d
	return res, nil
}

// attribute returns the earliest layer from which every version of the path
// up to the surviving one holds pkg.
// sets caches each version's package keys across calls for one chain.
func attribute(chain []version, sets []map[string]bool, pkg model.Package) int {
	k := pkgKey(pkg)
	from := chain[len(chain)-1].layer
	for j := len(chain) - 2; j >= 0; j-- {
		if sets[j] == nil {
			sets[j] = packageSet(chain[j].file)
		}
		if !sets[j][k] {
			break
		}
		from = chain[j].layer
	}
	return from
}

func pkgKey(p model.Package) string {
	return string(p.Type) + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path
}

func packageSet(fr *fileResult) map[string]bool {
	set := map[string]bool{}
	if fr != nil {
		for _, p := range fr.Packages {
			set[pkgKey(p)] = true
		}
	}
	return set
}

// deleteUnder removes dir's descendants from chains, and dir itself when
// self is set. "." is the root.
func deleteUnder(chains map[string][]version, dir string, self bool) {
	if dir == "." || dir == "" {
		clear(chains)
		return
	}
	prefix := dir + "/"
	for p := range chains {
		if (self && p == dir) || strings.HasPrefix(p, prefix) {
			delete(chains, p)
		}
	}
}

func sortPackages(ps []model.Package) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
}
