package ospkg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// rpmPreflight rejects databases on which go-rpmdb v0.1.1 would crash the
// process, loop forever or allocate without bound. Its Berkeley DB and ndb
// readers run in goroutines of their own, so a panic there cannot be
// recovered by the caller; this check mirrors exactly the reads they make
// (offsets, uint16/uint32 arithmetic included) and fails where they would.
// It does not read packages: anything it accepts is read by go-rpmdb, and
// input go-rpmdb rejects cleanly is left for it to reject.
//
// go-rpmdb picks the backend by content, whatever the file is called:
// sqlite, then ndb, then Berkeley DB. So does this check.
func rpmPreflight(data []byte) error {
	switch {
	case len(data) < 16:
		return nil // go-rpmdb fails to read the sqlite magic
	case bytes.HasPrefix(data, []byte("SQLite format 3\x00")):
		return nil // read by SQLite in the caller's goroutine
	}
	if len(data) < ndbHeaderSize {
		return nil // go-rpmdb fails to read the ndb header
	}
	le := binary.LittleEndian
	if le.Uint32(data) == ndbHeaderMagic && le.Uint32(data[4:]) == 0 && le.Uint32(data[12:]) != 0 {
		return ndbPreflight(data)
	}
	return bdbPreflight(data)
}

var errRPMPreflight = errors.New("corrupt rpm database")

const (
	ndbHeaderMagic  = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic    = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic    = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbHeaderSize   = 32
	ndbSlotSize     = 16
	ndbBlobHeadSize = 16
)

// ndbPreflight: go-rpmdb's ndb reader prints to stdout on a bad slot, and
// on a bad blob header goes on to allocate the blob's 32-bit length while
// the caller has already stopped listening.
func ndbPreflight(data []byte) error {
	le := binary.LittleEndian
	npages := le.Uint32(data[12:])
	if npages > 2048 {
		return nil // go-rpmdb refuses
	}
	end := ndbHeaderSize + (int(npages)*4096/ndbSlotSize-2)*ndbSlotSize
	if end > len(data) {
		return nil // go-rpmdb fails to read the slots
	}
	for off := ndbHeaderSize; off < end; off += ndbSlotSize {
		slot := data[off:]
		if le.Uint32(slot) != ndbSlotMagic {
			return fmt.Errorf("%w: ndb slot %d: bad magic", errRPMPreflight, (off-ndbHeaderSize)/ndbSlotSize)
		}
		pkg := le.Uint32(slot[4:])
		if pkg == 0 {
			continue
		}
		blob := int64(le.Uint32(slot[8:])) * ndbBlobHeadSize
		if blob+ndbBlobHeadSize > int64(len(data)) {
			return fmt.Errorf("%w: ndb package %d: blob outside the file", errRPMPreflight, pkg)
		}
		head := data[blob:]
		if le.Uint32(head) != ndbBlobMagic || le.Uint32(head[4:]) != pkg {
			return fmt.Errorf("%w: ndb package %d: bad blob header", errRPMPreflight, pkg)
		}
		n := int64(le.Uint32(head[12:]))
		if blob+ndbBlobHeadSize+n > int64(len(data)) {
			return fmt.Errorf("%w: ndb package %d: blob runs past the end of the file", errRPMPreflight, pkg)
		}
		if err := rpmHeaderPreflight(data[blob+ndbBlobHeadSize:], n); err != nil {
			return fmt.Errorf("%w: ndb package %d: %w", errRPMPreflight, pkg, err)
		}
	}
	return nil
}

const (
	bdbHashMagic      = 0x00061561
	bdbHashMagicBE    = 0x61150600
	bdbPageHeaderSize = 26
	bdbOffPageSize    = 12
	bdbTypeHashOld    = 2
	bdbTypeOffPage    = 3
	bdbTypeOverflow   = 7
	bdbTypeHash       = 13
)

// bdbPreflight: go-rpmdb's Berkeley DB reader indexes pages with offsets
// taken from the file unchecked (panics), loops forever on an overflow
// chain that reaches a page of another type, and follows chains that loop
// until memory runs out.
func bdbPreflight(data []byte) error {
	if len(data) < 72 {
		return nil // go-rpmdb fails to parse the metadata page
	}
	var order binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint32(data[12:]) == bdbHashMagicBE {
		order = binary.BigEndian
	}
	ps := order.Uint32(data[20:])
	if order.Uint32(data[12:]) != bdbHashMagic || data[24] != 0 || data[25] != 8 ||
		ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return nil // go-rpmdb refuses
	}
	npages := uint32(len(data) / int(ps))
	last := order.Uint32(data[32:])
	// go-rpmdb reads pages 0..last in sequence and stops at the end of file.
	for pn := uint32(0); pn < npages && pn <= last; pn++ {
		page := data[int(pn)*int(ps):][:ps]
		if t := page[25]; t != bdbTypeHash && t != bdbTypeHashOld {
			continue
		}
		entries := int(order.Uint16(page[20:]))
		if entries%2 != 0 {
			return nil // go-rpmdb refuses
		}
		// go-rpmdb computes 26+2*entries in uint16.
		if bdbPageHeaderSize+2*entries > int(ps) || bdbPageHeaderSize+2*entries > 0xffff {
			return fmt.Errorf("%w: page %d: index past the page", errRPMPreflight, pn)
		}
		for i := 1; i < entries; i += 2 {
			v := int(order.Uint16(page[bdbPageHeaderSize+2*i:]))
			if v >= int(ps) {
				return fmt.Errorf("%w: page %d: item %d outside the page", errRPMPreflight, pn, i)
			}
			if page[v] != bdbTypeOffPage {
				continue
			}
			if v+bdbOffPageSize > int(ps) || v+bdbOffPageSize > 0xffff {
				return fmt.Errorf("%w: page %d: item %d outside the page", errRPMPreflight, pn, i)
			}
			if err := bdbChainPreflight(data, ps, npages, order.Uint32(page[v+4:]), order); err != nil {
				return fmt.Errorf("%w: page %d item %d: %w", errRPMPreflight, pn, i, err)
			}
		}
	}
	return nil
}

// bdbChainPreflight follows an overflow chain the way go-rpmdb does.
func bdbChainPreflight(data []byte, ps, npages, cur uint32, order binary.ByteOrder) error {
	var first []byte
	total := 0
	for steps := uint32(0); cur != 0; steps++ {
		if steps >= npages {
			return errors.New("overflow chain loops")
		}
		start := int64(ps * cur) // go-rpmdb multiplies in uint32
		if start+int64(ps) > int64(len(data)) {
			return nil // go-rpmdb fails to read the page
		}
		page := data[start:][:ps]
		if page[25] != bdbTypeOverflow {
			return fmt.Errorf("overflow chain reaches page %d of type %d", cur, page[25])
		}
		next := order.Uint32(page[16:])
		n := int(ps) - bdbPageHeaderSize
		if next == 0 {
			n = int(order.Uint16(page[22:])) // go-rpmdb adds 26 in uint16
			if bdbPageHeaderSize+n > int(ps) || bdbPageHeaderSize+n > 0xffff {
				return fmt.Errorf("overflow page %d: length past the page", cur)
			}
		}
		if first == nil {
			first = page[bdbPageHeaderSize:]
		}
		total += n
		cur = next
	}
	if first == nil {
		return nil
	}
	return rpmHeaderPreflight(first, int64(total))
}

// rpmHeaderPreflight checks that a header's index count, from which
// go-rpmdb allocates before checking anything else, fits the n bytes it
// comes in; b holds at least the header's first bytes.
func rpmHeaderPreflight(b []byte, n int64) error {
	if n < 8 || len(b) < 4 {
		return nil // go-rpmdb fails to read the counts
	}
	il := int64(int32(binary.BigEndian.Uint32(b)))
	if il >= 1 && 8+16*il > n {
		return fmt.Errorf("header claims %d index entries in %d bytes", il, n)
	}
	return nil
}
