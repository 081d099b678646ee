package k8saudit

import "encoding/binary"

// strCache hands out one string per recurring value (user agents, users,
// groups, namespaces, annotation keys and values…) instead of allocating
// it again for every event. It is direct-mapped: a slot holds the last
// string hashed to it, so memory is bounded (strCacheSlots strings of at
// most strCacheMaxLen bytes) and a miss costs one allocation, as without
// it. Not safe for concurrent use.
type strCache struct {
	slots [strCacheSlots]string
}

const (
	strCacheBits   = 10
	strCacheSlots  = 1 << strCacheBits
	strCacheMaxLen = 256 // longer values rarely repeat and would pin memory
)

func newStrCache() *strCache { return &strCache{} }

// slotOf hashes the length and the first and last eight bytes: recurring
// values differ there (node and controller names end differently), and a
// full hash of every user agent costs more than the table saves. A
// collision only costs a miss; crafted input can at worst make every
// lookup miss, which is the cost without the table.
func slotOf(b []byte) uint64 {
	var head, tail uint64
	if len(b) >= 8 {
		head = binary.LittleEndian.Uint64(b)
		tail = binary.LittleEndian.Uint64(b[len(b)-8:])
	} else {
		for i, c := range b {
			head |= uint64(c) << (8 * i)
		}
	}
	h := (head ^ uint64(len(b))*0x9e3779b97f4a7c15) * 0xff51afd7ed558ccd
	h ^= tail * 0xc4ceb9fe1a85ec53
	h ^= h >> 29
	return (h * 0x9e3779b97f4a7c15) >> (64 - strCacheBits)
}

// get returns b as a string, the cached one when b was seen recently.
func (c *strCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > strCacheMaxLen {
		return string(b)
	}
	slot := &c.slots[slotOf(b)]
	if *slot == string(b) { // compares without allocating
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}
