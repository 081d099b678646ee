package vulndb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// Affected lists are the hot path of a scan, so they use a small binary
// encoding (uvarint counts, length-prefixed strings) instead of JSON; the
// ecosystem and package come from the key. Vulnerabilities use JSON.

const codecVersion = 1

var errCorrupt = errors.New("corrupt affected record")

type enc struct{ b []byte }

func (e *enc) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) strs(ss []string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func encodeAffected(as []advisory.Affected) []byte {
	e := enc{b: make([]byte, 0, 64*len(as)+2)}
	e.b = append(e.b, codecVersion)
	e.b = binary.AppendUvarint(e.b, uint64(len(as)))
	for _, a := range as {
		e.str(a.VulnID)
		e.b = binary.AppendUvarint(e.b, uint64(len(a.Ranges)))
		for _, r := range a.Ranges {
			e.str(string(r.Type))
			e.b = binary.AppendUvarint(e.b, uint64(len(r.Events)))
			for _, ev := range r.Events {
				e.str(ev.Introduced)
				e.str(ev.Fixed)
				e.str(ev.LastAffected)
				e.str(ev.Limit)
			}
		}
		e.strs(a.Versions)
		e.strs(a.AffectedConstraints)
		e.strs(a.UnaffectedConstraints)
		e.str(string(a.Status))
		e.str(string(a.Severity))
		e.str(a.Note)
		e.str(a.Source)
	}
	return e.b
}

// dec reads from one string copy of the value: every decoded string is a
// substring of it, so a lookup allocates once for all its strings.
type dec struct {
	b   string
	err error
}

func (d *dec) uvarint() int {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(d.b) && i < binary.MaxVarintLen64; i++ {
		c := d.b[i]
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			// A count can never exceed the bytes left: this bounds
			// allocations on corrupt input.
			if v > uint64(len(d.b)) {
				break
			}
			d.b = d.b[i+1:]
			return int(v)
		}
	}
	d.err = errCorrupt
	return 0
}

func (d *dec) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > len(d.b) {
		d.err = errCorrupt
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *dec) strs() []string {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func decodeAffected(b []byte, ecosystem, pkg string) ([]advisory.Affected, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, fmt.Errorf("%w: unknown encoding", errCorrupt)
	}
	d := dec{b: string(b[1:])}
	n := d.uvarint()
	out := make([]advisory.Affected, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		a := advisory.Affected{VulnID: d.str(), Ecosystem: ecosystem, Package: pkg}
		if nr := d.uvarint(); nr > 0 {
			a.Ranges = make([]advisory.Range, nr)
			for j := range a.Ranges {
				r := &a.Ranges[j]
				r.Type = advisory.RangeType(d.str())
				if ne := d.uvarint(); ne > 0 {
					r.Events = make([]advisory.Event, ne)
					for k := range r.Events {
						r.Events[k] = advisory.Event{Introduced: d.str(), Fixed: d.str(), LastAffected: d.str(), Limit: d.str()}
					}
				}
			}
		}
		a.Versions = d.strs()
		a.AffectedConstraints = d.strs()
		a.UnaffectedConstraints = d.strs()
		a.Status = advisory.AffectedStatus(d.str())
		a.Severity = model.Severity(d.str())
		a.Note = d.str()
		a.Source = d.str()
		out = append(out, a)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return out, nil
}
