package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Hop is one next hop of a multipath route (struct rtnexthop and its
// attributes).
type Hop struct {
	Ifindex int
	Gateway netip.Addr
	// Weight is rtnh_hops + 1: 1 to 256.
	Weight int
	// Flags are RTNH_F_* (RTNH_F_ONLINK).
	Flags uint8
}

// Route is a route message as the kernel sends and takes it.
type Route struct {
	Family   uint8 // AF_INET, AF_INET6
	Dst      netip.Prefix
	Table    uint32
	Protocol uint8
	Scope    uint8
	Type     uint8
	Flags    uint32 // rtm_flags: RTM_F_CLONED, RTNH_F_ONLINK for one hop
	Priority uint32
	// HasPriority is false when the message carried no RTA_PRIORITY.
	HasPriority bool
	Prefsrc     netip.Addr
	// One next hop: Oif and Gateway. Several: Multipath.
	Oif       int
	Gateway   netip.Addr
	Multipath []Hop
	// NHID is the nexthop object the route uses (RTA_NH_ID), 0 for none.
	NHID uint32
	// Error is rta_cacheinfo's rta_error (a negative errno).
	Error int32
}

func addrBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// AppendRoute appends the body (rtmsg and attributes) of a route
// message for r to b. Addresses must be of r's family, except a
// gateway, which for a single hop of an IPv4 route may be IPv6 (RTA_VIA).
func AppendRoute(b []byte, r *Route) ([]byte, error) {
	want4 := r.Family == unix.AF_INET
	if r.Family != unix.AF_INET && r.Family != unix.AF_INET6 {
		return b, fmt.Errorf("route %s: family %d", r.Dst, r.Family)
	}
	if !r.Dst.IsValid() || r.Dst.Addr().Is4() != want4 {
		return b, fmt.Errorf("route %v: destination not of family %d", r.Dst, r.Family)
	}
	table := r.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	tb := uint8(unix.RT_TABLE_UNSPEC)
	if table < 256 {
		tb = uint8(table)
	}
	b = append(b, r.Family, uint8(r.Dst.Bits()), 0, 0, tb, r.Protocol, r.Scope, r.Type)
	b = binary.NativeEndian.AppendUint32(b, r.Flags)
	b = appendAttr(b, unix.RTA_DST, addrBytes(r.Dst.Addr()))
	b = appendU32Attr(b, unix.RTA_TABLE, table)
	if r.HasPriority {
		b = appendU32Attr(b, unix.RTA_PRIORITY, r.Priority)
	}
	if r.Prefsrc.IsValid() {
		if r.Prefsrc.Is4() != want4 {
			return b, fmt.Errorf("route %s: source %s not of its family", r.Dst, r.Prefsrc)
		}
		b = appendAttr(b, unix.RTA_PREFSRC, addrBytes(r.Prefsrc))
	}
	if r.NHID != 0 {
		b = appendU32Attr(b, rtaNHID, r.NHID)
	}
	if r.Oif != 0 {
		b = appendU32Attr(b, unix.RTA_OIF, uint32(r.Oif))
	}
	if r.Gateway.IsValid() {
		b = appendGateway(b, r.Family, r.Gateway)
	}
	if len(r.Multipath) > 0 {
		var mp []byte
		for _, h := range r.Multipath {
			if h.Weight < 1 || h.Weight > 256 {
				return b, fmt.Errorf("route %s: next hop weight %d: want 1 to 256", r.Dst, h.Weight)
			}
			off := len(mp)
			mp = append(mp, make([]byte, rtnhLen)...)
			if h.Gateway.IsValid() {
				mp = appendGateway(mp, r.Family, h.Gateway)
			}
			binary.NativeEndian.PutUint16(mp[off:], uint16(len(mp)-off))
			mp[off+2] = h.Flags
			mp[off+3] = uint8(h.Weight - 1)
			binary.NativeEndian.PutUint32(mp[off+4:], uint32(h.Ifindex))
		}
		b = appendAttr(b, unix.RTA_MULTIPATH, mp)
	}
	return b, nil
}

// appendGateway writes RTA_GATEWAY, or RTA_VIA for an IPv6 gateway of an
// IPv4 route (RFC 5549, 5.2).
func appendGateway(b []byte, family uint8, gw netip.Addr) []byte {
	if family == unix.AF_INET && gw.Is6() {
		v := binary.NativeEndian.AppendUint16(nil, unix.AF_INET6)
		return appendAttr(b, unix.RTA_VIA, append(v, addrBytes(gw)...))
	}
	return appendAttr(b, unix.RTA_GATEWAY, addrBytes(gw))
}

func addrOf(v []byte) (netip.Addr, error) {
	a, ok := netip.AddrFromSlice(v)
	if !ok {
		return a, fmt.Errorf("address of %d bytes", len(v))
	}
	return a, nil
}

func viaOf(v []byte) (netip.Addr, error) {
	if len(v) < 2 {
		return netip.Addr{}, fmt.Errorf("RTA_VIA of %d bytes", len(v))
	}
	return addrOf(v[2:])
}

// ParseRoute decodes the body of an RTM_NEWROUTE message.
func ParseRoute(b []byte) (Route, error) {
	var r Route
	if len(b) < rtmsgLen {
		return r, fmt.Errorf("route message of %d bytes", len(b))
	}
	r.Family = b[0]
	dstLen := int(b[1])
	r.Table = uint32(b[4])
	r.Protocol, r.Scope, r.Type = b[5], b[6], b[7]
	r.Flags = binary.NativeEndian.Uint32(b[8:12])
	var dst netip.Addr
	err := attrs(b[rtmsgLen:], func(t uint16, v []byte) error {
		var err error
		switch t {
		case unix.RTA_DST:
			dst, err = addrOf(v)
		case unix.RTA_TABLE:
			r.Table, err = u32(v)
		case unix.RTA_PRIORITY:
			r.Priority, err = u32(v)
			r.HasPriority = true
		case unix.RTA_PREFSRC:
			r.Prefsrc, err = addrOf(v)
		case unix.RTA_OIF:
			var x uint32
			x, err = u32(v)
			r.Oif = int(x)
		case unix.RTA_GATEWAY:
			r.Gateway, err = addrOf(v)
		case unix.RTA_VIA:
			r.Gateway, err = viaOf(v)
		case rtaNHID:
			r.NHID, err = u32(v)
		case unix.RTA_MULTIPATH:
			r.Multipath, err = parseMultipath(v)
		case unix.RTA_CACHEINFO:
			if len(v) >= 16 {
				r.Error = int32(binary.NativeEndian.Uint32(v[12:16]))
			}
		}
		if err != nil {
			return fmt.Errorf("route attribute %d: %w", t, err)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	switch r.Family {
	case unix.AF_INET:
		if !dst.IsValid() {
			dst = netip.IPv4Unspecified()
		}
	case unix.AF_INET6:
		if !dst.IsValid() {
			dst = netip.IPv6Unspecified()
		}
	default:
		return r, nil // another family: the caller skips it
	}
	p, err := dst.Prefix(dstLen)
	if err != nil {
		return r, fmt.Errorf("route destination %s/%d: %w", dst, dstLen, err)
	}
	r.Dst = p
	return r, nil
}

func parseMultipath(v []byte) ([]Hop, error) {
	var out []Hop
	for len(v) > 0 {
		if len(v) < rtnhLen {
			return nil, fmt.Errorf("rtnexthop: %d bytes left", len(v))
		}
		l := int(binary.NativeEndian.Uint16(v[0:2]))
		if l < rtnhLen || l > len(v) {
			return nil, fmt.Errorf("rtnexthop length %d with %d bytes left", l, len(v))
		}
		h := Hop{Flags: v[2], Weight: int(v[3]) + 1, Ifindex: int(binary.NativeEndian.Uint32(v[4:8]))}
		err := attrs(v[rtnhLen:l], func(t uint16, w []byte) error {
			var err error
			switch t {
			case unix.RTA_GATEWAY:
				h.Gateway, err = addrOf(w)
			case unix.RTA_VIA:
				h.Gateway, err = viaOf(w)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, h)
		if align4(l) >= len(v) {
			break
		}
		v = v[align4(l):]
	}
	return out, nil
}

// RouteDumpRequest is the body of an RTM_GETROUTE dump of family af;
// cloned asks for the IPv6 route cache (RTM_F_CLONED).
func RouteDumpRequest(af uint8, cloned bool) []byte {
	b := make([]byte, rtmsgLen)
	b[0] = af
	if cloned {
		binary.NativeEndian.PutUint32(b[8:12], unix.RTM_F_CLONED)
	}
	return b
}
