package alpine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// Source is recorded on what the loader emits.
const Source = "alpine-secdb"

const maxFile = 64 << 20 // a full community.json is a few MiB

// SecDB returns the loader for Alpine secdb documents in JSON or YAML and
// for vuln-list per-package JSON.
func SecDB(opts ...feed.LoaderOption) feed.Loader {
	return &loader{log: feed.ApplyLoaderOptions(opts...).Logger}
}

type loader struct{ log *slog.Logger }

// secfixes maps a fixed version to the ids it fixes.
type secfixes map[string][]string

type pkgEntry struct {
	Name     string   `json:"name" yaml:"name"`
	Secfixes secfixes `json:"secfixes" yaml:"secfixes"`
}

// document covers both shapes: a secdb document with packages[], and a
// vuln-list file with one package lifted to the top level.
type document struct {
	DistroVersion string `json:"distroversion" yaml:"distroversion"`
	RepoName      string `json:"reponame" yaml:"reponame"`
	Packages      []struct {
		Pkg pkgEntry `json:"pkg" yaml:"pkg"`
	} `json:"packages" yaml:"packages"`
	pkgEntry `yaml:",inline"`
}

func (*loader) Name() string { return "alpine-secdb" }

func (*loader) Detect(name string, head []byte) bool {
	if !bytes.Contains(head, []byte("secfixes")) && !bytes.Contains(head, []byte("distroversion")) {
		return false
	}
	if bytes.Contains(head, []byte(`"schema_version"`)) {
		return false
	}
	// secdb keys, in JSON or YAML; the release header may come last in a
	// vuln-list file, so apkurl/archs/name are accepted too.
	hits := 0
	for _, k := range []string{"secfixes", "distroversion", "reponame", "apkurl", "urlprefix", "packages"} {
		if bytes.Contains(head, []byte(k)) {
			hits++
		}
	}
	return hits >= 2 || (hits == 1 && bytes.Contains(head, []byte("secfixes")) && strings.Contains(strings.ToLower(name), "alpine"))
}

func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	docs, err := parse(r)
	if err != nil {
		return 0, fmt.Errorf("parse alpine secdb %s: %w", name, err)
	}
	n := 0
	for _, d := range docs {
		rel := normaliseRelease(d.DistroVersion)
		if rel == "" {
			rel = releaseFromName(name)
		}
		if rel == "" {
			return n, fmt.Errorf("load alpine secdb %s: no distroversion", name)
		}
		eco := advisory.EcoAlpine + ":" + rel
		entries := make([]pkgEntry, 0, len(d.Packages)+1)
		for _, p := range d.Packages {
			entries = append(entries, p.Pkg)
		}
		if d.Name != "" {
			entries = append(entries, d.pkgEntry)
		}
		for _, p := range entries {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			k, err := l.emit(ctx, eco, p, sink)
			n += k
			if err != nil {
				return n, fmt.Errorf("load alpine secdb %s: %w", name, err)
			}
		}
	}
	return n, nil
}

// parse reads JSON (first byte '{') or a YAML stream of one or more documents.
func parse(r io.Reader) ([]document, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	trim := bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf")
	if len(trim) > 0 && trim[0] == '{' {
		var d document
		if err := json.Unmarshal(trim, &d); err != nil {
			return nil, err
		}
		return []document{d}, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []document
	for {
		var d document
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, errors.New("empty document")
	}
	return docs, nil
}

var idRe = regexp.MustCompile(`^[A-Z][A-Z0-9]*-[0-9A-Za-z][0-9A-Za-z._:-]*$`)

func (l *loader) emit(ctx context.Context, eco string, p pkgEntry, sink advisory.Sink) (int, error) {
	name := strings.TrimSpace(p.Name)
	if name == "" {
		if len(p.Secfixes) > 0 {
			l.log.Warn("alpine secdb: package entry without a name skipped", "ecosystem", eco)
		}
		return 0, nil
	}
	versions := make([]string, 0, len(p.Secfixes))
	for v := range p.Secfixes {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	n := 0
	for _, ver := range versions {
		ver = strings.TrimSpace(ver)
		for _, item := range p.Secfixes[ver] {
			ids := ids(item)
			if len(ids) == 0 {
				l.log.Debug("alpine secdb: secfix without an id", "package", name, "item", item)
				continue
			}
			v := advisory.Vulnerability{ID: ids[0], Source: Source}
			if len(ids) > 1 {
				v.Aliases = ids[1:]
			}
			if err := sink.PutVulnerability(ctx, v); err != nil {
				return n, fmt.Errorf("store %s: %w", v.ID, err)
			}
			a := advisory.Affected{VulnID: v.ID, Ecosystem: eco, Package: name, Source: Source}
			if ver == "0" {
				a.Status = advisory.AffectedNot
			} else {
				a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: ver}}}}
			}
			if err := sink.PutAffected(ctx, a); err != nil {
				return n, fmt.Errorf("store %s %s: %w", v.ID, name, err)
			}
			n++
		}
	}
	return n, nil
}

// ids pulls the identifiers out of a secfixes item such as
// "CVE-2016-6258 XSA-182"; a CVE comes first when there is one.
func ids(item string) []string {
	var out []string
	for _, f := range strings.Fields(item) {
		f = strings.Trim(f, "(),;")
		if idRe.MatchString(f) {
			out = append(out, f)
		}
	}
	for i, id := range out {
		if strings.HasPrefix(id, "CVE-") && i > 0 {
			out[0], out[i] = out[i], out[0]
			break
		}
	}
	return out
}

var relRe = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// normaliseRelease turns "v3.18", "3.18" or "v3.18.4" into "v3.18"; "edge"
// stays "edge".
func normaliseRelease(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "edge" {
		return s
	}
	if m := relRe.FindStringSubmatch(s); m != nil {
		return "v" + m[1] + "." + m[2]
	}
	return ""
}

var nameRelRe = regexp.MustCompile(`(?:^|[/!])v?(\d+\.\d+)/(?:main|community)\b`)

// releaseFromName is the fallback for a vuln-list file without distroversion:
// ".../alpine/3.18/main/zlib.json".
func releaseFromName(name string) string {
	if m := nameRelRe.FindStringSubmatch(name); m != nil {
		return normaliseRelease(m[1])
	}
	return ""
}
