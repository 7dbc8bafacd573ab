package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// GroupMember is one entry of a nexthop group (struct nexthop_grp).
type GroupMember struct {
	ID uint32
	// Weight is the wire weight plus one: 1 to 256.
	Weight int
}

// Nexthop is a nexthop object (RTM_NEWNEXTHOP, 5.3): one next hop, a
// blackhole, or a group of other objects.
type Nexthop struct {
	ID       uint32
	Family   uint8 // AF_INET, AF_INET6; AF_UNSPEC for a group
	Protocol uint8
	Flags    uint32 // RTNH_F_* (RTNH_F_ONLINK)
	Oif      int
	Gateway  netip.Addr
	// Blackhole drops what the routes using it match (NHA_BLACKHOLE).
	Blackhole bool
	Group     []GroupMember
	// FDB marks a nexthop for the bridge FDB (NHA_FDB, 5.8): not ours.
	FDB bool
}

// AppendNexthop appends the body (nhmsg and attributes) of a nexthop
// message for n: the inverse of rtm_to_nh_config() (net/ipv4/nexthop.c).
func AppendNexthop(b []byte, n *Nexthop) ([]byte, error) {
	fam := n.Family
	if len(n.Group) > 0 {
		fam = unix.AF_UNSPEC // "Invalid family for group"
	}
	b = append(b, fam, 0, n.Protocol, 0)
	b = binary.NativeEndian.AppendUint32(b, n.Flags)
	b = appendU32Attr(b, nhaID, n.ID)
	switch {
	case len(n.Group) > 0:
		var g []byte
		for _, m := range n.Group {
			if m.Weight < 1 || m.Weight > 256 {
				return b, fmt.Errorf("nexthop group %d: member %d weight %d: want 1 to 256", n.ID, m.ID, m.Weight)
			}
			g = binary.NativeEndian.AppendUint32(g, m.ID)
			g = append(g, uint8(m.Weight-1), 0, 0, 0)
		}
		b = appendAttr(b, nhaGroup, g)
	case n.Blackhole:
		b = appendAttr(b, nhaBlackhole, nil)
	default:
		if n.Oif != 0 {
			b = appendU32Attr(b, nhaOIF, uint32(n.Oif))
		}
		if n.Gateway.IsValid() {
			if (n.Family == unix.AF_INET) != n.Gateway.Is4() {
				return b, fmt.Errorf("nexthop %d: gateway %s not of family %d", n.ID, n.Gateway, n.Family)
			}
			b = appendAttr(b, nhaGateway, addrBytes(n.Gateway))
		}
	}
	return b, nil
}

// ParseNexthop decodes the body of an RTM_NEWNEXTHOP message.
func ParseNexthop(b []byte) (Nexthop, error) {
	var n Nexthop
	if len(b) < nhmsgLen {
		return n, fmt.Errorf("nexthop message of %d bytes", len(b))
	}
	n.Family, n.Protocol = b[0], b[2]
	n.Flags = binary.NativeEndian.Uint32(b[4:8])
	err := attrs(b[nhmsgLen:], func(t uint16, v []byte) error {
		var err error
		switch t {
		case nhaID:
			n.ID, err = u32(v)
		case nhaOIF:
			var x uint32
			x, err = u32(v)
			n.Oif = int(x)
		case nhaGateway:
			n.Gateway, err = addrOf(v)
		case nhaBlackhole:
			n.Blackhole = true
		case nhaFDB:
			n.FDB = true
		case nhaGroup:
			if len(v)%8 != 0 {
				return fmt.Errorf("NHA_GROUP of %d bytes", len(v))
			}
			for i := 0; i+8 <= len(v); i += 8 {
				n.Group = append(n.Group, GroupMember{ID: binary.NativeEndian.Uint32(v[i:]), Weight: int(v[i+4]) + 1})
			}
		}
		if err != nil {
			return fmt.Errorf("nexthop attribute %d: %w", t, err)
		}
		return nil
	})
	return n, err
}

// NexthopDumpRequest is the body of an RTM_GETNEXTHOP dump of every
// nexthop object.
func NexthopDumpRequest() []byte { return make([]byte, nhmsgLen) }

// NexthopIDBody is the body of an RTM_DELNEXTHOP of object id.
func NexthopIDBody(id uint32) []byte {
	b := make([]byte, nhmsgLen)
	return appendU32Attr(b, nhaID, id)
}

// Link is an interface: its index, name and state.
type Link struct {
	Index int
	Name  string
	Up    bool
}

// ParseLink decodes the body of an RTM_NEWLINK message.
func ParseLink(b []byte) (Link, error) {
	var l Link
	if len(b) < unix.SizeofIfInfomsg {
		return l, fmt.Errorf("link message of %d bytes", len(b))
	}
	l.Index = int(int32(binary.NativeEndian.Uint32(b[4:8])))
	l.Up = binary.NativeEndian.Uint32(b[8:12])&unix.IFF_UP != 0
	err := attrs(b[unix.SizeofIfInfomsg:], func(t uint16, v []byte) error {
		if t == unix.IFLA_IFNAME {
			for i, c := range v {
				if c == 0 {
					v = v[:i]
					break
				}
			}
			l.Name = string(v)
		}
		return nil
	})
	return l, err
}

// LinkDumpRequest is the body of an RTM_GETLINK dump.
func LinkDumpRequest() []byte { return make([]byte, unix.SizeofIfInfomsg) }
