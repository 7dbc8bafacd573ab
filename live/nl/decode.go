// Package nl reads the kernel's rtnetlink tables: it decodes route,
// neighbour, link and address messages into trace records (and encodes
// routes), dumps the tables into a View, and retries the dumps the
// kernel marks interrupted. The subscription that follows the tables'
// events is live/nl/monitor; batched route writes are live/nl/write.
package nl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/trace"
)

// userHZ is the number of clock_t ticks a second in cacheinfo fields.
const userHZ = 100

// errShort reports a message too short for its header.
var errShort = errors.New("message too short")

// attrs iterates over the rtattr list in b, calling fn for each attribute
// with its type (nested flag cleared) and payload.
func attrs(b []byte, fn func(typ uint16, v []byte)) error {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & 0x3fff
		if l < 4 || l > len(b) {
			return fmt.Errorf("attribute type %d: bad length %d of %d bytes left", typ, l, len(b))
		}
		fn(typ, b[4:l])
		al := (l + 3) &^ 3
		if al >= len(b) {
			return nil
		}
		b = b[al:]
	}
	return nil
}

// addrFrom converts a 4- or 16-byte address payload.
func addrFrom(v []byte) netip.Addr {
	a, ok := netip.AddrFromSlice(v)
	if !ok {
		return netip.Addr{}
	}
	return a
}

// familyOf maps AF_INET / AF_INET6 to 4 / 6, anything else to 0.
func familyOf(af uint8) int {
	switch af {
	case unix.AF_INET:
		return 4
	case unix.AF_INET6:
		return 6
	}
	return 0
}

// Decode turns the body of an rtnetlink message of type typ into a
// record (without Time, Dev or flags). ok is false for messages of no
// interest: other types, other families, NOARP neighbours.
func Decode(typ uint16, body []byte) (r trace.Record, ok bool, err error) {
	switch typ {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		r.Kind = trace.KindRoute
		r.Route, r.Multipath, ok, err = decodeRoute(body)
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		r.Kind = trace.KindNeigh
		r.Neigh, ok, err = decodeNeigh(body)
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		r.Kind = trace.KindLink
		r.Link, err = decodeLink(body)
		ok = err == nil
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		r.Kind = trace.KindAddr
		r.Addr, ok, err = decodeAddr(body)
	default:
		return r, false, nil
	}
	switch typ {
	case unix.RTM_DELROUTE, unix.RTM_DELNEIGH, unix.RTM_DELLINK, unix.RTM_DELADDR:
		r.Action = trace.ActionDel
	default:
		r.Action = trace.ActionNew
	}
	return r, ok, err
}

func u32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(v)
}

func clockT(v uint32) time.Duration { return time.Duration(v) * time.Second / userHZ }

// decodeRoute decodes an rtmsg (RTM_NEWROUTE / RTM_DELROUTE body). ok is
// false for families other than IPv4 and IPv6.
func decodeRoute(b []byte) (r trace.Route, hops []trace.Hop, ok bool, err error) {
	if len(b) < unix.SizeofRtMsg {
		return r, nil, false, errShort
	}
	fam := familyOf(b[0])
	if fam == 0 {
		return r, nil, false, nil
	}
	r.Family = fam
	dstLen, srcLen := int(b[1]), int(b[2])
	_ = srcLen
	r.Table = uint32(b[4])
	r.Proto = kernel.Proto(b[5])
	r.Scope = b[6]
	r.Type = kernel.RouteType(b[7])
	flags := binary.NativeEndian.Uint32(b[8:12])
	r.Cloned = flags&unix.RTM_F_CLONED != 0 // a route-cache entry (an IPv6 exception)
	var dst netip.Addr
	var mpErr error
	err = attrs(b[unix.SizeofRtMsg:], func(typ uint16, v []byte) {
		switch typ {
		case unix.RTA_DST:
			dst = addrFrom(v)
		case unix.RTA_OIF:
			r.Ifindex = int(u32(v))
		case unix.RTA_GATEWAY:
			r.Gateway = addrFrom(v)
		case unix.RTA_PRIORITY:
			r.Metric = u32(v)
		case unix.RTA_PREFSRC:
			r.Src = addrFrom(v)
		case unix.RTA_TABLE:
			r.Table = u32(v)
		case unix.RTA_MULTIPATH:
			hops, mpErr = DecodeMultipath(v)
		case rtaNHID:
			r.NHID = u32(v)
		case unix.RTA_METRICS:
			// Nested struct rtattr per RTAX_*; RTAX_MTU is the PMTU an
			// exception carries (rt6_fill_node() puts it there from
			// dst_metric_raw(), 6.x).
			_ = attrs(v, func(t uint16, w []byte) {
				if t == unix.RTAX_MTU {
					r.MTU = int(u32(w))
				}
			})
		case unix.RTA_CACHEINFO:
			// struct rta_cacheinfo: clntref, lastuse, expires, error, used, ...
			if len(v) >= 20 {
				r.Expires = clockT(uint32(max(int32(binary.NativeEndian.Uint32(v[8:12])), 0)))
				r.Error = kernel.Errno(int32(binary.NativeEndian.Uint32(v[12:16])))
				r.Used = int(binary.NativeEndian.Uint32(v[16:20]))
			}
		}
	})
	if err == nil && mpErr != nil {
		err = mpErr
	}
	if len(hops) > 0 && r.Ifindex == 0 && !r.Gateway.IsValid() {
		// The first next hop stands for the route where one is read.
		r.Gateway, r.Ifindex = hops[0].Gateway, hops[0].Ifindex
	}
	if !dst.IsValid() {
		if fam == 4 {
			dst = netip.IPv4Unspecified()
		} else {
			dst = netip.IPv6Unspecified()
		}
	}
	if p, perr := dst.Prefix(dstLen); perr == nil {
		r.Dst = p
	} else if err == nil {
		err = fmt.Errorf("route destination %s/%d: %w", dst, dstLen, perr)
	}
	if err != nil {
		return r, nil, false, fmt.Errorf("decode route: %w", err)
	}
	return r, hops, true, nil
}

// rtaNHID is RTA_NH_ID (include/uapi/linux/rtnetlink.h, 5.3), which
// x/sys/unix does not name.
const rtaNHID = 30

// DecodeMultipath decodes the payload of an RTA_MULTIPATH attribute: a
// list of struct rtnexthop (rtnh_len, rtnh_flags, rtnh_hops,
// rtnh_ifindex), each followed by its own attributes, of which
// RTA_GATEWAY is read (rt6_fill_node() -> fib_add_nexthop() ->
// fib_nexthop_info(), and nexthop_mpath_fill_node() for a route on a
// nexthop group, 6.12). An IPv6 route with an IPv4 gateway carries
// RTA_VIA, which is not read.
func DecodeMultipath(v []byte) ([]trace.Hop, error) {
	var hops []trace.Hop
	for len(v) > 0 {
		if len(v) < unix.SizeofRtNexthop {
			return hops, fmt.Errorf("RTA_MULTIPATH: next hop %d: %d bytes left, a struct rtnexthop is %d", len(hops)+1, len(v), unix.SizeofRtNexthop)
		}
		l := int(binary.NativeEndian.Uint16(v[0:2]))
		if l < unix.SizeofRtNexthop || l > len(v) {
			return hops, fmt.Errorf("RTA_MULTIPATH: next hop %d: rtnh_len %d of %d bytes left", len(hops)+1, l, len(v))
		}
		h := trace.Hop{Flags: v[2], Weight: int(v[3]) + 1, Ifindex: int(int32(binary.NativeEndian.Uint32(v[4:8])))}
		var gwErr error
		err := attrs(v[unix.SizeofRtNexthop:l], func(t uint16, w []byte) {
			if t == unix.RTA_GATEWAY {
				if h.Gateway = addrFrom(w); !h.Gateway.IsValid() {
					gwErr = fmt.Errorf("RTA_GATEWAY of %d bytes", len(w))
				}
			}
		})
		if err == nil {
			err = gwErr
		}
		if err != nil {
			return hops, fmt.Errorf("RTA_MULTIPATH: next hop %d: %w", len(hops)+1, err)
		}
		hops = append(hops, h)
		al := (l + 3) &^ 3
		if al >= len(v) {
			break
		}
		v = v[al:]
	}
	return hops, nil
}

// Siblings lists the routes a route record stands for: a route of one
// next hop is itself; a multipath route (a route and its ECMP siblings,
// which rt6_fill_node() puts in one message with RTA_MULTIPATH, and
// fib6_dump_node() dumps once, 6.12) is one route per next hop, in the
// message's order, each with that hop's gateway and device. A route on
// a nexthop object (NHID) is one route however many hops its group has:
// the kernel holds one fib6_info for it.
func Siblings(rec trace.Record) []trace.Route {
	r := rec.Route
	if len(rec.Multipath) == 0 || r.NHID != 0 {
		return []trace.Route{r}
	}
	out := make([]trace.Route, len(rec.Multipath))
	for i, h := range rec.Multipath {
		c := r
		c.Gateway, c.Ifindex, c.Dev = h.Gateway, h.Ifindex, ""
		out[i] = c
	}
	return out
}

// decodeNeigh decodes an ndmsg. ok is false for families other than
// IPv4 and IPv6 (bridge FDB entries, for instance).
func decodeNeigh(b []byte) (n trace.Neigh, ok bool, err error) {
	if len(b) < unix.SizeofNdMsg {
		return n, false, errShort
	}
	fam := familyOf(b[0])
	if fam == 0 {
		return n, false, nil
	}
	n.Family = fam
	// ndm_state is a __u16; every NUD_* state fits its low byte.
	n.State = kernel.NUD(binary.NativeEndian.Uint16(b[8:10]))
	if n.State == kernel.NUDNoARP {
		// NOARP entries (multicast and broadcast addresses, NOARP
		// devices) are set up by arp_constructor / ndisc_constructor
		// without any notification and hold nothing learnt: skip them,
		// in events and dumps alike.
		return n, false, nil
	}
	n.Ifindex = int(int32(binary.NativeEndian.Uint32(b[4:8])))
	n.Router = b[10]&unix.NTF_ROUTER != 0
	err = attrs(b[unix.SizeofNdMsg:], func(typ uint16, v []byte) {
		switch typ {
		case unix.NDA_DST:
			n.Addr = addrFrom(v)
		case unix.NDA_LLADDR:
			// A non-Ethernet lladdr (InfiniBand, tunnels) is not kept.
			n.LLAddr, _ = kernel.MACFrom(v)
		case unix.NDA_CACHEINFO:
			if len(v) >= 12 {
				n.Confirmed = clockT(binary.NativeEndian.Uint32(v[0:4]))
				n.Used = clockT(binary.NativeEndian.Uint32(v[4:8]))
				n.Updated = clockT(binary.NativeEndian.Uint32(v[8:12]))
			}
		case unix.NDA_PROBES:
			n.Probes = int(u32(v))
		}
	})
	if err != nil {
		return n, false, fmt.Errorf("decode neighbour: %w", err)
	}
	if !n.Addr.IsValid() {
		return n, false, fmt.Errorf("decode neighbour on ifindex %d: no NDA_DST", n.Ifindex)
	}
	return n, true, nil
}

// decodeLink decodes an ifinfomsg.
func decodeLink(b []byte) (l trace.Link, err error) {
	if len(b) < unix.SizeofIfInfomsg {
		return l, errShort
	}
	l.Index = int(int32(binary.NativeEndian.Uint32(b[4:8])))
	flags := binary.NativeEndian.Uint32(b[8:12])
	l.Up = flags&unix.IFF_UP != 0
	err = attrs(b[unix.SizeofIfInfomsg:], func(typ uint16, v []byte) {
		switch typ {
		case unix.IFLA_IFNAME:
			if i := indexByte(v, 0); i >= 0 {
				v = v[:i]
			}
			l.Name = string(v)
		case unix.IFLA_ADDRESS:
			l.MAC, _ = kernel.MACFrom(v)
		case unix.IFLA_MTU:
			l.MTU = int(u32(v))
		case unix.IFLA_MASTER:
			l.Master = int(u32(v))
		}
	})
	if err != nil {
		return l, fmt.Errorf("decode link %d: %w", l.Index, err)
	}
	return l, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// decodeAddr decodes an ifaddrmsg. ok is false for other families.
func decodeAddr(b []byte) (a trace.Addr, ok bool, err error) {
	if len(b) < unix.SizeofIfAddrmsg {
		return a, false, errShort
	}
	fam := familyOf(b[0])
	if fam == 0 {
		return a, false, nil
	}
	a.Family = fam
	bits := int(b[1])
	a.Ifindex = int(int32(binary.NativeEndian.Uint32(b[4:8])))
	var local, address netip.Addr
	err = attrs(b[unix.SizeofIfAddrmsg:], func(typ uint16, v []byte) {
		switch typ {
		case unix.IFA_LOCAL:
			local = addrFrom(v)
		case unix.IFA_ADDRESS:
			address = addrFrom(v)
		}
	})
	if err != nil {
		return a, false, fmt.Errorf("decode address on ifindex %d: %w", a.Ifindex, err)
	}
	ip := local
	if !ip.IsValid() {
		ip = address
	}
	p, perr := ip.Prefix(bits)
	if perr != nil {
		return a, false, fmt.Errorf("decode address %s/%d on ifindex %d: %w", ip, bits, a.Ifindex, perr)
	}
	// Keep the host part: an address, not a network.
	a.Prefix = netip.PrefixFrom(ip, p.Bits())
	return a, true, nil
}
