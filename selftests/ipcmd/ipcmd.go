// Package ipcmd reads iproute2 command lines of the kernel's selftest
// scripts as ip(8) reads them: the object and verb (Parse), the route of
// an `ip route` line (ParseRouteArgs), the device of `ip link add`
// (LinkAdd) and the address of `ip address add` (AddrAdd). The runners
// selftests/fib6run and selftests/neighrun share it (selftests/fib6ns
// takes its Nexthop). Attributes a model has no place for are not
// errors: RouteArgs.Missing names them with the capability they would
// need (selftests/verdict).
package ipcmd

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/selftests/cases"
	"raceroute/selftests/verdict"
)

// Cmd is an iproute2 command line, read as ip(8) reads it.
type Cmd struct {
	// Family is 4 or 6 when -4 or -6 says so, 0 when iproute2 infers it
	// from the addresses.
	Family int
	// Obj and Verb are spelled out: route, address, link, neighbour;
	// add, append, delete, list ...
	Obj, Verb string
	Args      []string
}

// Parse reads `ip [-4|-6] OBJECT VERB ARGS...`; a command that is not
// ip gives ok false.
func Parse(w []string) (Cmd, bool, error) {
	if len(w) == 0 || w[0] != "ip" {
		return Cmd{}, false, nil
	}
	var c Cmd
	i := 1
	for ; i < len(w) && strings.HasPrefix(w[i], "-"); i++ {
		switch w[i] {
		case "-6":
			c.Family = 6
		case "-4":
			c.Family = 4
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
	c.Obj, c.Verb, c.Args = obj, verb, w[i+2:]
	return c, true, nil
}

// RouteArgs is what an `ip route add|del|...` line says of the route.
type RouteArgs struct {
	Route fib6.Route
	// Family is the family of the prefix (4 or 6).
	Family int
	// HasDev, HasGW, HasMetric: given on the line (a delete matches any
	// when not).
	HasDev, HasGW, HasMetric bool
	// TOS is the dsfield (rtm_tos) the line gives, 0 if none.
	TOS uint8
	// MTU is the RTAX_MTU metric, 0 if none; BadCC: a congctl the
	// kernel does not know.
	MTU   uint32
	BadCC bool
	// Nexthops are the legs of an RTA_MULTIPATH request (`nexthop via GW
	// [dev DEV] [weight 1] ...`), in order; none for a single-path one.
	Nexthops []Nexthop
	// Missing names an attribute the model does not hold, with the
	// capability it would need.
	Missing string
}

// Nexthop is one leg of `nexthop`: a gateway and a device, each
// given or not.
type Nexthop struct {
	GW  netip.Addr
	Dev string
}

// routeMetrics are the RTAX metrics iproute2 knows (ip/iproute.c).
var routeMetrics = map[string]bool{
	"mtu": true, "advmss": true, "hoplimit": true, "window": true, "rtt": true, "rttvar": true,
	"reordering": true, "cwnd": true, "initcwnd": true, "initrwnd": true, "ssthresh": true,
	"realms": true, "rto_min": true, "features": true, "quickack": true, "congctl": true,
	"fastopen_no_cookie": true,
}

// ParseRouteArgs reads the route of an ip route line: [TYPE] PREFIX
// [via GW] [dev DEV] [metric N] [table T] [proto P]. Attributes the model
// has no place for are not errors: they set Missing.
func ParseRouteArgs(args []string) (RouteArgs, error) {
	ra := RouteArgs{Route: fib6.Route{Type: fib6.Unicast, Table: fib6.MainTable, Proto: kernel.ProtoBoot, Metric: fib6.DefaultMetric}}
	need := func(i int, kw string) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("%q wants a value", kw)
		}
		return args[i+1], nil
	}
	i := 0
	if i < len(args) {
		if t, ok := fib6.ParseType(args[i]); ok {
			ra.Route.Type = t
			i++
		} else if t, ok := kernel.ParseRouteType(args[i]); ok {
			ra.Missing = "route type " + t.String()
			i++
		}
	}
	if i < len(args) && args[i] == "to" {
		i++
	}
	if i >= len(args) {
		return ra, fmt.Errorf("no prefix")
	}
	p, fam, err := ParsePrefix(args[i])
	if err != nil {
		return ra, err
	}
	ra.Route.Prefix, ra.Family = p, fam
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
			ra.Route.Gateway, ra.HasGW = a, true
		case kw == "dev" || kw == "oif":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			ra.Route.Dev, ra.HasDev = v, true
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
			ra.Route.Metric, ra.Route.MetricSet, ra.HasMetric = uint32(n), true, true
		case kw == "table":
			v, err := need(i, kw)
			if err != nil {
				return ra, err
			}
			i++
			switch v {
			case "main":
				ra.Route.Table = fib6.MainTable
			case "local":
				ra.Route.Table = 255
			default:
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil || n == 0 {
					return ra, fmt.Errorf("table %q: not a table", v)
				}
				ra.Route.Table = uint32(n)
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
			ra.Route.Proto = pr
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
				ra.setMissing(verdict.CapMetrics + " (locked)")
				i++
				continue
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return ra, fmt.Errorf("mtu %q: %w", v, err)
			}
			// ip_metrics_convert(): RTAX_MTU is capped at 65535 - 15
			ra.MTU = uint32(min(n, 65535-15))
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
				ra.setMissing(verdict.CapMetrics + " (congctl)")
			default:
				ra.BadCC = true
			}
		case routeMetrics[kw] || kw == "lock":
			ra.setMissing(verdict.CapMetrics)
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
			ra.TOS = uint8(n)
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
// and any other attribute (onlink, encap) set Missing.
func (ra *RouteArgs) parseNexthops(args []string) error {
	ra.Nexthops = append(ra.Nexthops, Nexthop{})
	for i := 0; i < len(args); i++ {
		nh := &ra.Nexthops[len(ra.Nexthops)-1]
		kw := args[i]
		if kw == "nexthop" {
			ra.Nexthops = append(ra.Nexthops, Nexthop{})
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
			nh.GW = a
			if !ra.Route.Gateway.IsValid() {
				ra.Route.Gateway = a // the family of a default route
			}
		case "dev":
			nh.Dev = v
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
func (ra *RouteArgs) fixDefault(family int) {
	if ra.Family != 0 {
		return
	}
	switch {
	case ra.Route.Gateway.Is4():
		ra.Family = 4
	case ra.Route.Gateway.IsValid():
		ra.Family = 6
	case family != 0:
		ra.Family = family
	default:
		ra.Family = 4
	}
	if ra.Family == 4 {
		ra.Route.Prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
}

func (ra *RouteArgs) setMissing(c string) {
	if ra.Missing == "" {
		ra.Missing = c
	}
}

// ParsePrefix reads default, ADDR or ADDR/LEN as iproute2's get_prefix
// does; the kernel masks the host bits (ipv6_addr_prefix).
//
// default has no family of its own (0): iproute2 takes the gateway's, or
// the -4/-6 option's, else IPv4's (iproute_modify()).
func ParsePrefix(s string) (netip.Prefix, int, error) {
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

// LinkAdd reads `ip link add [name] NAME [up] type KIND [table N] [peer name P]`.
func LinkAdd(args []string) (name, kind string, up bool, table uint32, err error) {
	i := 0
	if i < len(args) && args[i] == "name" {
		i++
	}
	if i >= len(args) {
		return "", "", false, 0, fmt.Errorf("link add without a name")
	}
	name = args[i]
	for i++; i < len(args); i++ {
		switch args[i] {
		case "up":
			up = true
		case "type":
			if i+1 < len(args) {
				kind = args[i+1]
				i++
			}
		case "table":
			if i+1 < len(args) {
				var n uint64
				if _, err := fmt.Sscan(args[i+1], &n); err != nil || n == 0 {
					return "", "", false, 0, fmt.Errorf("table %q", args[i+1])
				}
				table = uint32(n)
				i++
			}
		}
	}
	if kind == "" {
		return "", "", false, 0, fmt.Errorf("link add without a type")
	}
	return name, kind, up, table, nil
}

// ArgAfter returns the word after the words kw... in args.
func ArgAfter(args []string, kw ...string) string {
	for i := 0; i+len(kw) < len(args); i++ {
		if slices.Equal(args[i:i+len(kw)], kw) {
			return args[i+len(kw)]
		}
	}
	return ""
}

// AddrAdd reads `ip addr add [dev D] ADDR/LEN [dev D] [nodad]`.
func AddrAdd(args []string) (netip.Prefix, string, error) {
	var p netip.Prefix
	dev := ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "dev":
			if i+1 >= len(args) {
				return p, "", fmt.Errorf("dev without a name")
			}
			dev = args[i+1]
			i++
		case "nodad":
		default:
			q, err := netip.ParsePrefix(args[i])
			if err != nil || p.IsValid() {
				return p, "", fmt.Errorf("address %q is not understood", args[i])
			}
			p = q
		}
	}
	if !p.IsValid() || dev == "" {
		return p, "", fmt.Errorf("want ADDRESS/LEN dev DEV")
	}
	return p, dev, nil
}
