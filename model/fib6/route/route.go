// Package route is an IPv6 route as a user writes it: the fields that
// `ip -6 route` prints, parsed from and rendered to its text. It knows
// nothing of the kernel's table: model/fib6 is the model that holds such
// routes (and re-exports these names for its callers).
package route

import (
	"fmt"
	"net/netip"
	"strings"

	"raceroute/kernel"
)

// Type is a route type (rtm_type): the kernel value type.
type Type = kernel.RouteType

// Route types the model knows.
const (
	Unicast     = kernel.RouteUnicast
	Blackhole   = kernel.RouteBlackhole
	Unreachable = kernel.RouteUnreachable
	Prohibit    = kernel.RouteProhibit
	Throw       = kernel.RouteThrow
)

// ParseType parses an iproute2 route type keyword the model knows:
// unicast, blackhole, unreachable, prohibit or throw (a reject route
// carries RTF_REJECT: rtm_to_fib6_config() sets it for the last four, and
// ip6_route_add() then RTF_REJECT|RTF_NONEXTHOP and the loopback device).
func ParseType(s string) (Type, bool) {
	t, ok := kernel.ParseRouteType(s)
	if !ok || (t != Unicast && !t.Reject()) {
		return 0, false
	}
	return t, true
}

// MainTable is RT_TABLE_MAIN.
const MainTable = 254

// DefaultMetric is IP6_RT_PRIO_USER, the metric of a user route added
// without one (ip6_route_add()).
const DefaultMetric = 1024

// Route is a route as a user writes it (`ip -6 route` syntax).
type Route struct {
	Type    Type
	Prefix  netip.Prefix
	Gateway netip.Addr // invalid when none
	Dev     string     // "" when none given
	Proto   kernel.Proto
	Metric  uint32
	// MetricSet reports whether the line gave a metric (a delete without
	// one matches any metric, as fc_metric = 0 does in ip6_route_del()).
	MetricSet bool
	Table     uint32
	// NHID is the nexthop object the route uses (`nhid N`, RTA_NH_ID,
	// 5.3 and later), 0 when it carries its own next hop.
	NHID uint32
}

// String renders r in `ip -6 route` syntax.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != Unicast && r.Type != 0 {
		b.WriteString(r.Type.String())
		b.WriteByte(' ')
	}
	if r.Prefix.Bits() == 128 {
		b.WriteString(r.Prefix.Addr().String()) // as iproute2 prints host routes
	} else if r.Prefix.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(r.Prefix.String())
	}
	if r.NHID != 0 {
		fmt.Fprintf(&b, " nhid %d", r.NHID)
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via ")
		b.WriteString(r.Gateway.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev ")
		b.WriteString(r.Dev)
	}
	if r.Table != 0 && r.Table != MainTable {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Proto != 0 && r.Proto != 3 {
		b.WriteString(" proto ")
		b.WriteString(r.Proto.String())
	}
	if r.MetricSet || r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	return b.String()
}

// Parse parses one route in `ip -6 route` syntax:
//
//	[TYPE] PREFIX|default [via GW] [dev DEV] [nhid N] [proto P] [metric N] [table T]
//
// Keywords iproute2 prints but the model does not need (pref, src,
// expires, error, mtu, hoplimit, onlink, linkdown, rt_offload, cache) are
// accepted and ignored when they carry a value that parses.
func Parse(line string) (Route, error) {
	f := strings.Fields(line)
	r := Route{Type: Unicast, Table: MainTable, Proto: 3, Metric: DefaultMetric}
	if len(f) == 0 {
		return r, fmt.Errorf("empty route: want [TYPE] PREFIX [via GW] [dev DEV] [proto P] [metric N]")
	}
	i := 0
	if t, ok := ParseType(f[0]); ok {
		r.Type = t
		i++
	}
	if i >= len(f) {
		return r, fmt.Errorf("route %q: missing prefix after %q", line, f[0])
	}
	p, err := parsePrefix(f[i])
	if err != nil {
		return r, fmt.Errorf("route %q: %w", line, err)
	}
	r.Prefix = p
	i++
	need := func(kw string) (string, error) {
		if i+1 >= len(f) {
			return "", fmt.Errorf("route %q: %q wants a value", line, kw)
		}
		i++
		return f[i], nil
	}
	for ; i < len(f); i++ {
		kw := f[i]
		switch kw {
		case "via":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			if v == "inet6" { // `via inet6 ADDR`
				if v, err = need(kw); err != nil {
					return r, err
				}
			}
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is6() || a.Is4In6() {
				return r, fmt.Errorf("route %q: gateway %q is not an IPv6 address", line, v)
			}
			r.Gateway = a
		case "dev", "oif":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			r.Dev = v
		case "proto", "protocol":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			pr, ok := kernel.ParseProto(v)
			if !ok {
				return r, fmt.Errorf("route %q: unknown protocol %q (want a name such as babel, static, kernel, or a number 0-255)", line, v)
			}
			r.Proto = pr
		case "metric", "priority", "preference":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			var m uint64
			if _, err := fmt.Sscanf(v, "%d", &m); err != nil || m > 0xffffffff || fmt.Sprint(m) != v {
				return r, fmt.Errorf("route %q: metric %q is not a number from 0 to 4294967295", line, v)
			}
			r.Metric, r.MetricSet = uint32(m), true
		case "table":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			switch v {
			case "main":
				r.Table = MainTable
			case "local":
				r.Table = 255
			default:
				var t uint64
				if _, err := fmt.Sscanf(v, "%d", &t); err != nil || t == 0 || t > 0xffffffff || fmt.Sprint(t) != v {
					return r, fmt.Errorf("route %q: table %q is not main, local or a number from 1", line, v)
				}
				r.Table = uint32(t)
			}
		case "nhid":
			v, err := need(kw)
			if err != nil {
				return r, err
			}
			var n uint64
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n == 0 || n > 0xffffffff || fmt.Sprint(n) != v {
				return r, fmt.Errorf("route %q: nhid %q is not a nexthop id from 1 to 4294967295", line, v)
			}
			r.NHID = uint32(n)
		case "pref", "src", "expires", "error", "mtu", "hoplimit", "users", "used", "age":
			if _, err := need(kw); err != nil {
				return r, err
			}
		case "onlink", "linkdown", "rt_offload", "cache", "\\":
		default:
			return r, fmt.Errorf("route %q: unexpected %q (want via, dev, nhid, proto, metric or table)", line, kw)
		}
	}
	if r.NHID != 0 {
		// rtm_to_fib6_config() (6.12): RTA_NH_ID goes with neither
		// RTA_GATEWAY nor RTA_OIF ("Nexthop specification and nexthop id
		// are mutually exclusive"); iproute2 prints the resolved next hop
		// after it, which a pasted line may carry: a route with both is
		// refused here, as the kernel would refuse the request.
		if r.Gateway.IsValid() || r.Dev != "" {
			return r, fmt.Errorf("route %q: a route with `nhid` takes its next hop from the nexthop object: give no `via` or `dev`", line)
		}
		if r.Type != Unicast {
			return r, fmt.Errorf("route %q: a %s route takes no nexthop object", line, r.Type)
		}
		return r, nil
	}
	if r.Type.Reject() {
		if r.Gateway.IsValid() {
			return r, fmt.Errorf("route %q: a %s route takes no gateway", line, r.Type)
		}
		if r.Dev == "" {
			r.Dev = "lo" // ip6_route_add(): reject routes use the loopback device
		}
	} else if r.Dev == "" && !r.Gateway.IsValid() {
		return r, fmt.Errorf("route %q: a unicast route needs `via GW` or `dev DEV`", line)
	}
	return r, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if s == "default" {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0), nil
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 prefix (want e.g. 2001:db8::/48)", s)
		}
		return netip.PrefixFrom(a, 128), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 prefix (want e.g. 2001:db8::/48)", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("prefix %s has host bits set (want %s)", p, p.Masked())
	}
	return p, nil
}
