// Package route holds the values of the route writer (package apply):
// a Route and its Nexthops as the writer is asked to hold them or reads
// them back, the Key the kernel's replace finds a route by, and their
// defaults, validation and `ip route` text. It is a leaf: it reads no
// kernel state and writes nothing, so that parsers of route files
// (apply/routefile) and callers building routes need only it.
package route

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/kernel"
)

// Route is a route the writer is asked to hold, or one it read back. Its
// zero values mean what `ip route replace` makes of an omitted keyword:
// type unicast, table main, metric 0 for IPv4 and 1024 for IPv6
// (IP6_RT_PRIO_USER), and the scope iproute2 picks (link for a unicast
// route without a gateway, host for local and NAT routes, link for
// broadcast, anycast and multicast routes, global otherwise). The
// protocol is the writer's own.
type Route struct {
	// Dst is the destination prefix, masked; its family is the route's.
	Dst  netip.Prefix
	Type kernel.RouteType
	// Table is the routing table, 0 for main (254).
	Table uint32
	// Metric is the route's priority (RTA_PRIORITY).
	Metric uint32
	// Src is the preferred source address (RTA_PREFSRC), if any.
	Src netip.Addr
	// Nexthops are the next hops of a unicast route (several for an ECMP
	// route), or the one device of a local, broadcast, anycast,
	// multicast or NAT route. Reject routes (blackhole, unreachable,
	// prohibit, throw) have none.
	Nexthops []Nexthop
}

// Nexthop is one next hop: a gateway, a device, or both.
type Nexthop struct {
	Gateway netip.Addr
	// Dev is the interface's name; "" lets the kernel find it from the
	// gateway (then no nexthop object can be used for the route).
	Dev string
	// Weight is the next hop's share of an ECMP route, 1 to 256; 0 means 1.
	Weight int
	// Onlink: the gateway is on the link even if no prefix says so.
	Onlink bool
}

// Key is what the kernel's replace finds a route by: family, table,
// destination and metric (fib_table_insert(), fib6_add_rt2node()).
type Key struct {
	Table  uint32
	Dst    netip.Prefix
	Metric uint32
}

// String renders the key as "DST table TABLE metric METRIC".
func (k Key) String() string {
	return fmt.Sprintf("%s table %s metric %d", k.Dst, TableName(k.Table), k.Metric)
}

// Family is 4 or 6.
func (r *Route) Family() int {
	if r.Dst.Addr().Is4() {
		return 4
	}
	return 6
}

// Key returns the route's replace key (r normalised).
func (r *Route) Key() Key { return Key{Table: r.Table, Dst: r.Dst, Metric: r.Metric} }

// Normalise returns r with the defaults filled: table main, type
// unicast, IPv6 metric 1024 for 0 (ip6_route_info_create()), weights 1,
// next hops sorted, the prefix masked.
func (r Route) Normalise() Route {
	r.Dst = r.Dst.Masked()
	if r.Table == 0 {
		r.Table = unix.RT_TABLE_MAIN
	}
	if r.Type == kernel.RouteUnspec {
		r.Type = kernel.RouteUnicast
	}
	if r.Family() == 6 && r.Metric == 0 {
		r.Metric = 1024
	}
	if len(r.Nexthops) > 0 {
		r.Nexthops = slices.Clone(r.Nexthops)
		for i := range r.Nexthops {
			if r.Nexthops[i].Weight == 0 {
				r.Nexthops[i].Weight = 1
			}
		}
		slices.SortFunc(r.Nexthops, CompareNexthop)
	}
	return r
}

// CompareNexthop orders next hops by device, gateway, weight and onlink
// (the order Normalise sorts them in).
func CompareNexthop(a, b Nexthop) int {
	if c := strings.Compare(a.Dev, b.Dev); c != 0 {
		return c
	}
	if c := a.Gateway.Compare(b.Gateway); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Weight, b.Weight); c != 0 {
		return c
	}
	if a.Onlink != b.Onlink {
		if a.Onlink {
			return 1
		}
		return -1
	}
	return 0
}

// Scope is the rtm_scope iproute2 gives the route (ip/iproute.c,
// iproute_modify()); IPv6 ignores it (rt6_fill_node() reports universe).
func (r *Route) Scope() uint8 {
	switch r.Type {
	case kernel.RouteLocal, kernel.RouteNAT:
		return unix.RT_SCOPE_HOST
	case kernel.RouteBroadcast, kernel.RouteMulticast, kernel.RouteAnycast:
		return unix.RT_SCOPE_LINK
	case kernel.RouteUnicast:
		for _, h := range r.Nexthops {
			if h.Gateway.IsValid() {
				return unix.RT_SCOPE_UNIVERSE
			}
		}
		if len(r.Nexthops) <= 1 {
			return unix.RT_SCOPE_LINK
		}
	}
	return unix.RT_SCOPE_UNIVERSE
}

// Check says what is wrong with a normalised route, "" when nothing is.
func (r *Route) Check() string {
	if !r.Dst.IsValid() {
		return "no destination"
	}
	fam4 := r.Family() == 4
	if r.Src.IsValid() && r.Src.Is4() != fam4 {
		return fmt.Sprintf("src %s is not of the route's family", r.Src)
	}
	switch {
	case r.Type.Reject():
		if len(r.Nexthops) > 0 {
			return fmt.Sprintf("a %s route has no next hop (the kernel puts it on lo)", r.Type)
		}
	case r.Type == kernel.RouteUnicast:
		if len(r.Nexthops) == 0 {
			return "a unicast route needs a gateway (via) or a device (dev)"
		}
	case r.Type == kernel.RouteLocal, r.Type == kernel.RouteBroadcast, r.Type == kernel.RouteAnycast,
		r.Type == kernel.RouteMulticast, r.Type == kernel.RouteNAT:
		if len(r.Nexthops) != 1 || r.Nexthops[0].Dev == "" || r.Nexthops[0].Gateway.IsValid() {
			return fmt.Sprintf("a %s route needs one device (dev) and no gateway", r.Type)
		}
	default:
		return fmt.Sprintf("route type %s cannot be written", r.Type)
	}
	for i, h := range r.Nexthops {
		if !h.Gateway.IsValid() && h.Dev == "" {
			return "a next hop needs a gateway (via) or a device (dev)"
		}
		if h.Weight < 1 || h.Weight > 256 {
			return fmt.Sprintf("next hop weight %d: want 1 to 256", h.Weight)
		}
		if h.Gateway.IsValid() && h.Gateway.Is4() != fam4 && !(fam4 && h.Gateway.Is6()) {
			return fmt.Sprintf("gateway %s is not of the route's family", h.Gateway)
		}
		if h.Gateway.IsValid() && h.Gateway.Is6() && fam4 && len(r.Nexthops) > 1 {
			return fmt.Sprintf("gateway %s: an IPv4 route over IPv6 gateways is written with one next hop only", h.Gateway)
		}
		if h.Onlink && !h.Gateway.IsValid() {
			return "onlink needs a gateway"
		}
		for _, e := range r.Nexthops[:i] { // a route has a few next hops: no map
			if e.Gateway == h.Gateway && e.Dev == h.Dev && e.Onlink == h.Onlink {
				return fmt.Sprintf("next hop %s given twice", h)
			}
		}
	}
	if len(r.Nexthops) > 1 && !r.Type.Reject() && r.Type != kernel.RouteUnicast {
		return "only a unicast route has several next hops"
	}
	return ""
}

// HeldBy reports whether the kernel's route got is the normalised route
// r: the same route, where a next hop of r that names no device matches
// the device the kernel found for its gateway.
func (r *Route) HeldBy(got *Route) bool {
	if r.Dst != got.Dst || r.Type != got.Type || r.Table != got.Table || r.Metric != got.Metric ||
		r.Src != got.Src || len(r.Nexthops) != len(got.Nexthops) {
		return false
	}
	if slices.Equal(r.Nexthops, got.Nexthops) {
		return true
	}
	// Next hops without a device sort first; match them by the rest.
	var few [4]bool
	var used []bool
	if len(got.Nexthops) <= len(few) {
		used = few[:len(got.Nexthops)]
	} else {
		used = make([]bool, len(got.Nexthops))
	}
	for _, h := range r.Nexthops {
		found := false
		for j, g := range got.Nexthops {
			if !used[j] && (h == g || (h.Dev == "" && h.Gateway == g.Gateway && h.Weight == g.Weight && h.Onlink == g.Onlink)) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// String renders the route as `ip route` takes it after `route replace`.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != kernel.RouteUnicast && r.Type != kernel.RouteUnspec {
		b.WriteString(r.Type.String())
		b.WriteByte(' ')
	}
	b.WriteString(prefixText(r.Dst))
	fam4 := r.Dst.Addr().Is4()
	if len(r.Nexthops) == 1 {
		b.WriteString(r.Nexthops[0].text(false, fam4))
	}
	if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
		b.WriteString(" table " + TableName(r.Table))
	}
	if r.Metric != 0 {
		b.WriteString(" metric " + strconv.FormatUint(uint64(r.Metric), 10))
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if len(r.Nexthops) > 1 {
		for _, h := range r.Nexthops {
			b.WriteString(" nexthop" + h.text(true, fam4))
		}
	}
	return b.String()
}

// String renders the next hop as `ip route` takes it (weight included).
func (h Nexthop) String() string { return strings.TrimSpace(h.text(true, !h.Gateway.Is6())) }

// text renders the next hop's keywords; an IPv6 gateway of an IPv4
// route is written `via inet6 GW`, as iproute2 takes it.
func (h Nexthop) text(weight, fam4 bool) string {
	var b strings.Builder
	if h.Gateway.IsValid() {
		b.WriteString(" via ")
		if fam4 && h.Gateway.Is6() {
			b.WriteString("inet6 ")
		}
		b.WriteString(h.Gateway.String())
	}
	if h.Dev != "" {
		b.WriteString(" dev " + h.Dev)
	}
	if weight && h.Weight > 1 {
		b.WriteString(" weight " + strconv.Itoa(h.Weight))
	}
	if h.Onlink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// prefixText prints a prefix as `ip route` does: "default" for /0, the
// bare address for a host route.
func prefixText(p netip.Prefix) string {
	switch {
	case p.Bits() == 0:
		return "default"
	case p.Bits() == p.Addr().BitLen():
		return p.Addr().String()
	}
	return p.String()
}

// TableName names a table as iproute2 does (rt_tables' reserved names).
func TableName(t uint32) string {
	switch t {
	case 0, unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// QualifiesECMP mirrors rt6_qualify_for_ecmp() (include/net/ip6_route.h):
// a gateway route, not from a router advertisement, and (from 5.3) not
// using a nexthop object (nexthopObject). The writer's routes are never
// RA routes.
func (r *Route) QualifiesECMP(nexthopObject bool) bool {
	if nexthopObject || len(r.Nexthops) == 0 {
		return false
	}
	for _, h := range r.Nexthops {
		if !h.Gateway.IsValid() {
			return false
		}
	}
	return true
}
