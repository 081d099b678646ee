package lang

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const (
	// maxJavaArchive bounds an outer archive handed to Parse.
	maxJavaArchive = 512 << 20
	// maxJavaDepth is how deep archives nested in archives are opened.
	maxJavaDepth = 4
	// maxJavaInflate bounds the bytes decompressed from one outer archive,
	// nested archives included: the zip-bomb guard.
	maxJavaInflate = 1 << 30
	// maxJavaMetaFile bounds one pom.properties or MANIFEST.MF.
	maxJavaMetaFile = 1 << 20
)

var errJavaBudget = errors.New("archive decompresses to more than the limit (zip bomb?)")

// javaExts are the zip-based Java archive kinds: jars, web and enterprise
// archives, Jenkins plugins and the rarer JBoss/NAR ones.
var javaExts = []string{".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar"}

// Java lists the Maven artifacts in Java archives from their
// pom.properties, falling back to the manifest or the file name, and
// descends into archives nested inside them.
func Java() catalog.Cataloger {
	return &cataloger{
		name: "java-archive", version: 1,
		wants: func(p string, _ fs.FileMode, size int64) bool {
			return size > 0 && size <= maxJavaArchive && isJavaArchive(p)
		},
		parse: parseJava,
	}
}

func isJavaArchive(p string) bool {
	for _, e := range javaExts {
		if len(p) > len(e) && strings.EqualFold(p[len(p)-len(e):], e) {
			return true
		}
	}
	return false
}

func parseJava(ctx context.Context, f catalog.File) ([]model.Package, error) {
	if len(f.Data) > maxJavaArchive {
		return nil, fmt.Errorf("archive is %d bytes, over the %d byte limit", len(f.Data), maxJavaArchive)
	}
	budget := int64(maxJavaInflate)
	return parseJavaArchive(ctx, f.Data, base(f.Path), "", 0, &budget)
}

// parseJavaArchive catalogs one archive; location is "" for the outer file
// and "!a.jar!b.jar" for nested ones.
func parseJavaArchive(ctx context.Context, data []byte, fileName, location string, depth int, budget *int64) ([]model.Package, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open zip%s: %w", location, err)
	}
	var (
		pkgs     []model.Package
		manifest map[string]string
		nested   []*zip.File
	)
	for _, zf := range zr.File {
		name := zf.Name
		switch {
		case strings.HasPrefix(name, "META-INF/") && strings.HasSuffix(name, "/pom.properties"):
			raw, err := readZipEntry(zf, maxJavaMetaFile, budget)
			if err != nil {
				return nil, fmt.Errorf("read %s%s: %w", location, name, err)
			}
			if p, ok := pomPropertiesPackage(parseJavaProperties(raw)); ok {
				p.Path = location
				pkgs = append(pkgs, p)
			}
		case strings.EqualFold(name, "META-INF/MANIFEST.MF"):
			raw, err := readZipEntry(zf, maxJavaMetaFile, budget)
			if err != nil {
				return nil, fmt.Errorf("read %s%s: %w", location, name, err)
			}
			manifest = parseJavaManifest(raw)
		case isJavaArchive(name) && !zf.FileInfo().IsDir():
			nested = append(nested, zf)
		}
	}
	if len(pkgs) == 0 {
		if p, ok := fallbackJavaPackage(manifest, fileName); ok {
			p.Path = location
			pkgs = append(pkgs, p)
		}
	}
	if lic := manifest["Bundle-License"]; lic != "" && len(pkgs) == 1 {
		pkgs[0].Licenses = nonEmpty(lic)
	}
	if depth+1 >= maxJavaDepth {
		return pkgs, nil
	}
	for _, zf := range nested {
		raw, err := readZipEntry(zf, maxJavaArchive, budget)
		if err != nil {
			return nil, fmt.Errorf("read %s%s: %w", location, zf.Name, err)
		}
		inner, err := parseJavaArchive(ctx, raw, base(zf.Name), location+"!"+zf.Name, depth+1, budget)
		if err != nil {
			if errors.Is(err, errJavaBudget) || ctx.Err() != nil {
				return nil, err
			}
			// A corrupt nested archive spoils only itself: the outer
			// archive's packages and its other nested ones still count.
			continue
		}
		pkgs = append(pkgs, inner...)
	}
	return pkgs, nil
}

// readZipEntry decompresses one entry within both its own limit and the
// archive's remaining budget, trusting neither header's size field.
func readZipEntry(zf *zip.File, limit int64, budget *int64) ([]byte, error) {
	if int64(zf.UncompressedSize64) > limit || zf.UncompressedSize64 > 1<<62 {
		return nil, fmt.Errorf("entry is %d bytes, over the %d byte limit", zf.UncompressedSize64, limit)
	}
	if int64(zf.UncompressedSize64) > *budget {
		return nil, errJavaBudget
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, min(limit, *budget)+1))
	if err != nil {
		return nil, err
	}
	*budget -= int64(len(raw))
	if *budget < 0 {
		return nil, errJavaBudget
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("entry exceeds the %d byte limit", limit)
	}
	return raw, nil
}

// parseJavaProperties reads the key=value / key: value lines of a Java
// properties file, ignoring comments; pom.properties needs nothing more.
func parseJavaProperties(raw []byte) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		m[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return m
}

// parseJavaManifest reads the main section of a MANIFEST.MF, joining
// continuation lines (a leading space continues the previous line).
func parseJavaManifest(raw []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), maxJavaMetaFile)
	var last string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // per-entry sections follow; they describe classes, not the artifact
		}
		if line[0] == ' ' {
			if last != "" {
				m[last] += line[1:]
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		m[last] = strings.TrimSpace(v)
	}
	return m
}

func pomPropertiesPackage(props map[string]string) (model.Package, bool) {
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if a == "" || v == "" {
		return model.Package{}, false
	}
	return mavenPackage(g, a, v), true
}

func mavenPackage(group, artifact, version string) model.Package {
	name := artifact
	meta := map[string]string{"artifactId": artifact}
	if group != "" {
		name = group + ":" + artifact
		meta["groupId"] = group
	}
	return model.Package{
		Name: name, Version: version, Type: model.TypeJava,
		PURL: purl("maven", group, artifact, version), Metadata: meta,
	}
}

var javaFileNameRE = regexp.MustCompile(`^(.+?)[-_]v?(\d[0-9A-Za-z.+_-]*)\.[A-Za-z]+$`)

// fallbackJavaPackage names an archive without pom.properties from its
// manifest, or failing that from a "name-1.2.3.jar" file name.
func fallbackJavaPackage(mf map[string]string, fileName string) (model.Package, bool) {
	var fnArtifact, fnVersion string
	if m := javaFileNameRE.FindStringSubmatch(fileName); m != nil {
		fnArtifact, fnVersion = m[1], m[2]
	}
	// Bundle-SymbolicName may carry directives: "org.foo.bar;singleton:=true".
	bsn, _, _ := strings.Cut(firstOf(mf, "Bundle-SymbolicName"), ";")
	// A file name names the artifact better than a human-readable title.
	artifact := firstNonEmpty(fnArtifact, strings.TrimSpace(bsn), firstOf(mf, "Implementation-Title"))
	version := firstNonEmpty(firstOf(mf, "Implementation-Version", "Bundle-Version"), fnVersion)
	if artifact == "" || version == "" {
		return model.Package{}, false
	}
	p := mavenPackage(firstOf(mf, "Implementation-Vendor-Id"), artifact, version)
	p.Metadata["source"] = "manifest-or-filename"
	return p, true
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(m[k]); v != "" {
			return v
		}
	}
	return ""
}
