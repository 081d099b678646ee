package ospkg

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Berkeley DB hash format constants, from libdb's src/dbinc/db_page.h.
const (
	bdbHashMagic      = 0x061561
	bdbPageHeaderSize = 26
	bdbTypeHashUnsort = 2  // P_HASH_UNSORTED, hash pages before 4.6
	bdbTypeOverflow   = 7  // P_OVERFLOW
	bdbTypeHashMeta   = 8  // P_HASHMETA
	bdbTypeHash       = 13 // P_HASH
	bdbItemOffPage    = 3  // H_OFFPAGE: the value lives in an overflow chain
	bdbOffPageSize    = 12
)

// readBDB returns the values of an rpm Packages Berkeley DB hash database:
// every value of a hash page that points to an overflow chain (rpm headers
// are larger than a page, and the 4-byte keys are never off-page). All
// offsets are bounds-checked and chains are bounded by the page count, so a
// corrupt file yields an error, not a panic or a loop.
func readBDB(ctx context.Context, data []byte) ([][]byte, error) {
	if len(data) < 512 {
		return nil, fmt.Errorf("berkeley db: %w: %d bytes", errNotRPMDB, len(data))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch {
	case binary.LittleEndian.Uint32(data[12:16]) == bdbHashMagic:
	case binary.BigEndian.Uint32(data[12:16]) == bdbHashMagic:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("berkeley db: %w: no hash magic", errNotRPMDB)
	}
	pageSize := bo.Uint32(data[20:24])
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("berkeley db: bad page size %d", pageSize)
	}
	if data[24] != 0 {
		return nil, fmt.Errorf("berkeley db: encrypted databases are not supported")
	}
	if data[25] != bdbTypeHashMeta {
		return nil, fmt.Errorf("berkeley db: page 0 has type %d, want hash metadata", data[25])
	}
	ps := uint64(pageSize)
	nPages := uint64(len(data)) / ps
	if last := uint64(bo.Uint32(data[32:36])); last+1 < nPages {
		nPages = last + 1
	}
	page := func(n uint64) []byte { return data[n*ps : (n+1)*ps] }

	var (
		blobs []byte // backing store for all values, so the total is capped
		spans [][2]int
	)
	for n := uint64(1); n < nPages; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p := page(n)
		if t := p[25]; t != bdbTypeHash && t != bdbTypeHashUnsort {
			continue
		}
		entries := uint64(bo.Uint16(p[20:22]))
		if entries%2 != 0 || bdbPageHeaderSize+2*entries > ps {
			return nil, fmt.Errorf("berkeley db: page %d: bad entry count %d", n, entries)
		}
		// Entries alternate key, value; only values matter.
		for i := uint64(1); i < entries; i += 2 {
			off := uint64(bo.Uint16(p[bdbPageHeaderSize+2*i:]))
			if off >= ps {
				return nil, fmt.Errorf("berkeley db: page %d: item offset %d out of range", n, off)
			}
			if p[off] != bdbItemOffPage {
				continue
			}
			if off+bdbOffPageSize > ps {
				return nil, fmt.Errorf("berkeley db: page %d: off-page item at %d out of range", n, off)
			}
			next := uint64(bo.Uint32(p[off+4 : off+8]))
			total := uint64(bo.Uint32(p[off+8 : off+12]))
			if total > uint64(len(data)) {
				return nil, fmt.Errorf("berkeley db: page %d: item length %d exceeds the file", n, total)
			}
			start := len(blobs)
			for hops := uint64(0); next != 0; hops++ {
				if next >= nPages || hops >= nPages {
					return nil, fmt.Errorf("berkeley db: page %d: broken overflow chain at page %d", n, next)
				}
				op := page(next)
				if op[25] != bdbTypeOverflow {
					return nil, fmt.Errorf("berkeley db: page %d is type %d, want overflow", next, op[25])
				}
				// On overflow pages hf_offset holds the length of the data.
				l := uint64(bo.Uint16(op[22:24]))
				if bdbPageHeaderSize+l > ps {
					return nil, fmt.Errorf("berkeley db: overflow page %d: length %d out of range", next, l)
				}
				blobs = append(blobs, op[bdbPageHeaderSize:bdbPageHeaderSize+l]...)
				if uint64(len(blobs)) > uint64(len(data)) {
					return nil, fmt.Errorf("berkeley db: values exceed the file size (overflow pages shared)")
				}
				next = uint64(bo.Uint32(op[16:20]))
			}
			if got := uint64(len(blobs) - start); got != total {
				return nil, fmt.Errorf("berkeley db: page %d: item has %d bytes, header says %d", n, got, total)
			}
			spans = append(spans, [2]int{start, len(blobs)})
		}
	}
	out := make([][]byte, len(spans))
	for i, s := range spans {
		out[i] = blobs[s[0]:s[1]:s[1]]
	}
	return out, nil
}
