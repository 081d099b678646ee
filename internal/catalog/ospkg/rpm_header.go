package ospkg

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// rpmHeader holds the tags of an rpm header the catalog uses.
type rpmHeader struct {
	name, version, release, arch string
	epoch                        *int
	sourceRPM, license, vendor   string
	modularityLabel              string
}

// Header tags and types, from rpm's include/rpm/rpmtag.h.
const (
	rpmTagName            = 1000
	rpmTagVersion         = 1001
	rpmTagRelease         = 1002
	rpmTagEpoch           = 1003
	rpmTagVendor          = 1011
	rpmTagLicense         = 1014
	rpmTagArch            = 1022
	rpmTagSourceRPM       = 1044
	rpmTagModularityLabel = 5096

	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9

	// Limits rpm itself enforces on a header (lib/header.c).
	rpmMaxIndexEntries = 0xffff
	rpmMaxDataLen      = 256 << 20
)

// decodeRPMHeader reads an rpm header blob as the databases store it: no
// lead or magic, just the big-endian index count and data length, the index
// entries (tag, type, offset, count) and the data store. Tags may repeat (a
// "dribble" entry after the immutable region); the last one wins, as in rpm.
func decodeRPMHeader(b []byte) (*rpmHeader, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("header of %d bytes is too short", len(b))
	}
	il := binary.BigEndian.Uint32(b[0:4])
	dl := binary.BigEndian.Uint32(b[4:8])
	if il == 0 || il > rpmMaxIndexEntries {
		return nil, fmt.Errorf("bad index entry count %d", il)
	}
	if dl > rpmMaxDataLen {
		return nil, fmt.Errorf("bad data length %d", dl)
	}
	dataStart := 8 + 16*uint64(il)
	dataEnd := dataStart + uint64(dl)
	if dataEnd > uint64(len(b)) {
		return nil, fmt.Errorf("header claims %d bytes, has %d", dataEnd, len(b))
	}
	store := b[dataStart:dataEnd]
	h := &rpmHeader{}
	for i := uint64(0); i < uint64(il); i++ {
		e := b[8+16*i : 8+16*i+16]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		var dst *string
		switch tag {
		case rpmTagName:
			dst = &h.name
		case rpmTagVersion:
			dst = &h.version
		case rpmTagRelease:
			dst = &h.release
		case rpmTagArch:
			dst = &h.arch
		case rpmTagSourceRPM:
			dst = &h.sourceRPM
		case rpmTagLicense:
			dst = &h.license
		case rpmTagVendor:
			dst = &h.vendor
		case rpmTagModularityLabel:
			dst = &h.modularityLabel
		case rpmTagEpoch:
			if typ != rpmTypeInt32 || uint64(off)+4 > uint64(len(store)) {
				return nil, fmt.Errorf("bad epoch entry (type %d, offset %d)", typ, off)
			}
			e := int(int32(binary.BigEndian.Uint32(store[off : off+4])))
			h.epoch = &e
			continue
		default:
			continue
		}
		switch typ {
		case rpmTypeString, rpmTypeStringArray, rpmTypeI18NString:
		default:
			return nil, fmt.Errorf("tag %d has type %d, want a string", tag, typ)
		}
		if uint64(off) >= uint64(len(store)) {
			return nil, fmt.Errorf("tag %d offset %d outside the %d-byte data store", tag, off, len(store))
		}
		s := store[off:]
		end := bytes.IndexByte(s, 0)
		if end < 0 {
			return nil, fmt.Errorf("tag %d string is not terminated", tag)
		}
		v := string(s[:end])
		if v == "(none)" {
			v = ""
		}
		*dst = v
	}
	return h, nil
}
