package ospkg

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	apkInstalledPath = "lib/apk/db/installed"
	// A full Alpine desktop's database is a few MiB (it lists every file).
	apkMaxSize = 64 << 20
)

// APK catalogs Alpine (and Wolfi, Chainguard) packages from
// lib/apk/db/installed.
func APK(opts ...Option) catalog.Cataloger {
	o := buildOptions(opts)
	return &cataloger{name: "apk", version: 1, maxSize: apkMaxSize,
		wants: func(p string) bool { return p == apkInstalledPath }, parse: parseAPK, log: o.logger}
}

func parseAPK(ctx context.Context, f catalog.File, log *slog.Logger) ([]model.Package, error) {
	pkgs, err := parseAPKInstalled(ctx, f.Data, log)
	if err != nil {
		return nil, fmt.Errorf("parse apk database %s: %w", f.Path, err)
	}
	return pkgs, nil
}

type apkRecord struct {
	line                                          int
	name, version, arch, origin, license, maintnr string
	seen, bad                                     bool
}

// parseAPKInstalled reads the "K:value" records of an apk database,
// separated by blank lines. See
// https://wiki.alpinelinux.org/wiki/Apk_spec#Package_Database_Format
func parseAPKInstalled(ctx context.Context, data []byte, log *slog.Logger) ([]model.Package, error) {
	var (
		pkgs   []model.Package
		rec    apkRecord
		lineNo int
		badErr error
	)
	flush := func() {
		switch {
		case rec.bad:
			log.Warn("skipping malformed apk record", "line", rec.line, "package", rec.name)
		case !rec.seen:
		case rec.name == "" || rec.version == "":
			log.Warn("skipping apk record without P or V", "line", rec.line, "package", rec.name)
		default:
			p := model.Package{
				Name:          rec.name,
				Version:       rec.version,
				Type:          model.TypeAPK,
				Arch:          rec.arch,
				SourceName:    rec.origin,
				SourceVersion: rec.version,
			}
			if p.SourceName == "" {
				p.SourceName = rec.name
			}
			if rec.license != "" {
				p.Licenses = []string{rec.license}
			}
			if rec.maintnr != "" {
				p.Metadata = map[string]string{"maintainer": rec.maintnr}
			}
			pkgs = append(pkgs, p)
		}
		rec = apkRecord{}
	}
	if err := eachLine(ctx, data, func(n int, line []byte) error {
		lineNo = n
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			return nil
		}
		if !rec.seen {
			rec.seen, rec.line = true, lineNo
		}
		if len(line) < 2 || line[1] != ':' {
			rec.bad = true
			if badErr == nil {
				badErr = fmt.Errorf("line %d: not a \"K:value\" line", lineNo)
			}
			return nil
		}
		val := string(line[2:])
		switch line[0] {
		case 'P':
			rec.name = val
		case 'V':
			rec.version = val
		case 'A':
			rec.arch = val
		case 'o':
			rec.origin = val
		case 'L':
			rec.license = val
		case 'm':
			rec.maintnr = val
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
