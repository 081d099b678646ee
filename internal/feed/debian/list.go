package debian

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// advisoryHeader matches "[29 Mar 2023] DSA-5380-1 xorg-server - security update"
// and the old "[August 26th, 2005] DTSA-1-1 kismet - various".
var advisoryHeader = regexp.MustCompile(`^\[([^\]]{1,40})\]\s+((?:DSA|DLA|DTSA)-\d+(?:-\d+)?)\b\s*(.*)$`)

var ordinal = regexp.MustCompile(`(\d+)(?:st|nd|rd|th)\b`)

func parseListDate(s string) time.Time {
	s = strings.TrimSpace(ordinal.ReplaceAllString(s, "$1"))
	for _, layout := range []string{"02 Jan 2006", "2 Jan 2006", "January 2, 2006", "January 2 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// List returns the loader for the DSA, DLA and DTSA text lists
// (data/DSA/list etc., DSA-list.gz once the walker has undone the gzip).
func List(opts ...Option) feed.Loader { return &listLoader{cfg: newConfig(opts)} }

type listLoader struct{ cfg config }

func (*listLoader) Name() string { return "debian-dsa-list" }

func (*listLoader) Detect(name string, head []byte) bool {
	line := firstLine(head)
	return advisoryHeader.MatchString(line)
}

func (l *listLoader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	n := 0
	err := scanBlocks(ctx, &limited{r: r, n: maxTextFile}, advisoryHeader.MatchString, func(hdr string, lines []string) error {
		ok, err := emitAdvisory(ctx, hdr, lines, sink, l.cfg)
		if ok {
			n++
		}
		return err
	})
	if err != nil {
		return n, wrap("load debian advisory list", name, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("load debian advisory list %s: no advisories found", name)
	}
	return n, nil
}

// emitAdvisory writes one DSA/DLA/DTSA block; ok reports a record written.
func emitAdvisory(ctx context.Context, hdr string, lines []string, sink advisory.Sink, cfg config) (bool, error) {
	m := advisoryHeader.FindStringSubmatch(strings.TrimSpace(hdr))
	if m == nil {
		return false, nil
	}
	v := advisory.Vulnerability{ID: m[2], Summary: strings.TrimSpace(m[3]), Published: parseListDate(m[1]), Source: SourceDSA}
	var affs []advisory.Affected
	for _, line := range lines {
		if ids, ok := parseXref(line); ok {
			v.Aliases = append(v.Aliases, ids...)
			continue
		}
		pl, ok := parsePkgLine(line)
		if !ok {
			continue // NOTE: lines and the like
		}
		eco, ok := ecosystem(pl.Release)
		if !ok {
			cfg.log.Debug("debian advisory: release without a number", "id", v.ID, "release", pl.Release)
			continue
		}
		a := pl.affected(v.ID, SourceDSA)
		a.Ecosystem = eco
		affs = append(affs, a)
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	for _, a := range affs {
		if err := sink.PutAffected(ctx, a); err != nil {
			return true, fmt.Errorf("store %s %s %s: %w", v.ID, a.Ecosystem, a.Package, err)
		}
	}
	return true, nil
}

// scanBlocks splits tracker text into blocks: a header line (unindented,
// accepted by isHeader) and the lines after it. Lines before the first
// header are ignored.
func scanBlocks(ctx context.Context, r io.Reader, isHeader func(string) bool, fn func(hdr string, lines []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var hdr string
	var lines []string
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		return fn(hdr, lines)
	}
	count := 0
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' && isHeader(line) {
			if err := flush(); err != nil {
				return err
			}
			hdr, lines, have = line, lines[:0], true
			if count++; count%512 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			continue
		}
		if have {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return flush()
}

func firstLine(head []byte) string {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	return strings.TrimRight(string(head), "\r")
}
