package ospkg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// RPM database locations: the classic one and the one rpm >= 4.16 distros
// (Fedora 36+, openSUSE, SLE 15) use, symlinked from var/lib/rpm.
var rpmDBDirs = []string{"var/lib/rpm/", "usr/lib/sysimage/rpm/"}

const (
	// Full RHEL installs reach ~200 MiB in the Berkeley DB backend.
	rpmMaxSize = 512 << 20
)

// rpmBackend reads the header blobs out of one database format.
type rpmBackend func(ctx context.Context, data []byte) ([][]byte, error)

var rpmBackends = map[string]rpmBackend{
	"Packages":     readBDB,    // Berkeley DB hash (RHEL <= 8, CentOS, Amazon Linux 2)
	"Packages.db":  readNDB,    // rpm's own "ndb" format (SUSE)
	"rpmdb.sqlite": readSQLite, // RHEL 9+, Fedora 33+, Mariner
}

// RPM catalogs Red Hat family and SUSE packages from the rpm database in any
// of its three backends: Berkeley DB, ndb and sqlite.
//
// The Berkeley DB and ndb readers are in this package rather than in
// github.com/knqyf263/go-rpmdb because the go-rpmdb version the module
// proxy serves (2021) has no ndb or sqlite backend, and its Berkeley DB
// reader runs in a goroutine that panics or loops forever on corrupt pages,
// which no recover in the caller can catch. go-rpmdb remains the oracle the
// tests compare against.
func RPM(opts ...Option) catalog.Cataloger {
	o := buildOptions(opts)
	return &cataloger{name: "rpm", version: 1, maxSize: rpmMaxSize, wants: rpmWants, parse: parseRPM, log: o.logger}
}

func rpmWants(p string) bool {
	return rpmBackendFor(p) != nil
}

func rpmBackendFor(p string) rpmBackend {
	for _, dir := range rpmDBDirs {
		if rest, ok := strings.CutPrefix(p, dir); ok {
			return rpmBackends[rest]
		}
	}
	return nil
}

func parseRPM(ctx context.Context, f catalog.File, log *slog.Logger) ([]model.Package, error) {
	backend := rpmBackendFor(f.Path)
	if backend == nil {
		return nil, nil
	}
	blobs, err := backend(ctx, f.Data)
	if err != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", f.Path, err)
	}
	pkgs := make([]model.Package, 0, len(blobs))
	var firstErr error
	for i, blob := range blobs {
		h, err := decodeRPMHeader(blob)
		if err != nil {
			log.Warn("skipping unreadable rpm header", "index", i, "err", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("header %d: %w", i, err)
			}
			continue
		}
		if h.name == "" || h.version == "" {
			log.Warn("skipping rpm header without name or version", "index", i, "name", h.name)
			continue
		}
		// gpg-pubkey entries are imported signing keys, not software.
		if h.name == "gpg-pubkey" {
			continue
		}
		pkgs = append(pkgs, h.toPackage())
	}
	if len(pkgs) == 0 && firstErr != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", f.Path, firstErr)
	}
	return pkgs, nil
}

func (h *rpmHeader) toPackage() model.Package {
	p := model.Package{
		Name:    h.name,
		Version: h.version,
		Type:    model.TypeRPM,
		Arch:    h.arch,
		Epoch:   h.epoch,
	}
	if h.release != "" {
		p.Version += "-" + h.release
	}
	if name, ver, ok := splitSourceRPM(h.sourceRPM); ok {
		p.SourceName, p.SourceVersion = name, ver
	} else {
		p.SourceName, p.SourceVersion = h.name, p.Version
	}
	if h.license != "" {
		p.Licenses = []string{h.license}
	}
	md := map[string]string{}
	if h.vendor != "" {
		md["vendor"] = h.vendor
	}
	if h.modularityLabel != "" {
		md["modularity_label"] = h.modularityLabel
	}
	if h.sourceRPM != "" {
		md["source_rpm"] = h.sourceRPM
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

var errNotRPMDB = errors.New("not an rpm database of the expected format")
