package vulndb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

// SchemaVersion changes whenever the file layout or encoding changes; an
// older file is rejected and must be rebuilt.
const SchemaVersion = 1

// FileName is the database file within its folder.
const FileName = "bulwark.db"

var (
	bucketMeta     = []byte("meta")
	bucketAffected = []byte("affected") // ecosystem \x00 package → encodeAffected
	bucketVulns    = []byte("vulns")    // id → JSON Vulnerability
	bucketAliases  = []byte("aliases")  // id → JSON []string of related ids
	keyMeta        = []byte("meta")
)

// ErrNotFound is returned by Open when no database exists yet.
var ErrNotFound = errors.New("vulnerability DB not found")

// SourceInfo describes one feed in the database.
type SourceInfo struct {
	Name    string `json:"name"`
	Records int    `json:"records"`
	Origin  string `json:"origin,omitempty"`
}

// Meta describes a built database.
type Meta struct {
	SchemaVersion   int          `json:"schema_version"`
	BuiltAt         time.Time    `json:"built_at"`
	Sources         []SourceInfo `json:"sources"`
	Vulnerabilities int          `json:"vulnerabilities"`
	// Unreferenced counts records read but left out because no affected
	// entry reaches them (NVD, EPSS and KEV records of CVEs no package
	// advisory names).
	Unreferenced int `json:"unreferenced,omitempty"`
	// Counts holds affected entries per ecosystem, both by full name
	// ("Debian:12") and by base name ("Debian").
	Counts map[string]int `json:"counts"`
	// Coverage lists, per ecosystem as advisories name it (a distribution
	// release such as "Debian:12" or "Alpine:v3.20", or a language
	// ecosystem such as "npm"), which sources hold advisories for it and how
	// recent they are. A scan compares an image's packages with it: a part
	// of the image whose ecosystem is missing is not assessed.
	Coverage []EcosystemCoverage `json:"coverage,omitempty"`
}

// EcosystemCoverage says what the DB holds for one ecosystem.
type EcosystemCoverage struct {
	Ecosystem string           `json:"ecosystem"`
	Entries   int              `json:"entries"`  // affected-package entries
	Packages  int              `json:"packages"` // distinct package names
	Sources   []SourceCoverage `json:"sources"`
}

// SourceCoverage is one source's share of an ecosystem. Newest is the
// latest modified (else published) date of its advisories, zero when the
// feed carries no dates (the Go vulnerability DB's repository copy).
type SourceCoverage struct {
	Name    string    `json:"name"`
	Entries int       `json:"entries"`
	Newest  time.Time `json:"newest,omitzero"`
}

// Covers returns what the DB holds for an ecosystem; ok is false when it
// holds no advisory for it. DBs built before coverage was recorded fall
// back on their per-ecosystem counts (no sources or dates then).
func (m Meta) Covers(ecosystem string) (EcosystemCoverage, bool) {
	if len(m.Coverage) > 0 {
		i, ok := slices.BinarySearchFunc(m.Coverage, ecosystem, func(c EcosystemCoverage, e string) int { return strings.Compare(c.Ecosystem, e) })
		if !ok {
			return EcosystemCoverage{}, false
		}
		return m.Coverage[i], true
	}
	if n := m.Counts[ecosystem]; n > 0 {
		return EcosystemCoverage{Ecosystem: ecosystem, Entries: n}, true
	}
	return EcosystemCoverage{}, false
}

// Status is what `bulwark db status` reports: where the DB is, how old,
// and its meta (sources and coverage).
type Status struct {
	Path  string `json:"path"`
	Age   string `json:"age"` // rounded to the minute, Go duration syntax
	Stale bool   `json:"stale"`
	Meta
}

// StatusOf describes the DB in dir as of now; older than maxAge is stale.
func StatusOf(dir string, m Meta, now time.Time, maxAge time.Duration) Status {
	age := now.Sub(m.BuiltAt)
	return Status{Path: filepath.Join(dir, FileName), Age: age.Round(time.Minute).String(), Stale: age > maxAge, Meta: m}
}

// DB is an open, read-only database. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	meta Meta
}

var (
	_ advisory.Reader = (*DB)(nil)
	_ advisory.Sink   = (*collector)(nil)
)

// Open opens the database in dir read-only.
func Open(dir string) (*DB, error) {
	p := filepath.Join(dir, FileName)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: run `bulwark db update` (or give the --cache-dir it was built in)", ErrNotFound, p)
		}
		return nil, fmt.Errorf("open vulnerability DB %s: %w", p, err)
	}
	return openFile(p)
}

func openFile(p string) (*DB, error) {
	b, err := bolt.Open(p, 0o444, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open vulnerability DB %s: %w", p, err)
	}
	db := &DB{bolt: b}
	err = b.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		if mb == nil {
			return errors.New("no meta bucket")
		}
		v := mb.Get(keyMeta)
		if v == nil {
			return errors.New("no meta record")
		}
		return json.Unmarshal(v, &db.meta)
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open vulnerability DB %s: %w (run `bulwark db update`)", p, err)
	}
	if db.meta.SchemaVersion != SchemaVersion {
		b.Close()
		return nil, fmt.Errorf("open vulnerability DB %s: schema version %d, this build reads %d: run `bulwark db update`",
			p, db.meta.SchemaVersion, SchemaVersion)
	}
	return db, nil
}

// Install swaps in a database built elsewhere (`db update --from` a
// registry): write copies its bytes into a temporary file beside the
// current one, which must then open as a database of this schema before it
// is renamed over the current one. Any failure (a short or corrupt file, a
// cancelled context) leaves the current database as it was.
func Install(ctx context.Context, dir string, write func(ctx context.Context, w io.Writer) error) (Meta, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Meta{}, fmt.Errorf("create DB folder %s: %w", dir, err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return Meta{}, err
	}
	defer unlock()
	removeStale(dir)
	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return Meta{}, fmt.Errorf("create DB file: %w", err)
	}
	tmpPath := tmp.Name()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpPath)
		}
	}()
	err = write(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Meta{}, fmt.Errorf("write vulnerability DB %s: %w", tmpPath, err)
	}
	db, err := openFile(tmpPath)
	if err != nil {
		return Meta{}, fmt.Errorf("check fetched DB: %w", err)
	}
	meta := db.Meta()
	db.Close()
	if err := ctx.Err(); err != nil {
		return Meta{}, fmt.Errorf("install vulnerability DB: %w", err)
	}
	if err := os.Rename(tmpPath, filepath.Join(dir, FileName)); err != nil {
		return Meta{}, fmt.Errorf("install vulnerability DB: %w", err)
	}
	done = true
	_ = syncFile(dir)
	return meta, nil
}

// Meta describes the database.
func (db *DB) Meta() Meta { return db.meta }

// Close releases the file.
func (db *DB) Close() error { return db.bolt.Close() }

func affectedKey(ecosystem, pkg string) []byte {
	k := make([]byte, 0, len(ecosystem)+1+len(pkg))
	k = append(k, ecosystem...)
	k = append(k, 0)
	return append(k, pkg...)
}

// Affected returns the entries for one package in one exact ecosystem.
func (db *DB) Affected(ctx context.Context, ecosystem, pkg string) ([]advisory.Affected, error) {
	var out []advisory.Affected
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAffected).Get(affectedKey(ecosystem, pkg))
		if v == nil {
			return nil
		}
		var err error
		out, err = decodeAffected(v, ecosystem, pkg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("look up %s/%s: %w", ecosystem, pkg, err)
	}
	return out, nil
}

// Vulnerability returns the record for id.
func (db *DB) Vulnerability(ctx context.Context, id string) (advisory.Vulnerability, bool, error) {
	var (
		v  advisory.Vulnerability
		ok bool
	)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVulns).Get([]byte(id))
		if b == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(b, &v)
	})
	if err != nil {
		return advisory.Vulnerability{}, false, fmt.Errorf("look up %s: %w", id, err)
	}
	return v, ok, nil
}

// Aliases returns the ids known to name the same vulnerability as id (its
// own aliases, and the records that list id as an alias), sorted.
func (db *DB) Aliases(ctx context.Context, id string) ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAliases).Get([]byte(id))
		if b == nil {
			return nil
		}
		return json.Unmarshal(b, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("look up aliases of %s: %w", id, err)
	}
	return out, nil
}

// collector gathers a build in memory; the full data is ~100k entries.
type collector struct {
	mu       sync.Mutex
	vulns    map[string]advisory.Vulnerability
	affected map[string][]advisory.Affected
	sources  map[string]int
}

func (c *collector) PutVulnerability(ctx context.Context, v advisory.Vulnerability) error {
	if v.ID == "" {
		return errors.New("vulnerability without id")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources[v.Source]++
	if old, ok := c.vulns[v.ID]; ok {
		v = advisory.Merge(old, v)
	}
	c.vulns[v.ID] = v
	return nil
}

func (c *collector) PutAffected(ctx context.Context, a advisory.Affected) error {
	if a.VulnID == "" || a.Ecosystem == "" || a.Package == "" {
		return fmt.Errorf("affected entry without vulnerability, ecosystem or package: %q %q %q", a.VulnID, a.Ecosystem, a.Package)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := string(affectedKey(a.Ecosystem, a.Package))
	c.affected[k] = append(c.affected[k], a)
	return nil
}

// Build fills a new database through fill and swaps it in for the one in
// dir atomically: the new file is written beside it, synced, and renamed
// over it, so a failed, cancelled or killed build leaves the previous
// database usable. An exclusive lock on dir/.lock keeps two builds apart.
func Build(ctx context.Context, dir string, fill func(ctx context.Context, sink advisory.Sink) error, now time.Time) (Meta, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Meta{}, fmt.Errorf("create DB folder %s: %w", dir, err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return Meta{}, err
	}
	defer unlock()
	removeStale(dir)

	c := &collector{vulns: map[string]advisory.Vulnerability{}, affected: map[string][]advisory.Affected{}, sources: map[string]int{}}
	if err := fill(ctx, c); err != nil {
		return Meta{}, fmt.Errorf("build vulnerability DB: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Meta{}, fmt.Errorf("build vulnerability DB: %w", err)
	}
	unreferenced := c.prune()
	meta := c.meta(now)
	meta.Unreferenced = unreferenced

	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return Meta{}, fmt.Errorf("create DB file: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpPath)
		}
	}()
	if err := write(ctx, tmpPath, c, meta); err != nil {
		return Meta{}, fmt.Errorf("write vulnerability DB %s: %w", tmpPath, err)
	}
	if err := syncFile(tmpPath); err != nil {
		return Meta{}, fmt.Errorf("sync vulnerability DB %s: %w", tmpPath, err)
	}
	if err := ctx.Err(); err != nil {
		return Meta{}, fmt.Errorf("build vulnerability DB: %w", err)
	}
	if err := os.Rename(tmpPath, filepath.Join(dir, FileName)); err != nil {
		return Meta{}, fmt.Errorf("install vulnerability DB: %w", err)
	}
	done = true
	_ = syncFile(dir) // make the rename durable; best effort on odd filesystems
	return meta, nil
}

// prune drops the records no lookup can reach: enrichment feeds (NVD,
// EPSS, KEV) describe every CVE, but a scan reads a vulnerability only
// through an affected entry's id or that record's aliases. Without this,
// NVD and EPSS alone would add some 190 MiB of unreachable records.
func (c *collector) prune() int {
	keep := map[string]bool{}
	for _, as := range c.affected {
		for _, a := range as {
			keep[a.VulnID] = true
		}
	}
	direct := make(map[string]bool, len(keep))
	for id := range keep {
		direct[id] = true
	}
	for id := range direct {
		for _, al := range c.vulns[id].Aliases {
			keep[al] = true
		}
	}
	// A record naming a reachable id among its aliases is reachable too
	// (the alias bucket links both ways).
	for id, v := range c.vulns {
		for _, al := range v.Aliases {
			if direct[al] {
				keep[id] = true
				break
			}
		}
	}
	n := 0
	for id := range c.vulns {
		if !keep[id] {
			delete(c.vulns, id)
			n++
		}
	}
	return n
}

func (c *collector) meta(now time.Time) Meta {
	m := Meta{SchemaVersion: SchemaVersion, BuiltAt: now.UTC(), Vulnerabilities: len(c.vulns), Counts: map[string]int{}}
	for name, n := range c.sources {
		m.Sources = append(m.Sources, SourceInfo{Name: name, Records: n})
	}
	sort.Slice(m.Sources, func(i, j int) bool { return m.Sources[i].Name < m.Sources[j].Name })
	type acc struct {
		cov     EcosystemCoverage
		sources map[string]*SourceCoverage
	}
	byEco := map[string]*acc{}
	for _, as := range c.affected {
		for i, a := range as {
			m.Counts[a.Ecosystem]++
			if base, _, ok := strings.Cut(a.Ecosystem, ":"); ok {
				m.Counts[base]++
			}
			e := byEco[a.Ecosystem]
			if e == nil {
				e = &acc{cov: EcosystemCoverage{Ecosystem: a.Ecosystem}, sources: map[string]*SourceCoverage{}}
				byEco[a.Ecosystem] = e
			}
			e.cov.Entries++
			if i == 0 { // one key holds one (ecosystem, package)
				e.cov.Packages++
			}
			src := a.Source
			if src == "" {
				src = "unknown"
			}
			sc := e.sources[src]
			if sc == nil {
				sc = &SourceCoverage{Name: src}
				e.sources[src] = sc
			}
			sc.Entries++
			if v, ok := c.vulns[a.VulnID]; ok {
				d := v.Modified
				if d.IsZero() {
					d = v.Published
				}
				if d.After(sc.Newest) {
					sc.Newest = d.UTC()
				}
			}
		}
	}
	for _, e := range byEco {
		for _, sc := range e.sources {
			e.cov.Sources = append(e.cov.Sources, *sc)
		}
		sort.Slice(e.cov.Sources, func(i, j int) bool { return e.cov.Sources[i].Name < e.cov.Sources[j].Name })
		m.Coverage = append(m.Coverage, e.cov)
	}
	// Sorted by ecosystem: Covers searches it.
	sort.Slice(m.Coverage, func(i, j int) bool { return m.Coverage[i].Ecosystem < m.Coverage[j].Ecosystem })
	return m
}

// batch bounds one write transaction, so memory stays flat and a
// cancellation is noticed soon.
const batch = 20000

func write(ctx context.Context, path string, c *collector, meta Meta) error {
	b, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if err != nil {
		return err
	}
	defer b.Close()

	affKeys := sortedKeys(c.affected)
	if err := putAll(ctx, b, bucketAffected, affKeys, func(k string) ([]byte, error) {
		return encodeAffected(c.affected[k]), nil
	}); err != nil {
		return err
	}
	ids := sortedKeys(c.vulns)
	if err := putAll(ctx, b, bucketVulns, ids, func(k string) ([]byte, error) {
		return json.Marshal(c.vulns[k])
	}); err != nil {
		return err
	}
	aliases := map[string][]string{}
	for _, id := range ids {
		for _, a := range c.vulns[id].Aliases {
			if a == "" || a == id {
				continue
			}
			aliases[a] = append(aliases[a], id)
			aliases[id] = append(aliases[id], a)
		}
	}
	if err := putAll(ctx, b, bucketAliases, sortedKeys(aliases), func(k string) ([]byte, error) {
		s := aliases[k]
		slices.Sort(s)
		return json.Marshal(slices.Compact(s))
	}); err != nil {
		return err
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return b.Update(func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return mb.Put(keyMeta, mj)
	})
}

func putAll(ctx context.Context, b *bolt.DB, bucket []byte, keys []string, value func(string) ([]byte, error)) error {
	if err := b.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return err
	}
	for start := 0; start < len(keys); start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+batch, len(keys))
		err := b.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucket)
			bk.FillPercent = 1.0 // keys arrive sorted: pack pages full
			for _, k := range keys[start:end] {
				v, err := value(k)
				if err != nil {
					return fmt.Errorf("encode %q: %w", k, err)
				}
				if err := bk.Put([]byte(k), v); err != nil {
					return fmt.Errorf("put %q: %w", k, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// lock takes an exclusive flock, waiting while another build holds it.
func lock(ctx context.Context, p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open DB lock %s: %w", p, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for another DB update (lock %s): %w", p, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeStale deletes temporary files of builds that were killed; only
// called under the lock, so none of them is in use.
func removeStale(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, FileName+".tmp-*"))
	for _, m := range matches {
		os.Remove(m)
	}
}
