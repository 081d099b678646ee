package procscan

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

// diagTCP lists this network namespace's TCP sockets that are
// established or listening through NETLINK_SOCK_DIAG: the kernel filters
// by state, where /proc/net/tcp formats every socket as text (on a busy
// host thousands in TIME_WAIT, each second). The result is what
// procinfo.FS.TCP gives for the same sockets.
func diagTCP() ([]procinfo.TCPConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	var out []procinfo.TCPConn
	buf := make([]byte, 64<<10)
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, nlmsgHdrLen+56)
		binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
		binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
		binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		binary.NativeEndian.PutUint32(req[8:], uint32(family))
		req[16], req[17] = family, unix.IPPROTO_TCP
		binary.NativeEndian.PutUint32(req[20:], 1<<procinfo.TCPEstablished|1<<procinfo.TCPListen)
		if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, fmt.Errorf("sock_diag request: %w", err)
		}
	recv:
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return nil, fmt.Errorf("sock_diag: %w", err)
			}
			conns, done, err := decodeDiag(buf[:n])
			if err != nil {
				return nil, err
			}
			out = append(out, conns...)
			if done {
				break recv
			}
		}
	}
	return out, nil
}

// decodeDiag reads one datagram of inet_diag_msg replies; done at
// NLMSG_DONE.
func decodeDiag(b []byte) (conns []procinfo.TCPConn, done bool, err error) {
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < nlmsgHdrLen || l > len(b) {
			return conns, false, fmt.Errorf("sock_diag: bad message length %d", l)
		}
		m := b[nlmsgHdrLen:l]
		b = b[min((l+3)&^3, len(b)):]
		switch typ {
		case unix.NLMSG_DONE:
			return conns, true, nil
		case unix.NLMSG_ERROR:
			code := int32(0)
			if len(m) >= 4 {
				code = int32(binary.NativeEndian.Uint32(m))
			}
			return conns, true, fmt.Errorf("sock_diag: %w", unix.Errno(-code))
		case unix.SOCK_DIAG_BY_FAMILY:
		default:
			continue
		}
		// inet_diag_msg: family, state, timer, retrans, sockid (sport,
		// dport big-endian, src[16], dst[16], if, cookie[2]), expires,
		// rqueue, wqueue, uid, inode.
		if len(m) < 72 {
			continue
		}
		var c procinfo.TCPConn
		c.State = int(m[1])
		sport, dport := binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:])
		var src, dst netip.Addr
		if m[0] == unix.AF_INET {
			src, dst = netip.AddrFrom4([4]byte(m[8:12])), netip.AddrFrom4([4]byte(m[24:28]))
		} else {
			src, dst = netip.AddrFrom16([16]byte(m[8:24])), netip.AddrFrom16([16]byte(m[24:40]))
		}
		c.Local, c.Remote = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
		c.UID = int(binary.NativeEndian.Uint32(m[64:]))
		c.Inode = uint64(binary.NativeEndian.Uint32(m[68:]))
		conns = append(conns, c)
	}
	return conns, false, nil
}
