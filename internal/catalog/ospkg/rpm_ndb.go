package ospkg

import (
	"context"
	"encoding/binary"
	"fmt"
)

// ndb layout, from rpm's lib/backend/ndb/rpmpkg.c: a 32-byte header
// ("RpmP", version 0, generation, slot page count), slot pages of 16-byte
// slots ("Slot", package index, block offset, block count) filling
// SlotNPages 4 KiB pages after the header, and blobs addressed in 16-byte
// blocks, each led by a 16-byte blob header ("BlbS", package index,
// checksum, length). All integers are little-endian.
const (
	ndbHeaderMagic   = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic     = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic     = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbPageSize      = 4096
	ndbHeaderSize    = 32
	ndbSlotSize      = 16
	ndbBlockSize     = 16
	ndbBlobHeadSize  = 16
	ndbMaxSlotPages  = 2048
	ndbMaxDataLength = rpmMaxDataLen
)

func readNDB(ctx context.Context, data []byte) ([][]byte, error) {
	le := binary.LittleEndian
	if len(data) < ndbHeaderSize || le.Uint32(data[0:4]) != ndbHeaderMagic {
		return nil, fmt.Errorf("ndb: %w: no RpmP magic", errNotRPMDB)
	}
	if v := le.Uint32(data[4:8]); v != 0 {
		return nil, fmt.Errorf("ndb: unsupported version %d", v)
	}
	slotPages := uint64(le.Uint32(data[12:16]))
	if slotPages == 0 || slotPages > ndbMaxSlotPages {
		return nil, fmt.Errorf("ndb: bad slot page count %d", slotPages)
	}
	slotsEnd := slotPages * ndbPageSize
	if slotsEnd > uint64(len(data)) {
		return nil, fmt.Errorf("ndb: %d slot pages exceed the %d-byte file", slotPages, len(data))
	}
	var blobs [][]byte
	for off := uint64(ndbHeaderSize); off+ndbSlotSize <= slotsEnd; off += ndbSlotSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		slot := data[off : off+ndbSlotSize]
		if le.Uint32(slot[0:4]) != ndbSlotMagic {
			return nil, fmt.Errorf("ndb: bad slot magic at offset %d", off)
		}
		pkgIdx := le.Uint32(slot[4:8])
		if pkgIdx == 0 {
			continue // free slot
		}
		blk := uint64(le.Uint32(slot[8:12])) * ndbBlockSize
		if blk+ndbBlobHeadSize > uint64(len(data)) {
			return nil, fmt.Errorf("ndb: package %d: blob offset %d outside the file", pkgIdx, blk)
		}
		bh := data[blk : blk+ndbBlobHeadSize]
		if le.Uint32(bh[0:4]) != ndbBlobMagic {
			return nil, fmt.Errorf("ndb: package %d: bad blob magic", pkgIdx)
		}
		if got := le.Uint32(bh[4:8]); got != pkgIdx {
			return nil, fmt.Errorf("ndb: slot for package %d points at the blob of package %d", pkgIdx, got)
		}
		n := uint64(le.Uint32(bh[12:16]))
		start := blk + ndbBlobHeadSize
		if n > ndbMaxDataLength || start+n > uint64(len(data)) {
			return nil, fmt.Errorf("ndb: package %d: blob of %d bytes outside the file", pkgIdx, n)
		}
		blobs = append(blobs, data[start:start+n:start+n])
	}
	return blobs, nil
}
