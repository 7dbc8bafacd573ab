package selftests

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/selftests/cases"
)

// ipCmd is an iproute2 command line, read as ip(8) reads it.
type ipCmd struct {
	// family is 4 or 6 when -4 or -6 says so, 0 when iproute2 infers it
	// from the addresses.
	family int
	// obj and verb are spelled out: route, address, link, neighbour;
	// add, append, delete, list ...
	obj, verb string
	args      []string
}

// parseIP reads `ip [-4|-6] OBJECT VERB ARGS...`; a command that is not
// ip gives ok false.
func parseIP(w []string) (ipCmd, bool, error) {
	if len(w) == 0 || w[0] != "ip" {
		return ipCmd{}, false, nil
	}
	var c ipCmd
	i := 1
	for ; i < len(w) && strings.HasPrefix(w[i], "-"); i++ {
		switch w[i] {
		case "-6":
			c.family = 6
		case "-4":
			c.family = 4
		case "-d", "-details", "-s", "-stats", "-j", "-json", "-p", "-pretty":
		default:
			return c, true, fmt.Errorf("ip option %s is not known here", w[i])
		}
	}
	if i+1 >= len(w) {
		return c, true, fmt.Errorf("%q: want ip OBJECT VERB", strings.Join(w, " "))
	}
	obj, ok := cases.Abbrev(w[i], "route", "address", "link", "neighbour", "rule", "netns", "monitor")
	if !ok {
		return c, true, fmt.Errorf("ip object %q is not known here", w[i])
	}
	verb, ok := cases.Abbrev(w[i+1], "add", "append", "prepend", "replace", "change", "delete", "flush", "get", "list", "show", "set", "help", "exec")
	if !ok {
		return c, true, fmt.Errorf("ip %s verb %q is not known here", obj, w[i+1])
	}
	c.obj, c.verb, c.args = obj, verb, w[i+2:]
	return c, true, nil
}

// routeArgs is what an `ip route add|del|...` line says of the route.
type routeArgs struct {
	route fib6.Route
	// family is the family of the prefix (4 or 6).
	family int
	// dev, gw, metric: given on the line (a delete matches any when not).
	dev, gw, metric bool
	// tos is the dsfield (rtm_tos) the line gives, 0 if none.
	tos uint8
	// mtu is the RTAX_MTU metric, 0 if none; badCC: a congctl the
	// kernel does not know.
	mtu   uint32
	badCC bool
	// nexthops are the legs of an RTA_MULTIPATH request (`nexthop via GW
	// [dev DEV] [weight 1] ...`), in order; none for a single-path one.
	nexthops []nexthopArgs
	// missing names an attribute the model does not hold, with the
	// capability it would need.
	missing string
}

// nexthopArgs is one leg of `nexthop`: a gateway and a device, each
// given or not.
type nexthopArgs struct {
	gw  netip.Addr
	dev string
}

// routeMetrics are the RTAX metrics iproute2 knows (ip/iproute.c).
var routeMetrics = map[string]bool{
	"mtu": true, "advmss": true, "hoplimit": true, "window": true, "rtt": true, "rttvar": true,
	"reordering": true, "cwnd": true, "initcwnd": true, "initrwnd": true, "ssthresh": true,
	"realms": true, "rto_min": true, "features": true, "quickack": true, "congctl": true,
	"fastopen_no_cookie": true,
}

// parseRouteArgs reads the route of an ip route line: [TYPE] PREFIX
// [via GW] [dev DEV] [metric N] [table T] [proto P]. Attributes the model
// has no place for are not errors: they set missing.
func parseRouteArgs(args []string) (routeArgs, error) {
	ra := routeArgs{route: fib6.Route{Type: fib6.Unicast, Table: fib6.MainTable, Proto: kernel.ProtoBoot, Metric: fib6.DefaultMetric}}
	need := func(i int, kw string) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("%q wants a value", kw)
		}
		return args[i+1], nil
	}
	i := 0
	if i < len(args) {
		if t, ok := fib6.ParseType(args[i]); ok {
			ra.route.Type = t
			i++
		} else if t, ok := kernel.ParseRouteType(args[i]); ok {
			ra.missing = "route type " + t.String()
			i++
		}
	}
	if i < len(args) && args[i] == "to" {
		i++
	}
	if i >= len(args) {
		return ra, fmt.Errorf("no prefix")
	}
	p, fam, err := parsePrefix(args[i])
	if err != nil {
		return ra, err
	}
	ra.route.Prefix, ra.family = p, fam
	for i++; i < len(args); i++ {
		kw := args[i]
		switch {
		case kw == "via":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			if v == "inet6" {
				if v, err = need(i, kw); err != nil {
					return ra, err
				}
				i++
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return ra, fmt.Errorf("gateway %q: %w", v, err)
			}
			ra.route.Gateway, ra.gw = a, true
		case kw == "dev" || kw == "oif":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			ra.route.Dev, ra.dev = v, true
		case kw == "metric" || kw == "priority" || kw == "preference":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return ra, fmt.Errorf("metric %q: %w", v, err)
			}
			ra.route.Metric, ra.route.MetricSet, ra.metric = uint32(n), true, true
		case kw == "table":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			switch v {
			case "main":
				ra.route.Table = fib6.MainTable
			case "local":
				ra.route.Table = 255
			default:
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil || n == 0 {
					return ra, fmt.Errorf("table %q: not a table", v)
				}
				ra.route.Table = uint32(n)
			}
		case kw == "proto" || kw == "protocol":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			pr, ok := kernel.ParseProto(v)
			if !ok {
				return ra, fmt.Errorf("protocol %q", v)
			}
			ra.route.Proto = pr
		case kw == "nexthop":
			// the rest of the line is the nexthops' own attributes
			// (iproute2's parse_multipath())
			if err := ra.parseNexthops(args[i+1:]); err != nil {
				return ra, err
			}
			ra.fixDefault(0)
			return ra, nil
		case kw == "mtu":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			if v == "lock" {
				ra.setMissing(capMetrics + " (locked)")
				i++
				continue
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return ra, fmt.Errorf("mtu %q: %w", v, err)
			}
			// ip_metrics_convert(): RTAX_MTU is capped at 65535 - 15
			ra.mtu = uint32(min(n, 65535-15))
		case kw == "congctl":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			if v == "lock" {
				if v, err = need(i, kw); err != nil {
					return ra, err
				}
				i++
			}
			// ip_metrics_convert(): tcp_ca_get_key_by_name() fails for an
			// algorithm not registered: -EINVAL. reno is built in and
			// cubic the default; any other may be a module.
			switch v {
			case "reno", "cubic":
				ra.setMissing(capMetrics + " (congctl)")
			default:
				ra.badCC = true
			}
		case routeMetrics[kw] || kw == "lock":
			ra.setMissing(capMetrics)
			i++
		case kw == "dsfield" || kw == "tos":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			n, err := strconv.ParseUint(v, 0, 8)
			if err != nil {
				return ra, fmt.Errorf("dsfield %q: %w", v, err)
			}
			ra.tos = uint8(n)
		default:
			// anything else (expires, src, from, encap, nhid, vrf, onlink,
			// pref, scope ...) is an attribute the model does not hold
			ra.setMissing("the route attribute " + kw)
			ra.fixDefault(0)
			return ra, nil
		}
	}
	ra.fixDefault(0)
	return ra, nil
}

// parseNexthops reads the legs after the first `nexthop`: each `via GW`,
// `dev DEV`, `weight 1`, until the next `nexthop`. A weight other than 1
// and any other attribute (onlink, encap) set missing.
func (ra *routeArgs) parseNexthops(args []string) error {
	ra.nexthops = append(ra.nexthops, nexthopArgs{})
	for i := 0; i < len(args); i++ {
		nh := &ra.nexthops[len(ra.nexthops)-1]
		kw := args[i]
		if kw == "nexthop" {
			ra.nexthops = append(ra.nexthops, nexthopArgs{})
			continue
		}
		if i+1 >= len(args) {
			return fmt.Errorf("nexthop: %q wants a value", kw)
		}
		v := args[i+1]
		i++
		switch kw {
		case "via":
			if v == "inet6" && i+1 < len(args) {
				v = args[i+1]
				i++
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return fmt.Errorf("nexthop gateway %q: %w", v, err)
			}
			nh.gw = a
			if !ra.route.Gateway.IsValid() {
				ra.route.Gateway = a // the family of a default route
			}
		case "dev":
			nh.dev = v
		case "weight":
			if v != "1" {
				ra.setMissing("nexthop weights other than 1")
			}
		default:
			ra.setMissing("the nexthop attribute " + kw)
			return nil
		}
	}
	return nil
}

// fixDefault gives a default route its family: the gateway's, else
// family (the -4/-6 option), else IPv4.
func (ra *routeArgs) fixDefault(family int) {
	if ra.family != 0 {
		return
	}
	switch {
	case ra.route.Gateway.Is4():
		ra.family = 4
	case ra.route.Gateway.IsValid():
		ra.family = 6
	case family != 0:
		ra.family = family
	default:
		ra.family = 4
	}
	if ra.family == 4 {
		ra.route.Prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
}

func (ra *routeArgs) setMissing(c string) {
	if ra.missing == "" {
		ra.missing = c
	}
}

// parsePrefix reads default, ADDR or ADDR/LEN as iproute2's get_prefix
// does; the kernel masks the host bits (ipv6_addr_prefix).
//
// default has no family of its own (0): iproute2 takes the gateway's, or
// the -4/-6 option's, else IPv4's (iproute_modify()).
func parsePrefix(s string) (netip.Prefix, int, error) {
	if s == "default" {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0), 0, nil
	}
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return p, 0, fmt.Errorf("prefix %q: %w", s, err)
	}
	fam := 6
	if p.Addr().Is4() {
		fam = 4
	}
	return p.Masked(), fam, nil
}
