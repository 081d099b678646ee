package ospkg

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	dpkgStatusPath = "var/lib/dpkg/status"
	dpkgStatusDir  = "var/lib/dpkg/status.d"
	// The largest real status files (desktop installs) are a few MiB.
	dpkgMaxSize = 64 << 20
)

// Dpkg catalogs Debian and Ubuntu packages from var/lib/dpkg/status and the
// per-package files distroless images keep under var/lib/dpkg/status.d/.
func Dpkg(opts ...Option) catalog.Cataloger {
	o := buildOptions(opts)
	return &cataloger{name: "dpkg", version: 1, maxSize: dpkgMaxSize, wants: dpkgWants, parse: parseDpkg, log: o.logger}
}

func dpkgWants(p string) bool {
	if p == dpkgStatusPath {
		return true
	}
	dir, base := path.Split(p)
	return dir == dpkgStatusDir+"/" && base != "" && !strings.HasSuffix(base, ".md5sums") && !strings.HasSuffix(base, ".list")
}

func parseDpkg(ctx context.Context, f catalog.File, log *slog.Logger) ([]model.Package, error) {
	// status.d files carry no Status field: their presence means installed.
	statusRequired := f.Path == dpkgStatusPath
	pkgs, err := parseDpkgStatus(ctx, f.Data, statusRequired, log)
	if err != nil {
		return nil, fmt.Errorf("parse dpkg status %s: %w", f.Path, err)
	}
	return pkgs, nil
}

// dpkgRecord holds the fields of one stanza the cataloger uses.
type dpkgRecord struct {
	line                                           int
	pkg, status, version, arch, source, maintainer string
	seen, bad                                      bool
}

// parseDpkgStatus reads deb822 stanzas. A malformed stanza is skipped with a
// log line so one bad record loses nothing else; a file in which no stanza
// is usable and some line is malformed is not deb822 and is an error.
func parseDpkgStatus(ctx context.Context, data []byte, statusRequired bool, log *slog.Logger) ([]model.Package, error) {
	var (
		pkgs    []model.Package
		rec     dpkgRecord
		lastKey string
		lineNo  int
		badErr  error
	)
	flush := func() {
		if rec.bad {
			log.Warn("skipping malformed dpkg record", "line", rec.line, "package", rec.pkg)
		} else if rec.seen {
			if p, ok := rec.toPackage(statusRequired, log); ok {
				pkgs = append(pkgs, p)
			}
		}
		rec = dpkgRecord{}
		lastKey = ""
	}
	if err := eachLine(ctx, data, func(n int, line []byte) error {
		lineNo = n
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Continuation of a multi-line field (Description, Conffiles):
			// none of the fields used here are multi-line.
			if lastKey == "" {
				rec.markBad(lineNo)
				if badErr == nil {
					badErr = fmt.Errorf("line %d: continuation line outside a field", lineNo)
				}
			}
			return nil
		}
		if line[0] == '#' {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			rec.markBad(lineNo)
			if badErr == nil {
				badErr = fmt.Errorf("line %d: not a \"Field: value\" line", lineNo)
			}
			return nil
		}
		key := string(line[:colon])
		val := string(bytes.TrimSpace(line[colon+1:]))
		lastKey = key
		if !rec.seen {
			rec.seen, rec.line = true, lineNo
		}
		switch key {
		case "Package":
			rec.pkg = val
		case "Status":
			rec.status = val
		case "Version":
			rec.version = val
		case "Architecture":
			rec.arch = val
		case "Source":
			rec.source = val
		case "Maintainer":
			rec.maintainer = val
		}
		return nil
	}); err != nil {
		return nil, err
	}
	flush()
	if len(pkgs) == 0 && badErr != nil {
		return nil, badErr
	}
	return pkgs, nil
}

func (r *dpkgRecord) markBad(line int) {
	if !r.seen {
		r.seen, r.line = true, line
	}
	r.bad = true
}

func (r *dpkgRecord) toPackage(statusRequired bool, log *slog.Logger) (model.Package, bool) {
	if r.pkg == "" || r.version == "" {
		log.Warn("skipping dpkg record without Package or Version", "line", r.line, "package", r.pkg)
		return model.Package{}, false
	}
	if r.status != "" || statusRequired {
		if !dpkgInstalled(r.status) {
			return model.Package{}, false
		}
	}
	p := model.Package{
		Name:    r.pkg,
		Version: r.version,
		Type:    model.TypeDeb,
		Arch:    r.arch,
	}
	p.SourceName, p.SourceVersion = dpkgSource(r.source, r.pkg, r.version)
	if r.maintainer != "" {
		p.Metadata = map[string]string{"maintainer": r.maintainer}
	}
	return p, true
}

// dpkgInstalled reads the "want flag state" triple. Only packages whose files
// are fully on disk count; "config-files" and "not-installed" leave only
// configuration or nothing behind.
func dpkgInstalled(status string) bool {
	f := strings.Fields(status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "triggers-pending", "triggers-awaited", "half-configured":
		return true
	}
	return false
}

// dpkgSource derives the source package from a Source field, which is
// "name" or "name (version)"; without one the source is the binary itself.
func dpkgSource(source, name, version string) (string, string) {
	source = strings.TrimSpace(source)
	if source == "" {
		return name, stripBinNMU(version)
	}
	if open := strings.IndexByte(source, '('); open >= 0 {
		srcName := strings.TrimSpace(source[:open])
		srcVer := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(source[open+1:]), ")"))
		if srcName == "" {
			srcName = name
		}
		if srcVer == "" {
			srcVer = stripBinNMU(version)
		}
		return srcName, srcVer
	}
	return source, stripBinNMU(version)
}

// stripBinNMU removes a trailing "+bN" binary-only rebuild suffix, which the
// source package's version does not carry.
func stripBinNMU(v string) string {
	i := strings.LastIndex(v, "+b")
	if i < 0 || i+2 == len(v) {
		return v
	}
	for _, c := range v[i+2:] {
		if c < '0' || c > '9' {
			return v
		}
	}
	return v[:i]
}
