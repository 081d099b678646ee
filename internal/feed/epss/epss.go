package epss

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const source = "epss"

type loader struct{}

// Loader returns the EPSS scores loader.
func Loader() feed.Loader { return loader{} }

func (loader) Name() string { return source }

// Detect: the comment line FIRST puts first, or the CSV header.
func (loader) Detect(_ string, head []byte) bool {
	h := bytes.TrimLeft(head, "\xef\xbb\xbf")
	return bytes.HasPrefix(h, []byte("#model_version:")) || bytes.HasPrefix(h, []byte("cve,epss,percentile"))
}

// Load streams the rows; a malformed row fails the file (a truncated
// download), rows already read stay loaded.
func (loader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	br := bufio.NewReader(r)
	date := ""
	if b, err := br.Peek(1); err == nil && b[0] == '#' {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read EPSS %s: %w", name, err)
		}
		// "#model_version:v2025.03.14,score_date:2025-12-05T12:55:00Z"
		for _, kv := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "#")), ",") {
			if k, v, ok := strings.Cut(kv, ":"); ok && k == "score_date" {
				date, _, _ = strings.Cut(v, "T")
			}
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("read EPSS %s header: %w", name, err)
	}
	if head[0] != "cve" || head[1] != "epss" || head[2] != "percentile" {
		return 0, fmt.Errorf("EPSS %s: header %q, want cve,epss,percentile", name, strings.Join(head, ","))
	}
	n := 0
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read EPSS %s: %w", name, err)
		}
		id := strings.TrimSpace(rec[0])
		score, err1 := strconv.ParseFloat(rec[1], 64)
		pct, err2 := strconv.ParseFloat(rec[2], 64)
		if !strings.HasPrefix(id, "CVE-") || err1 != nil || err2 != nil || !prob(score) || !prob(pct) {
			return n, fmt.Errorf("EPSS %s row %d: bad row %q", name, n+1, strings.Join(rec, ","))
		}
		v := advisory.Vulnerability{ID: id, EPSS: &model.EPSS{Score: score, Percentile: pct, Date: date}, Source: source}
		if err := sink.PutVulnerability(ctx, v); err != nil {
			return n, fmt.Errorf("store EPSS of %s: %w", id, err)
		}
		n++
	}
}

func prob(f float64) bool { return f >= 0 && f <= 1 }
