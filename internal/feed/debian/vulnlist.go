package debian

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

const maxVulnListFile = 16 << 20

// VulnList returns the loader for aquasecurity/vuln-list-debian files
// (tracker/DSA/*.json, tracker/DLA/*.json, tracker/CVE/<year>/*.json). The
// tracker lines are re-parsed from their Original text, so the semantics
// are exactly those of List and CVEList.
func VulnList(opts ...Option) feed.Loader { return &vulnListLoader{cfg: newConfig(opts)} }

type vulnListLoader struct{ cfg config }

type vulnListDoc struct {
	Header struct {
		Original    string
		ID          string
		Description string
	}
	Annotations []struct {
		Original string
	}
}

func (*vulnListLoader) Name() string { return "debian-vuln-list" }

func (*vulnListLoader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n")
	return len(h) > 0 && h[0] == '{' && bytes.Contains(h, []byte(`"Header"`)) &&
		(bytes.Contains(h, []byte(`"Annotations"`)) || bytes.Contains(h, []byte(`"Original"`)))
}

func (l *vulnListLoader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	data, err := io.ReadAll(&limited{r: r, n: maxVulnListFile})
	if err != nil {
		return 0, wrap("read debian vuln-list", name, err)
	}
	var doc vulnListDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, wrap("parse debian vuln-list", name, err)
	}
	hdr := strings.TrimSpace(doc.Header.Original)
	if hdr == "" {
		hdr = strings.TrimSpace(doc.Header.ID + " " + doc.Header.Description)
	}
	lines := make([]string, 0, len(doc.Annotations))
	for _, a := range doc.Annotations {
		lines = append(lines, a.Original)
	}
	var ok bool
	switch {
	case advisoryHeader.MatchString(hdr):
		ok, err = emitAdvisory(ctx, hdr, lines, sink, l.cfg)
	case cveHeader.MatchString(hdr):
		ok, err = emitCVE(ctx, hdr, lines, sink, l.cfg)
	default:
		return 0, fmt.Errorf("parse debian vuln-list %s: unrecognised header %q", name, trimDetails(hdr))
	}
	if err != nil {
		return 0, wrap("load debian vuln-list", name, err)
	}
	if !ok {
		return 0, nil
	}
	return 1, nil
}
