package composer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// Source is recorded on what the loader emits.
const Source = "friendsofphp"

const maxFile = 1 << 20

// FriendsOfPHP returns the loader for FriendsOfPHP advisory YAML files.
func FriendsOfPHP(opts ...feed.LoaderOption) feed.Loader {
	return &loader{log: feed.ApplyLoaderOptions(opts...).Logger}
}

type loader struct{ log *slog.Logger }

// strList accepts a YAML list or a single scalar.
type strList []string

func (s *strList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Tag != "!!null" {
			*s = strList{n.Value}
		}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

type branch struct {
	Time     string  `yaml:"time"`
	Versions strList `yaml:"versions"`
}

type doc struct {
	Title     string            `yaml:"title"`
	Link      string            `yaml:"link"`
	CVE       string            `yaml:"cve"`
	Reference string            `yaml:"reference"`
	Branches  map[string]branch `yaml:"branches"`
}

func (*loader) Name() string { return "friendsofphp" }

var branchesKey = regexp.MustCompile(`(?m)^branches:`)

func (*loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n")
	if len(h) > 0 && (h[0] == '{' || h[0] == '[') {
		return false
	}
	return branchesKey.Match(h) && (bytes.Contains(h, []byte("composer://")) || bytes.Contains(h, []byte("\nlink:")) || bytes.HasPrefix(h, []byte("link:")))
}

func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return 0, fmt.Errorf("read composer advisory %s: %w", name, err)
	}
	if len(data) > maxFile {
		return 0, fmt.Errorf("read composer advisory %s: larger than %d bytes", name, maxFile)
	}
	var d doc
	if err := yaml.Unmarshal(data, &d); err != nil {
		return 0, fmt.Errorf("parse composer advisory %s: %w", name, err)
	}
	pkg, fileID := fromName(name)
	if ref := strings.TrimSpace(d.Reference); ref != "" {
		pkg = strings.TrimPrefix(ref, "composer://")
	}
	pkg = strings.ToLower(strings.Trim(pkg, "/ "))
	if pkg == "" || !strings.Contains(pkg, "/") {
		return 0, fmt.Errorf("parse composer advisory %s: no vendor/package (reference %q)", name, d.Reference)
	}
	if fileID == "" {
		fileID = "unknown"
	}
	fop := "FOP-" + pkg + "/" + fileID
	v := advisory.Vulnerability{ID: fop, Summary: strings.TrimSpace(d.Title), Source: Source}
	if c := strings.TrimSpace(d.CVE); c != "" && c != "~" {
		v.ID = c
	}
	if link := strings.TrimSpace(d.Link); link != "" {
		v.References = []string{link}
	}
	a := advisory.Affected{VulnID: v.ID, Ecosystem: advisory.EcoPackagist, Package: pkg, Source: Source}
	names := make([]string, 0, len(d.Branches))
	for b := range d.Branches {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		br := d.Branches[b]
		var parts []string
		for _, c := range br.Versions {
			if c = strings.TrimSpace(c); c != "" {
				parts = append(parts, c)
			}
		}
		if len(parts) > 0 {
			a.AffectedConstraints = append(a.AffectedConstraints, strings.Join(parts, ","))
		}
		if t, err := time.Parse("2006-01-02 15:04:05", strings.TrimSpace(br.Time)); err == nil && (v.Published.IsZero() || t.Before(v.Published)) {
			v.Published = t
		}
	}
	if len(a.AffectedConstraints) == 0 {
		return 0, fmt.Errorf("parse composer advisory %s: no branch has versions", name)
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return 0, fmt.Errorf("store composer %s: %w", v.ID, err)
	}
	if err := sink.PutAffected(ctx, a); err != nil {
		return 0, fmt.Errorf("store composer %s %s: %w", v.ID, pkg, err)
	}
	return 1, nil
}

// fromName takes "archive.tar.gz!root/vendor/package/2017-01-10-1.yaml" apart
// into ("vendor/package", "2017-01-10-1").
func fromName(name string) (pkg, id string) {
	if i := strings.LastIndexByte(name, '!'); i >= 0 {
		name = name[i+1:]
	}
	parts := strings.Split(strings.ReplaceAll(name, "\\", "/"), "/")
	file := parts[len(parts)-1]
	id = strings.TrimSuffix(strings.TrimSuffix(file, ".yaml"), ".yml")
	if len(parts) >= 3 {
		pkg = parts[len(parts)-3] + "/" + parts[len(parts)-2]
	}
	return pkg, id
}
