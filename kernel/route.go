package kernel

import (
	"strconv"
	"strings"
)

// RouteType is a route's rtm_type (include/uapi/linux/rtnetlink.h RTN_*).
type RouteType uint8

// Route types.
const (
	RouteUnspec      RouteType = 0  // RTN_UNSPEC
	RouteUnicast     RouteType = 1  // RTN_UNICAST: a gateway or direct route
	RouteLocal       RouteType = 2  // RTN_LOCAL: an address of this host
	RouteBroadcast   RouteType = 3  // RTN_BROADCAST
	RouteAnycast     RouteType = 4  // RTN_ANYCAST
	RouteMulticast   RouteType = 5  // RTN_MULTICAST
	RouteBlackhole   RouteType = 6  // RTN_BLACKHOLE: drop silently
	RouteUnreachable RouteType = 7  // RTN_UNREACHABLE: drop, ICMP unreachable
	RouteProhibit    RouteType = 8  // RTN_PROHIBIT: drop, ICMP prohibited
	RouteThrow       RouteType = 9  // RTN_THROW: continue with the next rule
	RouteNAT         RouteType = 10 // RTN_NAT
	RouteXResolve    RouteType = 11 // RTN_XRESOLVE
)

var routeTypeNames = [...]string{
	"unspec", "unicast", "local", "broadcast", "anycast", "multicast",
	"blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve",
}

// String is the type as `ip route` prints it ("unreachable"), or a
// number for a type iproute2 has no name for.
func (t RouteType) String() string {
	if int(t) < len(routeTypeNames) {
		return routeTypeNames[t]
	}
	return strconv.Itoa(int(t))
}

// ParseRouteType reads a route type as `ip route` takes it.
func ParseRouteType(s string) (RouteType, bool) {
	for i, n := range routeTypeNames {
		if strings.EqualFold(n, s) {
			return RouteType(i), true
		}
	}
	return 0, false
}

// Reject reports whether routes of the type drop what they match
// (RTF_REJECT): unreachable, blackhole, prohibit and throw
// (rtm_to_fib6_config(), ip6_route_info_create()).
func (t RouteType) Reject() bool {
	switch t {
	case RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		return true
	}
	return false
}

// Proto is a route's rtm_protocol: who installed it
// (include/uapi/linux/rtnetlink.h RTPROT_*).
type Proto uint8

// Route protocols the detectors name.
const (
	ProtoUnspec   Proto = 0   // RTPROT_UNSPEC
	ProtoRedirect Proto = 1   // RTPROT_REDIRECT: an ICMP redirect (IPv4)
	ProtoKernel   Proto = 2   // RTPROT_KERNEL: the kernel's own routes
	ProtoBoot     Proto = 3   // RTPROT_BOOT: ip route without proto
	ProtoStatic   Proto = 4   // RTPROT_STATIC
	ProtoRA       Proto = 9   // RTPROT_RA: IPv6 router advertisements
	ProtoZebra    Proto = 11  // RTPROT_ZEBRA: FRR
	ProtoBird     Proto = 12  // RTPROT_BIRD
	ProtoDHCP     Proto = 16  // RTPROT_DHCP
	ProtoBabel    Proto = 42  // RTPROT_BABEL
	ProtoBGP      Proto = 186 // RTPROT_BGP (FRR's bgpd)
	ProtoOSPF     Proto = 188 // RTPROT_OSPF
)

// protoNames are iproute2's names of rtm_protocol values
// (etc/iproute2/rt_protos and rt_protos.d), as `ip route` prints them,
// "" for a value without one. An array, not a map: the watch names the
// protocol of every route event it prints.
var protoNames = [256]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static",
	8: "gated", 9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted",
	14: "xorp", 15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived",
	42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
	192: "eigrp",
}

// String is iproute2's name of the protocol (babel for 42, zebra for
// 11), or its number when it has none.
func (p Proto) String() string {
	if s := protoNames[p]; s != "" {
		return s
	}
	return strconv.Itoa(int(p))
}

// ParseProto reads a route protocol as `ip route` prints it: a name or
// a number (decimal, 0x hex or 0 octal, as iproute2 reads it).
func ParseProto(s string) (Proto, bool) {
	for p, name := range protoNames {
		if name != "" && name == s {
			return Proto(p), true
		}
	}
	n, err := strconv.ParseUint(s, 0, 8) // iproute2 takes hex and octal too (get_u32(..., 0))
	if err != nil {
		return 0, false
	}
	return Proto(n), true
}
