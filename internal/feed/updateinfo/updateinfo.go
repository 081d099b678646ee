package updateinfo

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/text"
)

const (
	source     = "updateinfo"
	maxDetails = 500
	// TallyOtherVendor counts updates whose id no vendor below claims
	// (RHSA in a RHEL repository's updateinfo: Red Hat's VEX is the authority).
	TallyOtherVendor = "other vendor"
)

// vendor maps an advisory id to its ecosystem; release is the package's
// release tag ("1.amzn2023.0.1", "27.el9_3").
type vendor struct {
	prefix    string
	source    string
	ecosystem func(id, release string) string
}

// vendors is the explicit table of whose updateinfo this loader reads;
// longer prefixes first.
var vendors = []vendor{
	{"ALAS2023-", "alas", func(string, string) string { return "Amazon Linux:2023" }},
	{"ALAS2KERNEL-", "alas", func(string, string) string { return "Amazon Linux:2" }},
	{"ALAS2EXTRAS-", "alas", func(string, string) string { return "Amazon Linux:2" }},
	{"ALAS2-", "alas", func(string, string) string { return "Amazon Linux:2" }},
	{"ALAS-", "alas", func(string, string) string { return "Amazon Linux:1" }},
	{"ELSA-", "elsa", func(_, rel string) string {
		if m := elRe.FindStringSubmatch(rel); m != nil {
			return "Oracle Linux:" + m[1]
		}
		return ""
	}},
}

var elRe = regexp.MustCompile(`\.el(\d+)`)

type loader struct{ other atomic.Int64 }

// Loader returns the updateinfo.xml loader.
func Loader() feed.Loader { return &loader{} }

func (*loader) Name() string { return source }

// Tallies reports updates of vendors this loader leaves to others.
func (l *loader) Tallies() map[string]int {
	return map[string]int{TallyOtherVendor: int(l.other.Load())}
}

// Detect: an XML document whose root is <updates> holding <update> elements.
func (*loader) Detect(_ string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	return len(h) > 0 && h[0] == '<' && bytes.Contains(h, []byte("<updates")) && bytes.Contains(h, []byte("<update "))
}

type update struct {
	Type     string `xml:"type,attr"`
	ID       string `xml:"id"`
	Title    string `xml:"title"`
	Severity string `xml:"severity"`
	Desc     string `xml:"description"`
	Issued   struct {
		Date string `xml:"date,attr"`
	} `xml:"issued"`
	Updated struct {
		Date string `xml:"date,attr"`
	} `xml:"updated"`
	References []struct {
		Href string `xml:"href,attr"`
		ID   string `xml:"id,attr"`
		Type string `xml:"type,attr"`
	} `xml:"references>reference"`
	Packages []struct {
		Name    string `xml:"name,attr"`
		Epoch   string `xml:"epoch,attr"`
		Version string `xml:"version,attr"`
		Release string `xml:"release,attr"`
		Arch    string `xml:"arch,attr"`
	} `xml:"pkglist>collection>package"`
}

// Load streams the <update> elements of one file.
func (l *loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	n, root := 0, false
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !root {
				return n, fmt.Errorf("updateinfo %s: no <updates> element", name)
			}
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("decode updateinfo %s: %w", name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "updates":
			root = true
		case "update":
			var u update
			if err := dec.DecodeElement(&u, &se); err != nil {
				return n, fmt.Errorf("decode updateinfo %s update %d: %w", name, n, err)
			}
			k, err := l.put(ctx, &u, sink)
			if err != nil {
				return n, fmt.Errorf("store %s from %s: %w", u.ID, name, err)
			}
			n += k
		}
	}
}

func (l *loader) put(ctx context.Context, u *update, sink advisory.Sink) (int, error) {
	id := strings.TrimSpace(u.ID)
	if u.Type != "" && u.Type != "security" {
		return 0, nil // bug fix and enhancement updates fix no vulnerability
	}
	var vd *vendor
	for i := range vendors {
		if strings.HasPrefix(id, vendors[i].prefix) {
			vd = &vendors[i]
			break
		}
	}
	if vd == nil {
		l.other.Add(1)
		return 0, nil
	}
	v := advisory.Vulnerability{ID: id, Summary: strings.TrimSpace(u.Title), Details: text.Truncate(strings.TrimSpace(u.Desc), maxDetails),
		Published: parseTime(u.Issued.Date), Modified: parseTime(u.Updated.Date), Source: vd.source}
	if s, err := model.ParseSeverity(u.Severity); err == nil && s != model.SeverityUnknown {
		v.Severity, v.SeveritySource = s, vd.source
	}
	for _, ref := range u.References {
		if ref.Type == "cve" && strings.HasPrefix(ref.ID, "CVE-") && !slices.Contains(v.Aliases, ref.ID) {
			v.Aliases = append(v.Aliases, strings.TrimSpace(ref.ID))
		}
		if ref.Href != "" && len(v.References) < 10 {
			v.References = append(v.References, ref.Href)
		}
	}
	// One entry per (ecosystem, package): binary packages of one build
	// repeat the same fixed version.
	type key struct{ eco, name string }
	fixed := map[key]string{}
	var order []key
	for _, p := range u.Packages {
		if p.Name == "" || p.Version == "" || p.Release == "" {
			continue
		}
		eco := vd.ecosystem(id, p.Release)
		if eco == "" {
			continue
		}
		ver := p.Version + "-" + p.Release
		if e := strings.TrimSpace(p.Epoch); e != "" && e != "0" {
			ver = e + ":" + ver
		}
		k := key{eco, p.Name}
		if _, ok := fixed[k]; !ok {
			order = append(order, k)
		}
		fixed[k] = ver
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return 0, err
	}
	for _, k := range order {
		a := advisory.Affected{VulnID: id, Ecosystem: k.eco, Package: k.name, Source: vd.source,
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fixed[k]}}}}}
		if err := sink.PutAffected(ctx, a); err != nil {
			return 0, err
		}
	}
	return 1, nil
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
