package nl

import (
	"fmt"
	"net"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/trace"
)

// EncodeRoute builds the rtnetlink body of a route message for r: the
// inverse of Decode for a route, with the defaults `ip route` applies
// (type unicast, protocol static, table main).
func EncodeRoute(r *trace.Route) ([]byte, error) {
	m := rtnetlink.RouteMessage{
		DstLength: uint8(r.Dst.Bits()),
		Protocol:  uint8(r.Proto),
		Scope:     r.Scope,
		Type:      uint8(r.Type),
	}
	switch r.Family {
	case 4:
		m.Family = unix.AF_INET
	case 6:
		m.Family = unix.AF_INET6
	default:
		return nil, fmt.Errorf("route %s: family %d", r.Dst, r.Family)
	}
	if r.Cloned {
		// rtm_to_fib6_config turns RTM_F_CLONED into RTF_CACHE: a delete
		// then removes that cache exception alone (ip6_route_del).
		m.Flags |= unix.RTM_F_CLONED
	}
	if m.Type == 0 {
		m.Type = uint8(kernel.RouteUnicast)
	}
	if m.Protocol == 0 {
		m.Protocol = uint8(kernel.ProtoStatic)
	}
	table := r.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	if table < 256 {
		m.Table = uint8(table)
	}
	m.Attributes.Table = table
	m.Attributes.Dst = net.IP(r.Dst.Addr().AsSlice())
	if r.Gateway.IsValid() {
		m.Attributes.Gateway = net.IP(r.Gateway.AsSlice())
	}
	if r.Src.IsValid() {
		m.Attributes.Src = net.IP(r.Src.AsSlice())
	}
	m.Attributes.OutIface = uint32(r.Ifindex)
	m.Attributes.Priority = r.Metric
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("route %s: encode: %w", r.Dst, err)
	}
	if r.NHID != 0 {
		// rtm_to_fib6_config() (6.12) takes RTA_NH_ID with neither
		// RTA_GATEWAY, RTA_OIF nor RTA_MULTIPATH.
		if r.Gateway.IsValid() || r.Ifindex != 0 {
			return nil, fmt.Errorf("route %s: nhid %d with a gateway or device of its own (the kernel refuses: \"Nexthop specification and nexthop id are mutually exclusive\")", r.Dst, r.NHID)
		}
		b = appendU32Attr(b, rtaNHID, r.NHID)
	}
	return b, nil
}
