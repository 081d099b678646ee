package kev

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

type loader struct{}

// Loader returns the KEV loader.
func Loader() feed.Loader { return loader{} }

func (loader) Name() string { return "kev" }

// Detect recognises the catalogue by its "catalogVersion" and
// "vulnerabilities" keys (the JSON schema file beside it has neither as a
// data key, but does mention them: it is told apart by "$schema").
func (loader) Detect(name string, head []byte) bool {
	h := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	return len(h) > 0 && h[0] == '{' &&
		bytes.Contains(h, []byte(`"catalogVersion"`)) &&
		bytes.Contains(h, []byte(`"vulnerabilities"`)) &&
		!bytes.Contains(h, []byte(`"$schema"`))
}

type entry struct {
	CVEID     string `json:"cveID"`
	DateAdded string `json:"dateAdded"`
}

// Load emits one partial Vulnerability per catalogue entry; the store
// merges it into the full record from other feeds.
func (loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	dec := json.NewDecoder(r)
	if err := feed.ExpectDelim(dec, '{'); err != nil {
		return 0, fmt.Errorf("decode KEV %s: %w", name, err)
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, fmt.Errorf("decode KEV %s: %w", name, err)
		}
		if key, _ := tok.(string); key != "vulnerabilities" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, fmt.Errorf("decode KEV %s %v: %w", name, tok, err)
			}
			continue
		}
		if err := feed.ExpectDelim(dec, '['); err != nil {
			return n, fmt.Errorf("decode KEV %s vulnerabilities: %w", name, err)
		}
		for dec.More() {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			var e entry
			if err := dec.Decode(&e); err != nil {
				return n, fmt.Errorf("decode KEV %s entry %d: %w", name, n, err)
			}
			id := strings.TrimSpace(e.CVEID)
			if !strings.HasPrefix(id, "CVE-") {
				continue
			}
			v := advisory.Vulnerability{ID: id, KnownExploited: true, KEVDateAdded: strings.TrimSpace(e.DateAdded), Source: "kev"}
			if err := sink.PutVulnerability(ctx, v); err != nil {
				return n, fmt.Errorf("store %s: %w", id, err)
			}
			n++
		}
		if err := feed.ExpectDelim(dec, ']'); err != nil {
			return n, fmt.Errorf("decode KEV %s: %w", name, err)
		}
	}
	if err := feed.ExpectDelim(dec, '}'); err != nil {
		return n, fmt.Errorf("decode KEV %s end: %w", name, err)
	}
	return n, nil
}
