package trace

import (
	"net/netip"
	"time"

	"raceroute/kernel"
)

// Kind says which object a Record describes.
type Kind uint8

// Record kinds.
const (
	KindRoute    Kind = iota + 1 // a route or a route-cache entry (Route.Cloned)
	KindNeigh                    // a neighbour entry
	KindLink                     // a network interface
	KindAddr                     // an interface address
	KindFrame                    // an ARP or NA frame seen on the wire
	KindOverflow                 // the receive socket overflowed (ENOBUFS): events were lost
	KindResync                   // a resynchronisation dump finished
)

// Action is what the kernel said happened to the object.
type Action uint8

// Actions.
const (
	ActionNew Action = iota + 1 // RTM_NEW*: added or changed
	ActionDel                   // RTM_DEL*: deleted
)

// Record is one structured event about a kernel object, from a live
// netlink subscription, a resynchronisation, a sniffed frame or a parsed
// `ip monitor` log. Exactly the field named by Kind is meaningful.
type Record struct {
	// Time the event was received (live) or read from the log's
	// timestamp (replay); zero when the log has none.
	Time   time.Time
	Kind   Kind
	Action Action
	// Replace is set on an RTM_NEWROUTE that carried NLM_F_REPLACE: the
	// kernel replaced an existing route (iproute2 cannot show this).
	Replace bool
	// Resync is set on records synthesised by diffing a fresh dump
	// against the known state after a receive overflow.
	Resync bool
	// Inferred is set on records the kernel never sent but that follow
	// from another event (routes gone with their removed link).
	Inferred bool
	// Initial is set on records of the dump a live subscription starts
	// from: state that existed before watching began, not a change.
	Initial bool
	// Polled is set on route-cache records found by periodically dumping
	// the IPv6 cache (RTM_F_CLONED): the kernel does not announce cache
	// exceptions, so a poll is the only way to see them come and go.
	Polled bool
	// Netns names the network namespace the record came from, if any.
	Netns string
	// Line is the 1-based line of a parsed log the record came from.
	Line int

	Route Route
	// Multipath lists every next hop of a route message that carried
	// RTA_MULTIPATH (a route and its ECMP siblings, or a route on a
	// nexthop group), in the message's order; Route's Gateway and
	// Ifindex are the first one's. Nil otherwise. (Not in Route, which
	// stays comparable.)
	Multipath []Hop
	Neigh     Neigh
	Link      Link
	Addr      Addr
	Frame     Frame
	// Lost is the number of events known lost, for KindOverflow (0 when
	// unknown), or the number of differences emitted, for KindResync.
	Lost int
}

// Route is a route or, with Cloned, a route-cache entry.
type Route struct {
	Family  int // 4 or 6
	Table   uint32
	Type    kernel.RouteType
	Dst     netip.Prefix
	Src     netip.Addr // preferred source (RTA_PREFSRC)
	Gateway netip.Addr
	Dev     string
	Ifindex int
	Metric  uint32
	Proto   kernel.Proto // rtm_protocol: 2 kernel, 3 boot, 4 static, 42 babel, 186 bgp ...
	Scope   uint8
	// Cloned marks a route-cache entry (RTM_F_CLONED, RTF_CACHE).
	Cloned bool
	// Error is the route's error (negative errno) for reject routes and
	// cache entries cloned from them: -101 ENETUNREACH, -113 EHOSTUNREACH.
	Error kernel.Errno
	// Expires is the remaining lifetime of a cache entry, 0 when none.
	Expires time.Duration
	// Used is the cache entry's use count, when known.
	Used int
	// MTU is the route's RTAX_MTU metric (for a PMTU exception, the path
	// MTU a Packet Too Big set), 0 when none.
	MTU int
	// NHID is the nexthop object the route uses (RTA_NH_ID, 5.3), 0 for
	// none.
	NHID uint32
}

// Hop is one next hop of an RTA_MULTIPATH attribute (struct rtnexthop
// and its RTA_GATEWAY).
type Hop struct {
	Gateway netip.Addr
	Ifindex int
	Weight  int // rtnh_hops + 1
	Flags   uint8
}

// Neigh is a neighbour entry (ARP for Family 4, NDP for Family 6).
type Neigh struct {
	Family  int
	Addr    netip.Addr
	LLAddr  kernel.MAC // the zero MAC when the entry has none
	Dev     string
	Ifindex int
	State   kernel.NUD
	Router  bool
	// Confirmed, Used and Updated are the ages from NDA_CACHEINFO, when
	// the kernel sent them.
	Confirmed, Used, Updated time.Duration
	Probes                   int
}

// Link is a network interface.
type Link struct {
	Index  int
	Name   string
	MAC    kernel.MAC
	Up     bool
	MTU    int
	Master int
}

// Addr is an address on an interface.
type Addr struct {
	Family  int
	Prefix  netip.Prefix
	Ifindex int
	Dev     string
}

// FrameOp is an ARP or NDP operation seen on the wire.
type FrameOp uint8

// ARP and NA operations seen on the wire.
const (
	FrameARPRequest FrameOp = 1 // ARP op 1
	FrameARPReply   FrameOp = 2 // ARP op 2
	FrameNA         FrameOp = 3 // ICMPv6 neighbour advertisement (type 136)
	FrameNS         FrameOp = 4 // ICMPv6 neighbour solicitation (type 135)
)

// String is the operation as ip monitor's label lines name it: request,
// reply, advert, solicit.
func (op FrameOp) String() string { return frameOpName(op) }

// Frame is an ARP or NDP frame seen on an interface.
type Frame struct {
	Op       FrameOp
	Dev      string
	Ifindex  int
	SrcMAC   kernel.MAC // Ethernet source
	DstMAC   kernel.MAC // Ethernet destination
	SenderIP netip.Addr // ARP sender IP / NA target address
	SenderHW kernel.MAC // ARP sender MAC / NA target link-layer address option
	TargetIP netip.Addr // ARP target IP
	TargetHW kernel.MAC // ARP target MAC
	// Override is the NA's O flag; Solicited its S flag.
	Override, Solicited bool
}

// Gratuitous reports whether the frame is a gratuitous ARP (sender IP
// equal to target IP, request or reply) or an unsolicited NA.
func (f Frame) Gratuitous() bool {
	switch f.Op {
	case FrameARPRequest, FrameARPReply:
		return f.SenderIP.IsValid() && f.SenderIP == f.TargetIP
	case FrameNA:
		return !f.Solicited
	}
	return false
}
