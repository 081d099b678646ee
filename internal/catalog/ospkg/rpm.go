package ospkg

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver go-rpmdb uses

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// RPM database locations: the classic one and the one rpm >= 4.16 distros
// (Fedora 36+, openSUSE, SLE 15) use, symlinked from var/lib/rpm.
var rpmDBDirs = []string{"var/lib/rpm/", "usr/lib/sysimage/rpm/"}

// rpmDBFiles are the database files of the three backends.
var rpmDBFiles = map[string]bool{
	"Packages":     true, // Berkeley DB hash (RHEL <= 8, CentOS, Amazon Linux 2)
	"Packages.db":  true, // rpm's own "ndb" format (SUSE)
	"rpmdb.sqlite": true, // RHEL 9+, Fedora 33+, Mariner
}

const (
	// Full RHEL installs reach ~200 MiB in the Berkeley DB backend.
	rpmMaxSize = 512 << 20
	// rpmReadTimeout bounds one database read when ctx allows longer.
	rpmReadTimeout = 30 * time.Second
)

// RPM catalogs Red Hat family and SUSE packages from the rpm database in any
// of its three backends, read with github.com/knqyf263/go-rpmdb.
func RPM(opts ...Option) catalog.Cataloger {
	o := buildOptions(opts)
	return &cataloger{name: "rpm", version: 2, maxSize: rpmMaxSize, wants: rpmWants, parse: parseRPM, log: o.logger}
}

func rpmWants(p string) bool {
	return rpmDBFile(p) != ""
}

// rpmDBFile is the database file name p refers to, or "" if p is not an
// rpm database.
func rpmDBFile(p string) string {
	for _, dir := range rpmDBDirs {
		if rest, ok := strings.CutPrefix(p, dir); ok && rpmDBFiles[rest] {
			return rest
		}
	}
	return ""
}

func parseRPM(ctx context.Context, f catalog.File, log *slog.Logger) ([]model.Package, error) {
	name := rpmDBFile(f.Path)
	if name == "" {
		return nil, nil
	}
	// go-rpmdb walks Berkeley DB and ndb files in goroutines of its own,
	// where a panic cannot be recovered; reject what would make it panic,
	// loop or allocate without bound before handing it the file.
	if err := rpmPreflight(f.Data); err != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", f.Path, err)
	}
	infos, err := readRPMDB(ctx, name, f.Data)
	if err != nil {
		if err == errRPMTimeout {
			return nil, &rpmTimeoutError{path: f.Path}
		}
		return nil, fmt.Errorf("read rpm database %s: %w", f.Path, err)
	}
	pkgs := make([]model.Package, 0, len(infos))
	for i, info := range infos {
		if info == nil {
			continue
		}
		if info.Name == "" || info.Version == "" {
			log.Warn("skipping rpm header without name or version", "index", i, "name", info.Name)
			continue
		}
		// gpg-pubkey entries are imported signing keys, not software.
		if info.Name == "gpg-pubkey" {
			continue
		}
		pkgs = append(pkgs, rpmPackage(info))
	}
	return pkgs, nil
}

var errRPMTimeout = fmt.Errorf("timed out reading")

// rpmTimeoutError reports a database read that did not finish in time.
type rpmTimeoutError struct{ path string }

func (e *rpmTimeoutError) Error() string { return "rpm database " + e.path + ": timed out reading" }
func (e *rpmTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// readRPMDB lists the packages in data, a database file called name.
// go-rpmdb opens a path and picks the backend by trying each in turn, so the
// bytes go to a file of that name in a fresh temporary directory.
func readRPMDB(ctx context.Context, name string, data []byte) ([]*rpmdb.PackageInfo, error) {
	dir, err := os.MkdirTemp("", "bulwark-rpmdb-")
	if err != nil {
		return nil, fmt.Errorf("create temporary copy: %w", err)
	}
	// Also right after a timeout: the abandoned reader keeps its descriptor
	// and the space is freed when it lets go.
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write temporary copy: %w", err)
	}

	timeout := rpmReadTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type result struct {
		pkgs []*rpmdb.PackageInfo
		err  error
	}
	done := make(chan result, 1) // buffered: an abandoned reader must not block on it
	var (
		mu       sync.Mutex
		db       *rpmdb.RpmDB
		gaveUp   bool
		closeOne sync.Once
	)
	closeDB := func(d *rpmdb.RpmDB) { closeOne.Do(func() { _ = d.Close() }) }
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("go-rpmdb panicked: %v", p)}
			}
			done <- r
		}()
		d, err := rpmdb.Open(path)
		if err != nil {
			r.err = err
			return
		}
		mu.Lock()
		db = d
		stop := gaveUp
		mu.Unlock()
		defer closeDB(d)
		if stop {
			r.err = errRPMTimeout
			return
		}
		r.pkgs, r.err = d.ListPackages()
	}()

	select {
	case r := <-done:
		return r.pkgs, r.err
	case <-ctx.Done():
		// The reader cannot be stopped, so it is abandoned. Closing the
		// database makes a reader still looping over the file fail its next
		// read and end; one stuck elsewhere stays until it finishes.
		mu.Lock()
		gaveUp = true
		d := db
		mu.Unlock()
		if d != nil {
			// Not inline: closing a sqlite database waits for its query.
			go closeDB(d)
		}
		if err := context.Cause(ctx); err != context.DeadlineExceeded {
			return nil, err // cancelled by the caller
		}
		return nil, errRPMTimeout
	}
}

func rpmPackage(info *rpmdb.PackageInfo) model.Package {
	p := model.Package{
		Name:    info.Name,
		Version: info.Version,
		Type:    model.TypeRPM,
		Arch:    info.Arch,
	}
	if info.Epoch != nil {
		e := *info.Epoch
		p.Epoch = &e
	}
	if info.Release != "" {
		p.Version += "-" + info.Release
	}
	if name, ver, ok := splitSourceRPM(info.SourceRpm); ok {
		p.SourceName, p.SourceVersion = name, ver
	} else {
		p.SourceName, p.SourceVersion = info.Name, p.Version
	}
	if info.License != "" {
		p.Licenses = []string{info.License}
	}
	md := map[string]string{}
	if info.Vendor != "" {
		md["vendor"] = info.Vendor
	}
	if info.Modularitylabel != "" {
		md["modularity_label"] = info.Modularitylabel
	}
	if info.SourceRpm != "" {
		md["source_rpm"] = info.SourceRpm
	}
	if len(md) > 0 {
		p.Metadata = md
	}
	return p
}

// splitSourceRPM splits "openssl-3.0.7-2.el9.src.rpm" into "openssl" and
// "3.0.7-2.el9". Names may contain dashes; version and release may not.
func splitSourceRPM(s string) (name, version string, ok bool) {
	base, found := strings.CutSuffix(s, ".src.rpm")
	if !found {
		if base, found = strings.CutSuffix(s, ".nosrc.rpm"); !found {
			return "", "", false
		}
	}
	r := strings.LastIndexByte(base, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(base[:r], '-')
	if v <= 0 || v+1 == r || r+1 == len(base) {
		return "", "", false
	}
	return base[:v], base[v+1:], true
}
