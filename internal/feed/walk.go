package feed

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/progress"
)

// HeadSize is how many leading bytes Detect sees.
const HeadSize = 8 << 10

const (
	defaultMaxMember  = 512 << 20 // decompressed bytes of one file or member
	defaultMaxArchive = 8 << 30   // decompressed bytes of one archive, all members
	maxDepth          = 4         // archives within archives
)

// Skip names a file that was not loaded and says why.
type Skip struct {
	Name   string
	Reason string
}

// Stats summarises an import.
type Stats struct {
	// Files counts the files and archive members examined (not the
	// archives themselves).
	Files int
	// Records counts what each loader loaded, by loader name.
	Records map[string]int
	// Skipped lists files no loader recognised; Failed lists files a
	// loader (or the archive reader) could not read.
	Skipped []Skip
	Failed  []Skip
	// Tallies holds loaders' counts of harmless oddities, keyed
	// "loader: what" ("osv: no package").
	Tallies map[string]int
}

// Tallier is implemented by loaders that count harmless oddities (OSV
// entries without a package, withdrawn advisories) for the import summary.
type Tallier interface {
	Tallies() map[string]int
}

// Option tunes Import.
type Option func(*walker)

// WithLimits sets the largest decompressed size of one file or archive
// member, and of all members of one archive together.
func WithLimits(member, archive int64) Option {
	return func(w *walker) {
		if member > 0 {
			w.maxMember = member
		}
		if archive > 0 {
			w.maxArchive = archive
		}
	}
}

var errTooLarge = errors.New("size limit exceeded")

type walker struct {
	loaders    []Loader
	sink       advisory.Sink
	log        *slog.Logger
	maxMember  int64
	maxArchive int64
	stats      Stats
}

// Import loads root — a folder (walked recursively) or a single file, which
// may be .json, .yaml, .gz, .zip, .tar, .tar.gz or .tgz — into sink. Each
// file goes to the first loader whose Detect accepts it. Files nobody
// recognises are listed in Stats.Skipped, and files that fail to load in
// Stats.Failed; neither stops the import. Only an unreadable root or a
// cancelled context is an error.
func Import(ctx context.Context, root string, loaders []Loader, sink advisory.Sink, log *slog.Logger, opts ...Option) (Stats, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &walker{
		loaders: loaders, sink: sink, log: log,
		maxMember: defaultMaxMember, maxArchive: defaultMaxArchive,
		stats: Stats{Records: map[string]int{}, Tallies: map[string]int{}},
	}
	for _, o := range opts {
		o(w)
	}
	before := tallies(loaders)
	fi, err := os.Stat(root)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // it names root already
			err = pe.Err
		}
		return w.stats, fmt.Errorf("import %s: %w", root, err)
	}
	// On a terminal: the files imported so far.
	bar := progress.Start(ctx, "import "+filepath.Base(root)+", files", -1, false)
	defer bar.Finish()
	if fi.IsDir() {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				w.fail(p, err)
				return nil
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, rerr := filepath.Rel(root, p)
			if rerr != nil {
				rel = p
			}
			defer bar.Add(1)
			return w.diskFile(ctx, p, filepath.ToSlash(rel))
		})
	} else {
		err = w.diskFile(ctx, root, filepath.Base(root))
	}
	for k, n := range tallies(loaders) {
		if d := n - before[k]; d != 0 {
			w.stats.Tallies[k] = d
		}
	}
	if err != nil {
		return w.stats, fmt.Errorf("import %s: %w", root, err)
	}
	log.Info("feed import done", "root", root, "files", w.stats.Files, "records", w.stats.Records,
		"skipped", len(w.stats.Skipped), "failed", len(w.stats.Failed))
	return w.stats, nil
}

func tallies(ls []Loader) map[string]int {
	out := map[string]int{}
	for _, l := range ls {
		if t, ok := l.(Tallier); ok {
			for k, n := range t.Tallies() {
				out[l.Name()+": "+k] += n
			}
		}
	}
	return out
}

func (w *walker) fail(name string, err error) {
	w.log.Warn("feed file failed", "file", name, "err", err)
	w.stats.Failed = append(w.stats.Failed, Skip{Name: name, Reason: err.Error()})
}

// diskFile opens one file from disk; zip files are read in place.
func (w *walker) diskFile(ctx context.Context, p, name string) error {
	if kind(name) == kindZip {
		zr, err := zip.OpenReader(p)
		if err != nil {
			w.fail(name, fmt.Errorf("open zip: %w", err))
			return nil
		}
		defer zr.Close()
		return w.zip(ctx, name, &zr.Reader, 0)
	}
	f, err := os.Open(p)
	if err != nil {
		w.fail(name, err)
		return nil
	}
	defer f.Close()
	return w.stream(ctx, name, f, 0, &budget{left: w.maxArchive})
}

type fileKind int

const (
	kindPlain fileKind = iota
	kindGzip
	kindTarGz
	kindTar
	kindZip
	kindTarZst
	kindZst
)

func kind(name string) fileKind {
	if i := strings.LastIndexByte(name, '!'); i >= 0 {
		name = name[i+1:]
	}
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return kindTarGz
	case strings.HasSuffix(n, ".tar"):
		return kindTar
	case strings.HasSuffix(n, ".tar.zst"):
		return kindTarZst // Red Hat's CSAF VEX archive
	case strings.HasSuffix(n, ".zst"):
		return kindZst
	case strings.HasSuffix(n, ".zip"):
		return kindZip
	case strings.HasSuffix(n, ".gz"):
		return kindGzip
	}
	return kindPlain
}

// budget is what one top-level archive may still decompress.
type budget struct{ left int64 }

// limited counts bytes against one member's limit and the archive budget,
// and fails the read (rather than truncating silently) when either runs out.
type limited struct {
	r    io.Reader
	left int64
	b    *budget
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 || (l.b != nil && l.b.left <= 0) {
		// Probe: a stream that ends exactly at the limit is fine.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	if l.b != nil && int64(len(p)) > l.b.left {
		p = p[:l.b.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.b != nil {
		l.b.left -= int64(n)
	}
	return n, err
}

// inflated limits decompressed bytes: to one member's size and the
// archive's budget (whole tar streams pass member = false: only the
// budget applies to them, and their members are limited one by one).
func (w *walker) inflated(r io.Reader, b *budget, member bool) io.Reader {
	left := w.maxMember
	if !member {
		left = w.maxArchive
	}
	return &limited{r: r, left: left, b: b}
}

// member limits one file's bytes; decompressed bytes were already counted
// against the archive budget where they were inflated.
func (w *walker) member(r io.Reader) io.Reader {
	return &limited{r: r, left: w.maxMember}
}

// stream handles one file's bytes by its name: archives are opened and
// their members handled in turn, anything else goes to the loaders.
func (w *walker) stream(ctx context.Context, name string, r io.Reader, depth int, b *budget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := kind(name)
	if k != kindPlain && depth >= maxDepth {
		w.fail(name, fmt.Errorf("archives nested deeper than %d", maxDepth))
		return nil
	}
	switch k {
	case kindTarGz, kindGzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			w.fail(name, fmt.Errorf("open gzip: %w", err))
			return nil
		}
		defer gz.Close()
		if k == kindTarGz || kind(name[:len(name)-len(".gz")]) == kindTar {
			return w.tar(ctx, name, w.inflated(gz, b, false), depth, b)
		}
		return w.leaf(ctx, name, w.inflated(gz, b, true))
	case kindTarZst, kindZst:
		// The window is bounded so a hostile frame header cannot make
		// the decoder allocate gigabytes up front.
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			w.fail(name, fmt.Errorf("open zstd: %w", err))
			return nil
		}
		defer zr.Close()
		if k == kindTarZst {
			return w.tar(ctx, name, w.inflated(zr, b, false), depth, b)
		}
		return w.leaf(ctx, name, w.inflated(zr, b, true))
	case kindTar:
		return w.tar(ctx, name, r, depth, b)
	case kindZip:
		// zip needs random access: read the member into memory, within limits.
		data, err := io.ReadAll(w.member(r))
		if err != nil {
			w.fail(name, fmt.Errorf("read zip: %w", err))
			return nil
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			w.fail(name, fmt.Errorf("open zip: %w", err))
			return nil
		}
		return w.zipWith(ctx, name, zr, depth, b)
	}
	return w.leaf(ctx, name, w.member(r))
}

func memberName(archive, member string) string {
	m := path.Clean("/" + strings.ReplaceAll(member, "\\", "/"))
	return archive + "!" + strings.TrimPrefix(m, "/")
}

func (w *walker) tar(ctx context.Context, name string, r io.Reader, depth int, b *budget) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			w.fail(name, fmt.Errorf("read tar: %w", err))
			return nil
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		if err := w.stream(ctx, memberName(name, h.Name), tr, depth+1, b); err != nil {
			return err
		}
	}
}

func (w *walker) zip(ctx context.Context, name string, zr *zip.Reader, depth int) error {
	return w.zipWith(ctx, name, zr, depth, &budget{left: w.maxArchive})
}

func (w *walker) zipWith(ctx context.Context, name string, zr *zip.Reader, depth int, b *budget) error {
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !f.Mode().IsRegular() {
			continue
		}
		mn := memberName(name, f.Name)
		rc, err := f.Open()
		if err != nil {
			w.fail(mn, fmt.Errorf("open zip member: %w", err))
			continue
		}
		err = w.stream(ctx, mn, w.inflated(rc, b, true), depth+1, b)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// leaf hands one (decompressed) file to the first loader that recognises it.
func (w *walker) leaf(ctx context.Context, name string, r io.Reader) error {
	w.stats.Files++
	br := bufio.NewReaderSize(r, HeadSize)
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		w.fail(name, fmt.Errorf("read: %w", err))
		return nil
	}
	if len(bytes.TrimSpace(head)) == 0 {
		w.skip(name, "empty file")
		return nil
	}
	for _, l := range w.loaders {
		if !l.Detect(name, head) {
			continue
		}
		n, err := l.Load(ctx, name, br, w.sink)
		w.stats.Records[l.Name()] += n
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			w.fail(name, fmt.Errorf("%s: %w", l.Name(), err))
			return nil
		}
		w.log.Debug("feed file loaded", "file", name, "loader", l.Name(), "records", n)
		return nil
	}
	w.skip(name, skipReason(name, head))
	return nil
}

func (w *walker) skip(name, reason string) {
	w.log.Debug("feed file skipped", "file", name, "reason", reason)
	w.stats.Skipped = append(w.stats.Skipped, Skip{Name: name, Reason: reason})
}

// skipReason names known companions of feeds that carry no advisories, so
// the summary tells them apart from data nobody could read.
func skipReason(name string, head []byte) string {
	base := name
	if i := strings.LastIndexAny(base, "/!"); i >= 0 {
		base = base[i+1:]
	}
	lb := strings.ToLower(base)
	switch {
	case strings.HasPrefix(lb, "readme"):
		return "README"
	case strings.HasPrefix(lb, "provenance"):
		return "PROVENANCE"
	case strings.HasPrefix(lb, "license"), strings.HasPrefix(lb, "licence"), strings.HasPrefix(lb, "copying"), lb == "notice":
		return "license file"
	case lb == ".id-allocator":
		return "advisory id allocator"
	case strings.HasSuffix(lb, ".md"):
		return "documentation"
	case strings.HasSuffix(lb, ".csv"):
		return "index file (csv)"
	case bytes.Contains(head, []byte(`"$schema"`)) || strings.Contains(lb, "schema") && strings.HasSuffix(lb, ".json"):
		return "JSON schema file"
	}
	return "no loader recognises this content"
}
