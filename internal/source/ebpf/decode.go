package ebpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

// Record kinds (EV_* in bpf/sensor.c).
const (
	recExec    = 1
	recConnect = 2
	recOpen    = 3
	recNS      = 4
)

// Layout of struct event in bpf/sensor.c; TestLayout checks it against
// the bpf2go-generated sensorEvent.
const (
	offType     = 0
	offPID      = 4
	offPPID     = 12
	offUID      = 16
	offEUID     = 20
	offCgroupID = 24
	offTS       = 32
	offComm     = 40
	offPComm    = 56
	offFlags    = 72
	offRet      = 76
	offFamily   = 80
	offPort     = 82
	offArgsLen  = 84
	offAddr     = 88
	offPath     = 104
	offArgs     = 360
	pathLen     = 256
	argsLen     = 1024
	recordSize  = offArgs + argsLen
	maxPrefixes = 16
	prefixLen   = 60
	afInet      = 2
	afInet6     = 10
	sockStream  = 1
	sockDgram   = 2
)

// record is one decoded ring buffer record.
type record struct {
	Type, PID, PPID, UID, EUID uint32
	CgroupID, TS               uint64
	Comm, PComm, Path          string
	Flags                      uint32
	Ret                        int32
	Proto                      string
	Addr                       netip.Addr
	Port                       uint16
	Args                       []string
}

// decode parses one record. The kernel writes them, but a short or
// inconsistent record (a program/loader mismatch) is an error, not a panic.
func decode(b []byte) (record, error) {
	if len(b) < recordSize {
		return record{}, fmt.Errorf("record of %d bytes, want %d", len(b), recordSize)
	}
	le := binary.LittleEndian
	r := record{
		Type: le.Uint32(b[offType:]), PID: le.Uint32(b[offPID:]), PPID: le.Uint32(b[offPPID:]),
		UID: le.Uint32(b[offUID:]), EUID: le.Uint32(b[offEUID:]),
		CgroupID: le.Uint64(b[offCgroupID:]), TS: le.Uint64(b[offTS:]),
		Comm: cstr(b[offComm : offComm+16]), PComm: cstr(b[offPComm : offPComm+16]),
		Flags: le.Uint32(b[offFlags:]), Ret: int32(le.Uint32(b[offRet:])),
		Port: le.Uint16(b[offPort:]), Path: cstr(b[offPath : offPath+pathLen]),
	}
	switch r.Type {
	case recExec:
		n := le.Uint32(b[offArgsLen:])
		if n > argsLen {
			return r, fmt.Errorf("exec record: args length %d over %d", n, argsLen)
		}
		r.Args = procinfo.SplitArgs(b[offArgs : offArgs+int(n)])
	case recConnect:
		// Proto as /proc/net names it: tcp, udp, tcp6, udp6 (the family
		// asked for, even when a v4-mapped address is given); "ip"/"ip6"
		// for other socket types (raw, SCTP seqpacket).
		switch r.Flags {
		case sockStream:
			r.Proto = "tcp"
		case sockDgram:
			r.Proto = "udp"
		default:
			r.Proto = "ip"
		}
		switch fam := le.Uint16(b[offFamily:]); fam {
		case afInet:
			r.Addr = netip.AddrFrom4([4]byte(b[offAddr : offAddr+4]))
		case afInet6:
			r.Addr = netip.AddrFrom16([16]byte(b[offAddr : offAddr+16])).Unmap()
			r.Proto += "6"
		default:
			return r, fmt.Errorf("connect record: address family %d", fam)
		}
	case recOpen, recNS:
	default:
		return r, fmt.Errorf("record type %d", r.Type)
	}
	return r, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
