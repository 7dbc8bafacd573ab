// Package rtnl is the rtnetlink transport of the route writer: requests
// go many to a sendmsg, each asks for its own acknowledgement, and every
// acknowledgement is matched to its request by sequence number, with the
// kernel's extended-ACK text kept in the error; dumps are read with the
// kernel's NLM_F_DUMP_INTR mark reported. It also encodes and decodes the
// messages the writer needs: routes with several next hops or a nexthop
// object (RTA_MULTIPATH, RTA_NH_ID), nexthop objects and groups
// (RTM_NEWNEXTHOP, include/uapi/linux/nexthop.h), and links.
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Message types and attributes x/sys/unix does not name.
const (
	rtaNHID = 30 // RTA_NH_ID (include/uapi/linux/rtnetlink.h, 5.3)

	nhaID        = 1 // NHA_ID
	nhaGroup     = 2 // NHA_GROUP
	nhaGroupType = 3 // NHA_GROUP_TYPE
	nhaBlackhole = 4 // NHA_BLACKHOLE
	nhaOIF       = 5 // NHA_OIF
	nhaGateway   = 6 // NHA_GATEWAY
	nhaFDB       = 11

	nlmsgerrAttrMsg  = 1 // NLMSGERR_ATTR_MSG
	nlmsgerrAttrOffs = 2 // NLMSGERR_ATTR_OFFS
)

const (
	hdrLen    = unix.SizeofNlMsghdr // 16
	rtmsgLen  = unix.SizeofRtMsg    // 12
	nhmsgLen  = 8                   // struct nhmsg
	rtnhLen   = unix.SizeofRtNexthop
	nlaHdrLen = 4
)

func align4(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one rtattr with payload v.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(nlaHdrLen+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	var p [4]byte
	binary.NativeEndian.PutUint32(p[:], v)
	return appendAttr(b, typ, p[:])
}

// attrs calls fn for each rtattr in b (the nested flag cleared from the
// type); a malformed length is an error.
func attrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < nlaHdrLen {
			return fmt.Errorf("attribute header: %d bytes left", len(b))
		}
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & 0x3fff
		if l < nlaHdrLen || l > len(b) {
			return fmt.Errorf("attribute type %d: length %d with %d bytes left", typ, l, len(b))
		}
		if err := fn(typ, b[nlaHdrLen:l]); err != nil {
			return err
		}
		if align4(l) >= len(b) {
			return nil
		}
		b = b[align4(l):]
	}
	return nil
}

func u32(v []byte) (uint32, error) {
	if len(v) < 4 {
		return 0, fmt.Errorf("want 4 bytes, got %d", len(v))
	}
	return binary.NativeEndian.Uint32(v), nil
}

// KernelError is a request the kernel refused: the errno of its
// NLMSG_ERROR acknowledgement and, when the kernel said more (extended
// ACK, NETLINK_EXT_ACK), its message.
type KernelError struct {
	Errno syscall.Errno
	// Message is the kernel's extended-ACK text ("Nexthop id does not
	// exist"), "" when it gave none.
	Message string
	// Offset is where in the request the kernel found the fault
	// (NLMSGERR_ATTR_OFFS), 0 when it did not say.
	Offset uint32
}

func (e *KernelError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%v (kernel: %s)", e.Errno, e.Message)
	}
	return e.Errno.Error()
}

// Unwrap returns the errno, for errors.Is(err, unix.EPERM).
func (e *KernelError) Unwrap() error { return e.Errno }

// ack is one decoded NLMSG_ERROR message: seq and, when refused, err.
type ack struct {
	seq uint32
	err *KernelError
}

var errNotAck = errors.New("not an acknowledgement")

// parseAck decodes one netlink message that should be an NLMSG_ERROR
// (an error, or 0 for an ACK) sent with NETLINK_CAP_ACK: struct
// nlmsgerr with the request's header only, then, with NLM_F_ACK_TLVS,
// the extended-ACK attributes (netlink_ack(), net/netlink/af_netlink.c).
func parseAck(m []byte) (ack, error) {
	if len(m) < hdrLen {
		return ack{}, fmt.Errorf("message of %d bytes", len(m))
	}
	typ := binary.NativeEndian.Uint16(m[4:6])
	flags := binary.NativeEndian.Uint16(m[6:8])
	a := ack{seq: binary.NativeEndian.Uint32(m[8:12])}
	if typ != unix.NLMSG_ERROR {
		return a, fmt.Errorf("%w: message type %d, sequence %d", errNotAck, typ, a.seq)
	}
	body := m[hdrLen:]
	if len(body) < 4+hdrLen {
		return a, fmt.Errorf("acknowledgement of sequence %d: %d bytes", a.seq, len(body))
	}
	code := int32(binary.NativeEndian.Uint32(body[0:4]))
	if echoed := binary.NativeEndian.Uint32(body[4+8 : 4+12]); echoed != a.seq {
		return a, fmt.Errorf("acknowledgement of sequence %d echoes a request of sequence %d", a.seq, echoed)
	}
	if code == 0 {
		return a, nil
	}
	a.err = &KernelError{Errno: syscall.Errno(-code)}
	if flags&unix.NLM_F_ACK_TLVS != 0 {
		// With NETLINK_CAP_ACK the request's payload is not echoed: the
		// attributes follow its header.
		_ = attrs(body[4+hdrLen:], func(t uint16, v []byte) error {
			switch t {
			case nlmsgerrAttrMsg:
				for i, c := range v {
					if c == 0 {
						v = v[:i]
						break
					}
				}
				a.err.Message = string(v)
			case nlmsgerrAttrOffs:
				a.err.Offset, _ = u32(v)
			}
			return nil
		})
	}
	return a, nil
}

// header writes a netlink header for a message of total length l.
func putHeader(b []byte, l int, typ, flags uint16, seq, pid uint32) {
	binary.NativeEndian.PutUint32(b[0:4], uint32(l))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	binary.NativeEndian.PutUint16(b[6:8], flags)
	binary.NativeEndian.PutUint32(b[8:12], seq)
	binary.NativeEndian.PutUint32(b[12:16], pid)
}

// messages splits a datagram into its netlink messages.
func messages(b []byte, fn func(m []byte) error) error {
	for len(b) >= hdrLen {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l < hdrLen || l > len(b) {
			return fmt.Errorf("netlink message length %d with %d bytes left", l, len(b))
		}
		if err := fn(b[:l]); err != nil {
			return err
		}
		if align4(l) >= len(b) {
			return nil
		}
		b = b[align4(l):]
	}
	return nil
}
