package debian

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// Source names recorded on what the loaders emit.
const (
	SourceTracker = "debian-tracker"
	SourceDSA     = "debian-dsa"
)

// Limits keep a hostile or broken file from exhausting memory.
const (
	maxTextFile = 512 << 20 // the full data/CVE/list is ~40 MiB
	maxJSONFile = 1 << 30   // the full tracker JSON is ~70 MiB (uncompressed)
	maxLine     = 1 << 20
	maxDetails  = 500
)

// releases maps Debian codenames to version numbers. Read-only.
var releases = map[string]string{
	"buzz": "1.1", "rex": "1.2", "bo": "1.3", "hamm": "2.0", "slink": "2.1",
	"potato": "2.2", "woody": "3.0", "sarge": "3.1", "etch": "4",
	"lenny": "5", "squeeze": "6", "wheezy": "7", "jessie": "8",
	"stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12",
	"trixie": "13", "forky": "14",
}

// ReleaseNumber returns the version number of a Debian codename ("bookworm"
// → "12"); ok is false for sid/unstable/experimental and unknown names.
func ReleaseNumber(codename string) (string, bool) {
	n, ok := releases[strings.ToLower(strings.TrimSpace(codename))]
	return n, ok
}

func ecosystem(codename string) (string, bool) {
	n, ok := ReleaseNumber(codename)
	if !ok {
		return "", false
	}
	return advisory.EcoDebian + ":" + n, true
}

// Option tunes a loader.
type Option func(*config)

type config struct {
	log     *slog.Logger
	inherit []string
}

// WithLogger sets the logger for skipped lines and unknown releases.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithInheritReleases sets the codenames that inherit the unstable status in
// data/CVE/list records when they have no line of their own.
func WithInheritReleases(codenames ...string) Option {
	return func(c *config) { c.inherit = append([]string(nil), codenames...) }
}

func newConfig(opts []Option) config {
	c := config{
		log:     slog.New(slog.DiscardHandler),
		inherit: []string{"buster", "bullseye", "bookworm", "trixie"},
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// errTooLarge reports a file over the size limit.
var errTooLarge = errors.New("file exceeds size limit")

// limited fails with errTooLarge instead of silently truncating.
type limited struct {
	r io.Reader
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// parseUrgency maps a tracker urgency ("high**", "unimportant") to a
// severity; note is set when the mapping loses a distinction.
func parseUrgency(u string) (sev model.Severity, note string) {
	u = strings.ToLower(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(u), "*")))
	switch u {
	case "unimportant":
		return model.SeverityLow, "urgency: unimportant"
	case "low", "medium", "high":
		return model.Severity(u), ""
	}
	return "", ""
}

func isUrgency(s string) bool {
	switch strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "*")) {
	case "unimportant", "low", "medium", "high", "not yet assigned":
		return true
	}
	return false
}

func fixedRange(v string) []advisory.Range {
	return []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: v}}}}
}

func joinNote(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func trimDetails(s string) string {
	return text.Truncate(strings.TrimSpace(s), maxDetails+len(text.Ellipsis))
}

func wrap(what, name string, err error) error {
	return fmt.Errorf("%s %s: %w", what, name, err)
}
