package routefile

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"raceroute/apply/route"
	"raceroute/kernel"
)

var (
	readFile = os.ReadFile
	readDir  = func(dir string) ([]string, error) {
		ents, err := os.ReadDir(dir)
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.Name()
		}
		return names, err
	}
)

// unsupported are keywords of `ip route replace` that the writer does
// not set: refused by name rather than ignored, so that a route is never
// written other than asked.
var unsupported = map[string]string{
	"tos": "", "dsfield": "", "scope": "the writer gives every route the scope iproute2 would",
	"mtu": "", "advmss": "", "rtt": "", "rttvar": "", "reordering": "", "window": "", "cwnd": "",
	"initcwnd": "", "initrwnd": "", "ssthresh": "", "realms": "", "rto_min": "", "features": "",
	"quickack": "", "congctl": "", "fastopen_no_cookie": "", "hoplimit": "", "expires": "",
	"encap": "", "nhid": "the writer manages nexthop objects itself", "pref": "", "ttl-propagate": "",
	"from": "", "vrf": "give the VRF's table with `table`", "mpath": "", "realm": "",
}

// parseLine reads one route: [route replace|add] [TYPE] PREFIX [KEYWORD VALUE]...
// toks are the line's fields. The entry's next hops are in hops (a
// buffer the caller passes every line, and copies them out of); the
// buffer is returned for the next.
func parseLine(toks []string, opts Options, hops []route.Nexthop) (Entry, string, []route.Nexthop) {
	fam := opts.Family
	// An optional `-4`/`-6`, then `route replace` or `route add`.
	if len(toks) > 0 && (toks[0] == "-4" || toks[0] == "-6") {
		fam = int(toks[0][1] - '0')
		toks = toks[1:]
	}
	if len(toks) > 0 && (toks[0] == "route" || toks[0] == "ro" || toks[0] == "r") {
		if len(toks) < 2 || (toks[1] != "replace" && toks[1] != "add" && toks[1] != "append") {
			got := "nothing"
			if len(toks) > 1 {
				got = fmt.Sprintf("%q", toks[1])
			}
			return Entry{}, fmt.Sprintf("want `route replace` or `route add` before a route (each line is a desired route), got `route` and %s", got), hops
		}
		toks = toks[2:]
	}
	p := lineParser{toks: toks, fam: fam, opts: opts, hops: hops}
	e, msg := p.parse()
	return e, msg, p.hops
}

type lineParser struct {
	toks []string
	i    int
	fam  int // 4, 6 or 0 (not known yet)
	opts Options
	// hops is where a line's next hops are gathered: the entry's are a
	// copy (into readLines' slab), so that the buffer serves every line.
	hops []route.Nexthop
}

// onceKey names a keyword a route may give once; onceSet is a set of
// them.
type onceKey uint8

type onceSet uint8

const (
	onceType onceKey = iota
	onceDst
	onceMetric
	onceTable
	onceProto
	onceSrc
)

var onceNames = [...]string{onceType: "type", onceDst: "destination", onceMetric: "metric", onceTable: "table", onceProto: "proto", onceSrc: "src"}

func (p *lineParser) next(what string) (string, string) {
	if p.i >= len(p.toks) {
		return "", fmt.Sprintf("%s: want a value after %q", what, p.toks[p.i-1])
	}
	t := p.toks[p.i]
	p.i++
	return t, ""
}

func (p *lineParser) setFamily(a netip.Addr, what string) string {
	f := 4
	if a.Is6() && !a.Is4In6() {
		f = 6
	}
	if p.fam == 0 {
		p.fam = f
		return ""
	}
	if p.fam != f {
		return fmt.Sprintf("%s %s is IPv%d in an IPv%d route", what, a, f, p.fam)
	}
	return ""
}

func (p *lineParser) parse() (Entry, string) {
	var e Entry
	r := &e.Route
	if len(p.toks) == 0 {
		return e, "want a route (PREFIX or default, then via/dev/metric ...), got nothing"
	}
	var dst string
	hops := p.hops[:0]
	defer func() { p.hops = hops[:0] }()
	cur := route.Nexthop{}
	haveHop := false
	inNexthop := false
	var seen onceSet
	once := func(k onceKey) string {
		if seen&(1<<k) != 0 {
			return fmt.Sprintf("%s given twice", onceNames[k])
		}
		seen |= 1 << k
		return ""
	}
	flushHop := func() {
		if haveHop {
			hops = append(hops, cur)
		}
		cur, haveHop = route.Nexthop{}, false
	}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		var msg string
		switch t {
		case "to":
			v, m := p.next("to")
			if m != "" {
				return e, m
			}
			if typ, ok := kernel.ParseRouteType(v); ok && typ != kernel.RouteUnspec {
				if msg = once(onceType); msg == "" {
					r.Type = typ
					v, m = p.next("to " + typ.String())
					if m != "" {
						return e, m
					}
				}
			}
			if msg == "" {
				msg = once(onceDst)
				dst = v
			}
		case "via":
			v, m := p.next("via")
			if m != "" {
				return e, m
			}
			if v == "inet" || v == "inet6" {
				if v, m = p.next("via " + v); m != "" {
					return e, m
				}
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return e, fmt.Sprintf("via %q: want a gateway address", v)
			}
			if cur.Gateway.IsValid() {
				return e, "via given twice for one next hop"
			}
			if !inNexthop && len(hops) > 0 {
				return e, "via after a nexthop: give it inside the nexthop"
			}
			// An IPv4 route may have an IPv6 gateway (RTA_VIA); the family
			// is the destination's.
			if p.fam == 0 && dst != "" && dst != "default" && dst != "all" {
				if m := p.familyOfDst(dst); m != "" {
					return e, m
				}
			}
			if !(p.fam == 4 && a.Is6()) {
				msg = p.setFamily(a, "gateway")
			}
			cur.Gateway, haveHop = a.Unmap(), true
		case "dev", "oif":
			v, m := p.next(t)
			if m != "" {
				return e, m
			}
			if cur.Dev != "" {
				return e, "dev given twice for one next hop"
			}
			if !inNexthop && len(hops) > 0 {
				return e, "dev after a nexthop: give it inside the nexthop"
			}
			cur.Dev, haveHop = v, true
		case "weight":
			if !inNexthop {
				return e, "weight outside a nexthop: write `nexthop via GW dev DEV weight N`"
			}
			v, m := p.next("weight")
			if m != "" {
				return e, m
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 256 {
				return e, fmt.Sprintf("weight %q: want a whole number from 1 to 256", v)
			}
			cur.Weight = n
		case "onlink":
			cur.Onlink, haveHop = true, true
		case "nexthop":
			if !inNexthop && haveHop {
				return e, "nexthop after a via or dev of the route: give every next hop as a nexthop"
			}
			flushHop()
			inNexthop = true
		case "metric", "priority", "preference":
			if msg = once(onceMetric); msg != "" {
				break
			}
			v, m := p.next(t)
			if m != "" {
				return e, m
			}
			n, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return e, fmt.Sprintf("%s %q: want a whole number from 0 to 4294967295", t, v)
			}
			r.Metric = uint32(n)
		case "table", "tb":
			if msg = once(onceTable); msg != "" {
				break
			}
			v, m := p.next("table")
			if m != "" {
				return e, m
			}
			tb, m := p.table(v)
			if m != "" {
				return e, m
			}
			r.Table = tb
		case "proto", "protocol":
			if msg = once(onceProto); msg != "" {
				break
			}
			v, m := p.next(t)
			if m != "" {
				return e, m
			}
			pr, ok := kernel.ParseProto(v)
			if !ok {
				return e, fmt.Sprintf("proto %q: want a protocol name (static, babel, ...) or number 0 to 255", v)
			}
			e.Proto = pr
		case "src":
			if msg = once(onceSrc); msg != "" {
				break
			}
			v, m := p.next("src")
			if m != "" {
				return e, m
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return e, fmt.Sprintf("src %q: want an address", v)
			}
			r.Src = a.Unmap()
			msg = p.setFamily(r.Src, "src")
		case "type":
			v, m := p.next("type")
			if m != "" {
				return e, m
			}
			typ, ok := kernel.ParseRouteType(v)
			if !ok || typ == kernel.RouteUnspec {
				return e, fmt.Sprintf("type %q: want unicast, local, broadcast, multicast, anycast, blackhole, unreachable, prohibit, throw or nat", v)
			}
			if msg = once(onceType); msg == "" {
				r.Type = typ
			}
		default:
			if dst == "" && t[0] >= '0' && t[0] <= '9' && !strings.ContainsAny(t, "=") {
				// A destination (no keyword or route type starts with a
				// digit): what the checks below would find, sooner.
				dst = t
				seen |= 1 << onceDst
				continue
			}
			if why, ok := unsupported[t]; ok {
				if why == "" {
					why = "raceroute apply writes routes without it"
				}
				return e, fmt.Sprintf("%s is not supported: %s", t, why)
			}
			if typ, ok := kernel.ParseRouteType(t); ok && typ != kernel.RouteUnspec && dst == "" && seen&(1<<onceType) == 0 {
				seen |= 1 << onceType
				r.Type = typ
				continue
			}
			if dst == "" && !strings.ContainsAny(t, "=") {
				dst = t
				seen |= 1 << onceDst
				continue
			}
			return e, fmt.Sprintf("unknown keyword %q (after the destination: via, dev, metric, table, src, proto, onlink, nexthop)", t)
		}
		if msg != "" {
			return e, msg
		}
	}
	flushHop()
	if dst == "" {
		return e, "no destination: want PREFIX (10.0.0.0/24, 2001:db8::/48, an address) or default"
	}
	if m := p.destination(dst, r); m != "" {
		return e, m
	}
	for _, h := range hops {
		if inNexthop && !h.Gateway.IsValid() && h.Dev == "" {
			return e, "a nexthop without via or dev"
		}
	}
	r.Nexthops = hops
	return e, ""
}

// familyOfDst sets the family from the destination text.
func (p *lineParser) familyOfDst(dst string) string {
	a := dst
	if i := strings.IndexByte(dst, '/'); i >= 0 {
		a = dst[:i]
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return fmt.Sprintf("destination %q: want a prefix such as 10.0.0.0/24 or 2001:db8::/48, an address, or default", dst)
	}
	return p.setFamily(addr, "destination")
}

// destination reads PREFIX, ADDRESS or default into r.Dst.
func (p *lineParser) destination(dst string, r *route.Route) string {
	if dst == "default" || dst == "all" || dst == "any" {
		if p.fam == 6 {
			r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		return ""
	}
	var pfx netip.Prefix
	if strings.Contains(dst, "/") {
		var err error
		pfx, err = netip.ParsePrefix(dst)
		if err != nil {
			return fmt.Sprintf("destination %q: want a prefix such as 10.0.0.0/24 or 2001:db8::/48", dst)
		}
	} else {
		a, err := netip.ParseAddr(dst)
		if err != nil {
			return fmt.Sprintf("destination %q: want a prefix such as 10.0.0.0/24 or 2001:db8::/48, an address, or default", dst)
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	if pfx.Addr().Is4In6() {
		return fmt.Sprintf("destination %q: an IPv4-mapped IPv6 prefix", dst)
	}
	if pfx.Addr().Zone() != "" {
		return fmt.Sprintf("destination %q: a zone has no place in a route", dst)
	}
	if pfx.Masked() != pfx {
		// iproute2 refuses host bits too ("Invalid prefix for given prefix
		// length"), from 4.15.
		return fmt.Sprintf("destination %s has host bits set: write %s", dst, pfx.Masked())
	}
	if m := p.setFamily(pfx.Addr(), "destination"); m != "" {
		return m
	}
	r.Dst = pfx
	return ""
}

// table reads a table number or name.
func (p *lineParser) table(v string) (uint32, string) {
	switch v {
	case "main":
		return 254, ""
	case "local":
		return 255, ""
	case "default":
		return 253, ""
	}
	if n, err := strconv.ParseUint(v, 0, 32); err == nil {
		if n == 0 {
			return 0, "table 0 is no table (RT_TABLE_UNSPEC)"
		}
		return uint32(n), ""
	}
	if n, ok := p.opts.Tables[v]; ok && n != 0 {
		return n, ""
	}
	return 0, fmt.Sprintf("table %q: no such table (give a number, or a name of iproute2's rt_tables)", v)
}
