package nl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Nexthop is a nexthop object (RTM_NEWNEXTHOP, net/ipv4/nexthop.c, 5.3)
// as the kernel lists it: one next hop (a gateway and device, or a
// device), a blackhole, or a group of other objects.
type Nexthop struct {
	ID      uint32
	Family  int // 4 or 6; 0 for a group (the kernel sends AF_UNSPEC)
	Gateway netip.Addr
	Ifindex int
	// Blackhole drops what the routes using it match (NHA_BLACKHOLE).
	Blackhole bool
	// Group lists a group's members in order (nil: not a group).
	Group []GroupMember
	// FDB marks a nexthop for the bridge FDB (NHA_FDB, 5.8).
	FDB bool
}

// GroupMember is one entry of a nexthop group (struct nexthop_grp).
type GroupMember struct {
	ID uint32
	// Weight is the wire weight plus one (1 to 256).
	Weight int
}

// nhmsgLen is the size of struct nhmsg (include/uapi/linux/nexthop.h).
const nhmsgLen = 8

// nhaFDB is NHA_FDB (include/uapi/linux/nexthop.h, 5.8), which x/sys/unix
// does not name.
const nhaFDB = 11

// EncodeNexthop builds the body of an RTM_NEWNEXTHOP message for n: the
// inverse of rtm_to_nh_config() (net/ipv4/nexthop.c, 6.12), which
// refuses a group of any family but AF_UNSPEC ("Invalid family for
// group") and a single next hop of AF_UNSPEC.
func EncodeNexthop(n *Nexthop) ([]byte, error) {
	b := make([]byte, nhmsgLen, 64)
	switch {
	case len(n.Group) > 0:
		b[0] = unix.AF_UNSPEC
	case n.Family == 4:
		b[0] = unix.AF_INET
	case n.Family == 6:
		b[0] = unix.AF_INET6
	default:
		return nil, fmt.Errorf("nexthop %d: family %d", n.ID, n.Family)
	}
	b = appendU32Attr(b, unix.NHA_ID, n.ID)
	switch {
	case len(n.Group) > 0:
		var g []byte
		for _, m := range n.Group {
			w := m.Weight
			if w == 0 {
				w = 1
			}
			if w < 1 || w > 256 {
				return nil, fmt.Errorf("nexthop group %d: member %d weight %d: want 1 to 256", n.ID, m.ID, m.Weight)
			}
			g = binary.NativeEndian.AppendUint32(g, m.ID)
			g = append(g, uint8(w-1), 0, 0, 0)
		}
		b = appendAttr(b, unix.NHA_GROUP, g)
	case n.Blackhole:
		b = appendAttr(b, unix.NHA_BLACKHOLE, nil)
	default:
		if n.Ifindex != 0 {
			b = appendU32Attr(b, unix.NHA_OIF, uint32(n.Ifindex))
		}
		if n.Gateway.IsValid() {
			if n.Gateway.Is4() != (n.Family == 4) {
				return nil, fmt.Errorf("nexthop %d: gateway %s is not of family %d", n.ID, n.Gateway, n.Family)
			}
			b = appendAttr(b, unix.NHA_GATEWAY, n.Gateway.AsSlice())
		}
	}
	return b, nil
}

// EncodeNexthopID builds the body of an RTM_DELNEXTHOP (or a
// non-dump RTM_GETNEXTHOP) of object id.
func EncodeNexthopID(id uint32) []byte {
	return appendU32Attr(make([]byte, nhmsgLen, nhmsgLen+8), unix.NHA_ID, id)
}

// NexthopDumpRequest is the body of an RTM_GETNEXTHOP dump of every
// nexthop object.
func NexthopDumpRequest() []byte { return make([]byte, nhmsgLen) }

// DecodeNexthop decodes the body of an RTM_NEWNEXTHOP or RTM_DELNEXTHOP
// message as nh_fill_node() (net/ipv4/nexthop.c, 6.12) fills it: the
// nhmsg (nh_family AF_UNSPEC for a group), NHA_ID, and NHA_GROUP, or
// NHA_BLACKHOLE, or NHA_OIF and NHA_GATEWAY (NHA_FDB, NHA_GROUP_TYPE,
// NHA_OP_FLAGS and encapsulations are not read but NHA_FDB's flag).
func DecodeNexthop(b []byte) (Nexthop, error) {
	var n Nexthop
	if len(b) < nhmsgLen {
		return n, fmt.Errorf("nexthop message of %d bytes: an nhmsg is %d", len(b), nhmsgLen)
	}
	n.Family = familyOf(b[0])
	var bad error
	fail := func(format string, args ...any) {
		if bad == nil {
			bad = fmt.Errorf(format, args...)
		}
	}
	err := attrs(b[nhmsgLen:], func(t uint16, v []byte) {
		switch t {
		case unix.NHA_ID:
			if len(v) != 4 {
				fail("NHA_ID of %d bytes", len(v))
			}
			n.ID = u32(v)
		case unix.NHA_OIF:
			if len(v) != 4 {
				fail("NHA_OIF of %d bytes", len(v))
			}
			n.Ifindex = int(int32(u32(v)))
		case unix.NHA_GATEWAY:
			if n.Gateway = addrFrom(v); !n.Gateway.IsValid() {
				fail("NHA_GATEWAY of %d bytes", len(v))
			}
		case unix.NHA_BLACKHOLE:
			n.Blackhole = true
		case nhaFDB:
			n.FDB = true
		case unix.NHA_GROUP:
			if len(v) == 0 || len(v)%8 != 0 {
				fail("NHA_GROUP of %d bytes: want a positive multiple of 8 (struct nexthop_grp)", len(v))
				return
			}
			for i := 0; i+8 <= len(v); i += 8 {
				n.Group = append(n.Group, GroupMember{ID: binary.NativeEndian.Uint32(v[i:]), Weight: int(v[i+4]) + 1})
			}
		}
	})
	if err == nil {
		err = bad
	}
	if err == nil && n.ID == 0 {
		err = fmt.Errorf("no NHA_ID")
	}
	if err != nil {
		return n, fmt.Errorf("decode nexthop: %w", err)
	}
	return n, nil
}

// appendAttr appends one rtattr with payload v, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	return appendAttr(b, typ, binary.NativeEndian.AppendUint32(nil, v))
}
