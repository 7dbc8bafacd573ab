package selftests

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/profile"
	"raceroute/selftests/cases"
)

// This file runs fib_tests.sh cases on model/fib6. The model holds one
// namespace's IPv6 routing table (the namespace the script's `$IP -6
// route` commands run in); the runner keeps what the table needs of the
// rest of that namespace: its devices, which VRF table each is in, and
// the prefix routes addrconf made for the set-up's addresses. Each route
// change is one netlink request, answered before the next: a fresh
// model holding the table as it stands and one agent with that change
// (fib6.Config.Listed, fib6.Model.Apply).

// fibDev is a device of the modelled namespace.
type fibDev struct {
	up    bool
	table uint32    // the VRF table it is enslaved to, or main
	vrf   uint32    // for a VRF device: its table
	addrs []fibAddr // its IPv6 addresses, in the order added
	peer  string    // a veth's other end
	// keepAddr is net.ipv6.conf.DEV.keep_addr_on_down > 0.
	keepAddr bool
	// noCarrier: `ip link set DEV carrier off` (a dummy's carrier).
	noCarrier bool
	kind      string // dummy, veth, vrf ...
}

// fibWorld is the modelled namespace.
type fibWorld struct {
	p     profile.Profile
	host  string
	table []fib6.Route
	devs  map[string]*fibDev
	// tainted are prefixes whose routes the model no longer knows (a
	// case it could not run changed them); lost is set when it knows
	// none (a link or address event it cannot follow).
	tainted map[netip.Prefix]bool
	lost    string
	// keepAddr is net.ipv6.conf.all.keep_addr_on_down > 0.
	keepAddr bool
	// dead are the ECMP legs flagged RTNH_F_DEAD (their device went down
	// while a sibling's did not).
	dead map[fib6.Route]bool
	// mtu are the RTAX_MTU metrics of routes that have one.
	mtu map[fib6.Route]uint32
}

// fibAct is one step as the model runs it.
type fibAct struct {
	kind   fibKind
	op     fib6.Op
	pfx    netip.Prefix   // flush, list: the prefix; op: its route's
	table  uint32         // flush, list
	filter []cases.Filter // list: the pipeline after ip
	// nexthops are the legs of an RTA_MULTIPATH request; op.Route is
	// their template (prefix, metric, table).
	nexthops []nexthopArgs
	dev      string // link add / up / down / delete, sysctl: the device
	addr     addrCmd
	dst      netip.Addr // route get
	keep     bool       // sysctl keep_addr_on_down; carrier on
	linkKind string     // link add
	mtu      uint32     // route add: RTAX_MTU
}

type fibKind uint8

const (
	fibNone  fibKind = iota // no effect on the IPv6 table (IPv4, sleep, another namespace)
	fibOp                   // a route change
	fibFlush                // ip -6 route flush PREFIX: dump, then delete each
	fibList                 // ip -6 route list match PREFIX
	fibLinkAdd
	fibLinkUp
	fibRefused // a request the kernel refuses before it looks at the table
	fibAddress // ip -6 address add|change|replace|del|flush
	fibLinkDown
	fibUnregister
	fibGet    // ip -6 route get fibmatch DST
	fibSysctl // keep_addr_on_down
	fibCarrier
)

// runFib6 runs a fib_tests file on p.
func runFib6(f *cases.File, p profile.Profile) ([]Result, error) {
	host, err := hostNamespace(f)
	if err != nil {
		return nil, err
	}
	w := &fibWorld{p: p, host: host}
	w.reset()
	envs := map[string]*fibWorld{}
	for i := range f.Envs {
		e := &fibWorld{p: p, host: host}
		e.reset()
		if err := e.applyEnv(&f.Envs[i]); err != nil {
			e.lost = "the set-up " + f.Envs[i].Name + ": " + err.Error()
		}
		envs[f.Envs[i].Name] = e
	}
	var out []Result
	for ci := range f.Cases {
		c := &f.Cases[ci]
		out = append(out, w.runCase(c, envs))
	}
	return out, nil
}

// hostNamespace is the namespace the file's IPv6 route commands run in.
func hostNamespace(f *cases.File) (string, error) {
	host := ""
	for _, c := range f.Cases {
		for _, s := range c.Steps {
			w, err := s.Words()
			if err != nil {
				return "", err
			}
			cmd, ok, err := parseIP(w)
			if !ok || err != nil || cmd.obj != "route" || cmd.family != 6 {
				continue
			}
			if host != "" && host != s.NS {
				return "", fmt.Errorf("IPv6 route commands run in %s and %s: the model holds one table", host, s.NS)
			}
			host = s.NS
		}
	}
	if host == "" {
		return "", fmt.Errorf("no IPv6 route command")
	}
	return host, nil
}

func (w *fibWorld) reset() {
	w.table = nil
	w.devs = map[string]*fibDev{"lo": {up: true, table: fib6.MainTable}}
	w.tainted = map[netip.Prefix]bool{}
	w.lost = ""
	w.dead = map[fib6.Route]bool{}
	w.mtu = map[fib6.Route]uint32{}
}

func (w *fibWorld) copyFrom(o *fibWorld) {
	w.table = slices.Clone(o.table)
	w.devs = map[string]*fibDev{}
	for k, d := range o.devs {
		dd := *d
		dd.addrs = slices.Clone(d.addrs)
		w.devs[k] = &dd
	}
	w.tainted = map[netip.Prefix]bool{}
	w.lost = o.lost
	w.keepAddr = o.keepAddr
	w.dead = maps.Clone(o.dead)
	w.mtu = maps.Clone(o.mtu)
}

// applyEnv builds the namespace from a set-up function's steps: devices
// and the prefix routes of its IPv6 addresses. Sysctls and other
// namespaces do not change this table.
func (w *fibWorld) applyEnv(e *cases.Env) error {
	for _, s := range e.Steps {
		if s.Role == cases.RoleNetns || s.NS != w.host {
			continue
		}
		words, err := s.Words()
		if err != nil {
			return err
		}
		if len(words) > 0 && words[0] == "sysctl" {
			continue // forwarding: no change to what fib6_add() does
		}
		cmd, ok, err := parseIP(words)
		if !ok || err != nil {
			return fmt.Errorf("the set-up step at line %d (%s) is not understood", s.Line, s.Cmd)
		}
		if err := w.envIP(cmd); err != nil {
			return fmt.Errorf("the set-up step at line %d (%s): %v", s.Line, s.Cmd, err)
		}
	}
	return nil
}

// envIP applies one set-up ip command.
func (w *fibWorld) envIP(c ipCmd) error {
	switch {
	case c.obj == "link" && c.verb == "add":
		name, kind, up, table, err := linkAdd(c.args)
		if err != nil {
			return err
		}
		d := &fibDev{up: up, table: fib6.MainTable, kind: kind}
		if kind == "vrf" {
			d.vrf = table
		}
		w.devs[name] = d
		if peer := argAfter(c.args, "peer", "name"); peer != "" {
			d.peer = peer
			w.devs[peer] = &fibDev{table: fib6.MainTable, peer: name, kind: kind}
		}
		return nil
	case c.obj == "link" && c.verb == "set":
		return w.linkSet(c.args, true)
	case c.obj == "address" && c.verb == "add":
		a, dev, err := addrAdd(c.args)
		if err != nil {
			return err
		}
		if a.Addr().Is4() {
			return nil
		}
		d := w.devs[dev]
		if d == nil || !d.up {
			return fmt.Errorf("device %s is not there or down", dev)
		}
		// inet6_addr_add(): the prefix route, proto kernel, metric
		// IP6_RT_PRIO_ADDRCONF (256), in the device's table.
		if miss := w.addAddress(dev, fibAddr{pfx: a, nodad: slices.Contains(c.args, "nodad")}); miss != "" {
			return fmt.Errorf("%s", miss)
		}
		return nil
	}
	return fmt.Errorf("ip %s %s is not understood in a set-up", c.obj, c.verb)
}

// linkSet applies `ip link set [dev] NAME [up|down] [netns NS] [vrf V]`.
// In a case (env false) only up is followed.
func (w *fibWorld) linkSet(args []string, env bool) error {
	if len(args) > 0 && args[0] == "dev" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("link set without a device")
	}
	d := w.devs[args[0]]
	if d == nil {
		return fmt.Errorf("no device %s", args[0])
	}
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "up":
			d.up = true
		case "down":
			d.up = false
		case "netns":
			if i+1 >= len(args) {
				return fmt.Errorf("netns without a name")
			}
			delete(w.devs, args[0])
			i++
		case "vrf", "master":
			if i+1 >= len(args) || w.devs[args[i+1]] == nil || w.devs[args[i+1]].vrf == 0 {
				return fmt.Errorf("%s of no VRF device", args[i])
			}
			d.table = w.devs[args[i+1]].vrf
			i++
		default:
			return fmt.Errorf("link set %s is not understood", args[i])
		}
	}
	_ = env
	return nil
}

// linkAdd reads `ip link add [name] NAME [up] type KIND [table N] [peer name P]`.
func linkAdd(args []string) (name, kind string, up bool, table uint32, err error) {
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

// argAfter returns the word after the words kw... in args.
func argAfter(args []string, kw ...string) string {
	for i := 0; i+len(kw) < len(args); i++ {
		if slices.Equal(args[i:i+len(kw)], kw) {
			return args[i+len(kw)]
		}
	}
	return ""
}

// addrAdd reads `ip addr add [dev D] ADDR/LEN [dev D] [nodad]`.
func addrAdd(args []string) (netip.Prefix, string, error) {
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

// translate reads a case step as the model runs it, or names what the
// model lacks for it.
func (w *fibWorld) translate(s *cases.Step) (fibAct, string, error) {
	if s.NS != w.host {
		if s.NS == "" {
			if words, _ := s.Words(); len(words) > 0 && words[0] == "sleep" {
				return fibAct{}, "", nil
			}
		}
		return fibAct{}, "", nil // another namespace: not this table
	}
	pipe, err := s.Pipeline()
	if err != nil {
		return fibAct{}, "", err
	}
	words := pipe[0]
	if len(words) == 0 {
		return fibAct{}, "", fmt.Errorf("empty command")
	}
	switch words[0] {
	case "sysctl":
		return w.translateSysctl(words[1:])
	case "ping", "ping6":
		return fibAct{}, capDatapath, nil
	case "sleep":
		return fibAct{}, "", nil
	case "ip":
	default:
		return fibAct{}, "the command " + words[0], nil
	}
	c, _, err := parseIP(words)
	if err != nil {
		return fibAct{}, "", err
	}
	get := c.obj == "route" && c.verb == "get"
	var filters []cases.Filter
	for _, seg := range pipe[1:] {
		sf, err := cases.ParseFilter(seg)
		if err != nil || !sf.IsSed() && !get {
			return fibAct{}, "the shell filter " + strings.Join(seg, " "), nil
		}
		filters = append(filters, sf)
	}
	switch c.obj {
	case "route":
		return w.translateRoute(c, filters)
	case "address":
		switch c.verb {
		case "add", "delete", "change", "replace", "flush":
		default:
			return fibAct{}, capAddrconf, nil
		}
		ac, fam, miss, err := parseAddrCmd(c.verb, c.args)
		switch {
		case err != nil || miss != "":
			return fibAct{}, capAddrconf, nil
		case fam == 4 || c.verb == "flush" && c.family == 4:
			return fibAct{}, "", nil // IPv4: not this table
		case c.verb == "flush" && c.family != 6:
			return fibAct{}, capAddrconf + " (a flush of both families)", nil
		case !w.readAt():
			return fibAct{}, capAddrconf + notRead, nil
		}
		return fibAct{kind: fibAddress, addr: ac}, "", nil
	case "link":
		switch c.verb {
		case "add":
			name, kind, _, _, err := linkAdd(c.args)
			if err != nil {
				return fibAct{}, "", err
			}
			if kind != "dummy" {
				return fibAct{}, "ip link add type " + kind + " in a case", nil
			}
			return fibAct{kind: fibLinkAdd, dev: name, linkKind: kind}, "", nil
		case "delete":
			args := c.args
			if len(args) > 0 && args[0] == "dev" {
				args = args[1:]
			}
			if len(args) != 1 {
				return fibAct{}, capLinkEvents + " (unregister)", nil
			}
			if !w.readAt() {
				return fibAct{}, capLinkEvents + " (unregister)" + notRead, nil
			}
			return fibAct{kind: fibUnregister, dev: args[0]}, "", nil
		case "set":
			args := c.args
			if len(args) > 0 && args[0] == "dev" {
				args = args[1:]
			}
			if len(args) == 2 && args[1] == "up" {
				return fibAct{kind: fibLinkUp, dev: args[0]}, "", nil
			}
			if slices.Contains(args, "carrier") {
				if len(args) == 3 && args[1] == "carrier" && (args[2] == "on" || args[2] == "off") {
					if !w.readAt() {
						return fibAct{}, capLinkEvents + " (carrier)" + notRead, nil
					}
					return fibAct{kind: fibCarrier, dev: args[0], keep: args[2] == "on"}, "", nil
				}
				return fibAct{}, capLinkEvents + " (carrier)", nil
			}
			if len(args) == 2 && args[1] == "down" {
				if !w.readAt() {
					return fibAct{}, capLinkEvents + " (admin down)" + notRead, nil
				}
				return fibAct{kind: fibLinkDown, dev: args[0]}, "", nil
			}
			return fibAct{}, capLinkEvents + " (admin down)", nil
		}
	}
	return fibAct{}, fmt.Sprintf("ip %s %s", c.obj, c.verb), nil
}

// translateSysctl follows `sysctl -w net.ipv6.conf.{all,DEV}.keep_addr_on_down=N`
// (what addrconf_ifdown() reads); any other sysctl is not followed.
func (w *fibWorld) translateSysctl(args []string) (fibAct, string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if len(args) != 1 {
		return fibAct{}, capSysctl, nil
	}
	key, val, ok := strings.Cut(args[0], "=")
	parts := strings.Split(key, ".")
	if !ok || len(parts) != 5 || parts[0] != "net" || parts[1] != "ipv6" || parts[2] != "conf" || parts[4] != "keep_addr_on_down" {
		return fibAct{}, capSysctl, nil
	}
	if !w.readAt() {
		return fibAct{}, capSysctl + notRead, nil
	}
	n, err := strconv.Atoi(val)
	if err != nil {
		return fibAct{}, "", fmt.Errorf("sysctl %s: %w", args[0], err)
	}
	a := fibAct{kind: fibSysctl, keep: n > 0}
	if parts[3] != "all" {
		a.dev = parts[3]
	}
	return a, "", nil
}

func (w *fibWorld) translateRoute(c ipCmd, filters []cases.Filter) (fibAct, string, error) {
	if len(filters) > 0 && c.verb != "list" && c.verb != "show" && c.verb != "get" {
		return fibAct{}, "a pipeline after ip route " + c.verb, nil
	}
	switch c.verb {
	case "get":
		// only `get fibmatch DST`: a plain get reports the dst a lookup
		// makes (and clones), and oif/from/iif select otherwise
		oif := ""
		if len(c.args) == 4 && c.args[2] == "oif" {
			oif = c.args[3]
		} else if len(c.args) != 2 {
			return fibAct{}, capLookup, nil
		}
		if c.args[0] != "fibmatch" {
			return fibAct{}, capLookup, nil
		}
		if !w.readAt() {
			return fibAct{}, capLookup + notRead, nil
		}
		dst, err := netip.ParseAddr(c.args[1])
		if err != nil || !dst.Is6() {
			return fibAct{}, capLookup, nil
		}
		return fibAct{kind: fibGet, dst: dst, dev: oif, filter: filters}, "", nil
	case "list", "show":
		args := c.args
		if len(args) == 2 && args[0] == "match" {
			p, fam, err := parsePrefix(args[1])
			if err != nil {
				return fibAct{}, "", err
			}
			if fam == 6 || fam == 0 && c.family == 6 {
				return fibAct{kind: fibList, pfx: p, table: fib6.MainTable, filter: filters}, "", nil
			}
		}
		return fibAct{}, "the listing ip route " + strings.Join(append([]string{c.verb}, args...), " "), nil
	case "flush":
		if len(c.args) == 1 {
			p, fam, err := parsePrefix(c.args[0])
			if err != nil {
				return fibAct{}, "", err
			}
			if fam == 4 || fam == 0 && c.family != 6 {
				return fibAct{}, "", nil // IPv4: not this table
			}
			return fibAct{kind: fibFlush, pfx: p, table: fib6.MainTable}, "", nil
		}
		return fibAct{}, "ip route flush " + strings.Join(c.args, " "), nil
	case "prepend":
		return fibAct{}, "ip route prepend (NLM_F_CREATE alone)", nil
	}
	ra, err := parseRouteArgs(c.args)
	if err != nil {
		return fibAct{}, "", err
	}
	if ra.family == 4 {
		return fibAct{}, "", nil // IPv4: not this table
	}
	if ra.missing != "" {
		return fibAct{}, ra.missing, nil
	}
	if (ra.badCC || ra.mtu != 0) && c.verb != "delete" && !w.readAt() {
		return fibAct{}, capMetrics + notRead, nil
	}
	if ra.badCC && c.verb != "delete" {
		// "Unknown tcp congestion algorithm", -EINVAL (net/ipv4/metrics.c,
		// 6.12), before the route is made
		return fibAct{kind: fibRefused, pfx: ra.route.Prefix}, "", nil
	}
	if ra.tos != 0 && c.verb != "delete" {
		// rtm_to_fib6_config() refuses a request with rtm_tos: "Invalid
		// dsfield (tos): option not available for IPv6", -EINVAL (read in
		// Debian's 6.1.192, 6.12.117 and 7.2.13; not in 5.10.262: Guillaume
		// Nault's patch of Feb 2022, whose release, 5.18 or earlier, was not
		// pinned, so lines 5.11 to 6.0 are left out).
		if l, err := LineOf(w.p); err != nil || l.Less(cases.Line{Major: 6, Minor: 1}) {
			return fibAct{}, capDsfield + " (before 6.1)", nil
		}
		return fibAct{kind: fibRefused, pfx: ra.route.Prefix}, "", nil
	}
	kinds := map[string]fib6.OpKind{"add": fib6.OpAdd, "append": fib6.OpAppend, "replace": fib6.OpReplace, "change": fib6.OpChange, "delete": fib6.OpDel}
	k, ok := kinds[c.verb]
	if !ok {
		return fibAct{}, "ip route " + c.verb, nil
	}
	a := fibAct{kind: fibOp, op: fib6.Op{Kind: k, Route: ra.route}, pfx: ra.route.Prefix, mtu: ra.mtu}
	if k == fib6.OpDel {
		if len(ra.nexthops) > 0 {
			return fibAct{}, "a multipath delete (ip6_route_multipath_del)", nil
		}
		// ip6_route_del() matches what the request gives: no device, no
		// gateway, metric 0 match any (the model's fib6Del does the same).
		if !ra.metric {
			a.op.Route.Metric, a.op.Route.MetricSet = 0, false
		}
		return a, "", nil
	}
	if ra.route.Type.Reject() {
		if ra.gw || len(ra.nexthops) > 0 {
			return fibAct{}, "", fmt.Errorf("a %s route with a gateway", ra.route.Type)
		}
		if !ra.dev {
			a.op.Route.Dev = "lo" // ip6_route_info_create(): reject routes use the loopback
		}
		return a, "", nil
	}
	if len(ra.nexthops) > 0 {
		a.nexthops = ra.nexthops
		return a, "", nil
	}
	if !ra.gw && !ra.dev {
		return fibAct{}, "", fmt.Errorf("a unicast route with neither via nor dev")
	}
	return a, "", nil
}

// planned is a step of a case and what the model makes of it.
type planned struct {
	s   *cases.Step
	act fibAct
}

// changesLinks reports whether a plan changes more than the routes of
// the prefixes its route commands name: devices, addresses, sysctls.
func changesLinks(plan []planned) bool {
	for _, pl := range plan {
		switch pl.act.kind {
		case fibOp, fibFlush, fibList, fibGet, fibNone, fibRefused:
		default:
			return true
		}
	}
	return false
}

// runCase runs one case, or says why it cannot.
func (w *fibWorld) runCase(c *cases.Case, envs map[string]*fibWorld) Result {
	res := Result{Case: c}
	if c.Vacuous != "" {
		res.Verdict = Vacuous
	}
	var plan []planned
	var missing []string
	for i := range c.Steps {
		s := &c.Steps[i]
		if s.Role == cases.RoleEnv {
			w.copyFrom(envs[s.Env])
			plan, missing = nil, nil
			continue
		}
		if s.Role == cases.RoleNetns {
			continue
		}
		a, miss, err := w.translate(s)
		if err != nil {
			miss = fmt.Sprintf("the step at line %d (%v)", s.Line, err)
		}
		if miss != "" && !slices.Contains(missing, miss) {
			missing = append(missing, miss)
		}
		plan = append(plan, planned{s, a})
	}
	if w.lost != "" && !slices.Contains(missing, w.lost) {
		missing = append(missing, w.lost)
	}
	if len(missing) > 0 {
		// the case is not run: what its other steps would have changed
		// is unknown too (a route op: its prefix, below; a link, address
		// or sysctl change: the whole table)
		if changesLinks(plan) {
			w.lost = capEarlierCase
		}
		w.taint(c, missing)
		res.Missing = missing
		if res.Verdict != Vacuous {
			res.Verdict = NotExpressible
		}
		return res
	}
	before := slices.Clone(w.table)
	for _, pl := range plan {
		exit, out, miss := w.exec(pl.act)
		if miss != "" {
			w.table = before
			if changesLinks(plan) {
				w.lost = capEarlierCase // devices, addresses or sysctls may have moved
			}
			w.taint(c, []string{miss})
			res.Missing, res.Outcomes = []string{miss}, nil
			if res.Verdict != Vacuous {
				res.Verdict = NotExpressible
			}
			return res
		}
		if pl.s.Want.Kind == cases.WantNone {
			continue
		}
		o := Outcome{Step: pl.s, Exit: exit, Out: out}
		res.Outcomes = append(res.Outcomes, o)
		if res.Verdict == 0 && !pl.s.Want.Met(exit, out) {
			res.Verdict = Disagree
			role := "the assertion"
			if pl.s.Role == cases.RoleSetup {
				role = "the set-up step"
			}
			res.Why = fmt.Sprintf("%s at line %d (%s): the script wants %s, the model gives %s", role, pl.s.Line, pl.s.Cmd, pl.s.Want, o.Show())
		}
	}
	if res.Verdict == 0 {
		res.Verdict = Agree
	}
	return res
}

// taint marks what a case the model could not run may have changed: the
// prefixes its route commands name, or, after a link or address event
// or a command it does not know, the whole table.
func (w *fibWorld) taint(c *cases.Case, missing []string) {
	for _, m := range missing {
		if strings.HasPrefix(m, capLinkEvents) || strings.HasPrefix(m, capAddrconf) || strings.HasPrefix(m, capSysctl) || strings.HasPrefix(m, "the command") || strings.HasPrefix(m, "the step") {
			w.lost = capEarlierCase
			return
		}
	}
	for _, s := range c.Steps {
		words, err := s.Words()
		if err != nil || s.NS != w.host {
			continue
		}
		cmd, ok, err := parseIP(words)
		if !ok || err != nil || cmd.obj != "route" {
			continue
		}
		switch cmd.verb {
		case "get", "list", "show":
			continue
		case "flush":
			if len(cmd.args) == 1 {
				if p, _, err := parsePrefix(cmd.args[0]); err == nil {
					w.tainted[p] = true
					continue
				}
			}
		default:
			if ra, err := parseRouteArgs(cmd.args); err == nil {
				w.tainted[ra.route.Prefix] = true
				continue
			}
		}
		w.lost = capEarlierCase
		return
	}
}

// exec runs one action on the table: the exit status iproute2 gives and
// what it prints, or what the model lacks to say.
func (w *fibWorld) exec(a fibAct) (int, string, string) {
	switch a.kind {
	case fibNone:
		return 0, "", ""
	case fibRefused:
		return 2, "", "" // RTNETLINK answers: Invalid argument
	case fibAddress:
		exit, miss := w.addressRequest(a.addr)
		return exit, "", miss
	case fibLinkDown:
		if w.devs[a.dev] == nil {
			return 1, "", ""
		}
		return 0, "", w.linkDown(a.dev)
	case fibUnregister:
		if w.devs[a.dev] == nil {
			return 2, "", "" // RTNETLINK answers: No such device
		}
		w.unregister(a.dev)
		return 0, "", ""
	case fibGet:
		exit, out, miss := w.fibmatch(a.dst, a.dev)
		if miss != "" {
			return 0, "", miss
		}
		out, exit = cases.RunPipeline(a.filter, out, exit)
		return exit, cases.Output(out), ""
	case fibCarrier:
		d := w.devs[a.dev]
		if d == nil {
			return 1, "", ""
		}
		for _, r := range w.table {
			if r.Dev == a.dev && ecmp(r) && w.hasSibling(r) {
				return 0, "", capLinkEvents + " (carrier under a multipath leg)"
			}
		}
		d.noCarrier = !a.keep
		return 0, "", ""
	case fibSysctl:
		if a.dev == "" {
			w.keepAddr = a.keep
		} else if d := w.devs[a.dev]; d != nil {
			d.keepAddr = a.keep
		} else {
			return 255, "", "" // sysctl: cannot stat
		}
		return 0, "", ""
	case fibLinkAdd:
		w.devs[a.dev] = &fibDev{table: fib6.MainTable, kind: a.linkKind}
		return 0, "", ""
	case fibLinkUp:
		d := w.devs[a.dev]
		if d == nil {
			return 1, "", ""
		}
		if w.readAt() {
			return 0, "", w.linkUp(a.dev)
		}
		if len(d.addrs) > 0 && !d.up {
			return 0, "", capLinkEvents + " (admin up)" + notRead
		}
		d.up = true
		return 0, "", ""
	case fibList:
		var match []fib6.Route
		for _, r := range w.table {
			if r.Table != a.table || r.Prefix.Bits() > a.pfx.Bits() || !r.Prefix.Contains(a.pfx.Addr()) {
				continue
			}
			if w.tainted[r.Prefix] {
				return 0, "", capEarlierCase
			}
			match = append(match, r)
		}
		lines := w.listLines(match)
		for p := range w.tainted {
			if p.Bits() <= a.pfx.Bits() && p.Contains(a.pfx.Addr()) {
				return 0, "", capEarlierCase
			}
		}
		out := ""
		if len(lines) > 0 {
			out = strings.Join(lines, "\n") + "\n"
		}
		out, _ = cases.RunPipeline(a.filter, out, 0)
		return 0, cases.Output(out), ""
	case fibFlush:
		// iproute2 dumps the table and deletes each route whose prefix is
		// exactly this one; it exits 0 even when there is none.
		var keep []fib6.Route
		for _, r := range w.table {
			if r.Table == a.table && r.Prefix == a.pfx {
				continue
			}
			keep = append(keep, r)
		}
		w.table = keep
		delete(w.tainted, a.pfx)
		return 0, "", ""
	}
	if w.tainted[a.pfx] {
		return 0, "", capEarlierCase
	}
	var errno kernel.Errno
	var miss string
	if len(a.nexthops) > 0 {
		errno, miss = w.multipathAdd(a.op, a.nexthops, a.mtu)
	} else {
		errno, miss = w.routeRequest(a.op, a.mtu)
	}
	if miss != "" {
		return 0, "", miss
	}
	if errno != 0 {
		return 2, "", "" // RTNETLINK answers: ...; ip exits 2
	}
	return 0, "", ""
}

// routeRequest is one RTM_NEWROUTE or RTM_DELROUTE of a single-path
// route: its nexthop checked as ip6_route_info_create() does, then the
// model's answer.
func (w *fibWorld) routeRequest(op fib6.Op, mtu uint32) (kernel.Errno, string) {
	if op.Kind != fib6.OpDel {
		r, errno, miss := w.createNexthop(op.Route)
		if miss != "" || errno != 0 {
			return errno, miss
		}
		op.Route = r
	}
	errno, miss := w.insert(op)
	if errno == 0 && miss == "" && op.Kind != fib6.OpDel {
		w.setMTU(op.Route, mtu)
	}
	return errno, miss
}

// setMTU records the RTAX_MTU of a route just made
// (ip_fib_metrics_init() from the request's RTA_METRICS; none: 0).
func (w *fibWorld) setMTU(r fib6.Route, mtu uint32) {
	if mtu == 0 {
		delete(w.mtu, r)
		return
	}
	w.mtu[r] = mtu
}

// createNexthop checks a new route's nexthop and fills in its device, as
// ip6_route_info_create() -> fib6_nh_init() -> ip6_validate_gw() ->
// ip6_route_check_nh() do (net/ipv6/route.c, read at 6.12; 4.19's
// ip6_route_check_nh() refuses the same cases through rt6_lookup()): a
// gateway may not be an address of the device's L3 domain ("Gateway can
// not be a local address", -EINVAL; __ipv6_chk_addr_and_flags() skips
// addresses whose device has another l3mdev master, read in mainline's
// addrconf.c, so an address in a VRF is a valid gateway from main); a
// global gateway must resolve to a
// device route, on the device given if one is (-EHOSTUNREACH: the lookup
// finds no route, a reject route or a gateway route, or another
// device); the device must exist and be up. Link-local gateways are not
// looked up by the kernel either way and are not modelled.
func (w *fibWorld) createNexthop(r fib6.Route) (fib6.Route, kernel.Errno, string) {
	if r.Type != fib6.Unicast {
		return r, 0, ""
	}
	if gw := r.Gateway; gw.IsValid() {
		if gw.IsLinkLocalUnicast() {
			return r, 0, capGatewayVal + " of a link-local gateway"
		}
		dev, ok := w.gatewayDev(gw, r.Dev)
		if !ok {
			return r, kernel.EHOSTUNREACH, ""
		}
		r.Dev = dev
		if d := w.devs[dev]; d != nil && w.isLocal(gw, d.table) {
			return r, kernel.EINVAL, ""
		}
	}
	if d := w.devs[r.Dev]; d == nil || !d.up {
		return r, 0, "device checks (fib6_nh_init: no device, or down)"
	}
	return r, 0, ""
}

// insert puts one request to a fresh model holding the table as it
// stands, and keeps the table it leaves.
func (w *fibWorld) insert(op fib6.Op) (kernel.Errno, string) {
	m, err := fib6.New(fib6.Config{Profile: w.p, Routes: w.table, Listed: true, Actors: []fib6.Actor{{Name: "script", Ops: []fib6.Op{op}}}})
	if err != nil {
		return 0, "the model's capacity (" + err.Error() + ")"
	}
	s := m.Init()
	ans, err := m.Exec(&s, op)
	if err != nil {
		return 0, err.Error()
	}
	w.table = w.table[:0]
	for _, r := range m.Table(&s) {
		if !r.Cache {
			w.table = append(w.table, r.Route)
		}
	}
	dumpOrder(w.table)
	w.forgetDead()
	return ans.Err, ""
}

// multipathAdd mirrors ip6_route_multipath_add() (net/ipv6/route.c, read
// at 6.12; the same steps at 4.19.108 and RHEL 8's 4.18.0-240): every
// leg is made first (ip6_route_info_create(), so an invalid gateway
// fails the request with nothing changed), must qualify for ECMP ("Device
// only routes can not be added for IPv6 using the multipath API",
// -EINVAL) and must not repeat a leg (ip6_route_info_append(), -EEXIST);
// then each leg is inserted as a single route, the first with the
// request's flags and the others with NLM_F_EXCL and NLM_F_REPLACE
// cleared and NLM_F_CREATE set, so that they join the first as ECMP
// siblings; if one fails, the legs inserted before it are deleted
// again. NLM_F_APPEND changes only the notification (fib6_add_rt2node()
// reads it for nlflags alone, 4.19 and 6.12), so the later legs run as
// appends.
func (w *fibWorld) multipathAdd(op fib6.Op, legs []nexthopArgs, mtu uint32) (kernel.Errno, string) {
	var routes []fib6.Route
	for _, l := range legs {
		r := op.Route
		r.Gateway, r.Dev = l.gw, l.dev
		if r.Dev == "" && !r.Gateway.IsValid() {
			return kernel.EINVAL, "" // no gateway, no device: not a nexthop
		}
		r, errno, miss := w.createNexthop(r)
		if miss != "" || errno != 0 {
			return errno, miss
		}
		if !r.Gateway.IsValid() {
			return kernel.EINVAL, "" // rt6_qualify_for_ecmp() is false
		}
		for _, o := range routes {
			if o.Dev == r.Dev && o.Gateway == r.Gateway {
				return kernel.EEXIST, "" // rt6_duplicate_nexthop()
			}
		}
		routes = append(routes, r)
	}
	for i, r := range routes {
		kind := op.Kind
		if i > 0 {
			kind = fib6.OpAppend
		}
		errno, miss := w.insert(fib6.Op{Kind: kind, Route: r})
		if miss != "" {
			return 0, miss
		}
		if errno != 0 {
			for _, done := range routes[:i] {
				if _, miss := w.insert(fib6.Op{Kind: fib6.OpDel, Route: done}); miss != "" {
					return 0, miss
				}
			}
			return errno, ""
		}
		w.setMTU(r, mtu) // every leg gets the request's metrics (r_cfg is a copy of cfg)
	}
	return 0, ""
}

// listLines prints routes as `ip -6 route` does. ECMP siblings (the
// gateway routes of one prefix and metric, rt6_qualify_for_ecmp()) are
// one route with RTA_MULTIPATH: rt6_fill_node() puts the first route's
// nexthop and each sibling's in it, and fib6_dump_node() skips the
// siblings after it (both since 4.11, beb1afac518d "net: ipv6: Add
// support to dump multipath routes via RTA_MULTIPATH attribute"; read at
// 6.12); iproute2 prints the head line, then a tab-indented `nexthop via
// GW dev DEV weight 1 ` line per nexthop (weight = rtnh_hops + 1), each
// with its flags.
func (w *fibWorld) listLines(rs []fib6.Route) []string {
	var lines []string
	done := make([]bool, len(rs))
	for i, r := range rs {
		if done[i] {
			continue
		}
		var group []fib6.Route
		if ecmp(r) {
			for j := i; j < len(rs); j++ {
				if !done[j] && siblings(r, rs[j]) {
					group = append(group, rs[j])
					done[j] = true
				}
			}
		}
		if len(group) < 2 {
			lines = append(lines, r.String()+w.nhFlags(r)+w.metricsText(r))
			continue
		}
		head := r
		head.Gateway, head.Dev = netip.Addr{}, ""
		var b strings.Builder
		b.WriteString(head.String())
		b.WriteString(w.metricsText(r)) // the first leg's: rt6_fill_node() of the route dumped
		for _, g := range group {
			fmt.Fprintf(&b, "\n\tnexthop via %s dev %s weight 1%s ", g.Gateway, g.Dev, w.nhFlags(g))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// nhFlags is the nexthop flags iproute2 prints after a route or nexthop:
// RTNH_F_LINKDOWN is set on a route through a device without carrier
// when it is made (fib6_nh_init()) or when the carrier goes
// (fib6_ifdown() at NETDEV_CHANGE, via rt6_sync_down_dev() while
// !addrconf_link_ready()), and cleared when it comes back
// (rt6_sync_up(dev, RTNH_F_LINKDOWN)); so it is there exactly while the
// device has no carrier (read at 6.12; local and anycast routes, which
// never get it, are in the local table, not held here), and on a dead
// ECMP leg (linkDown). iproute2's print_rt_flags() prints dead first.
func (w *fibWorld) nhFlags(r fib6.Route) string {
	f := ""
	if w.dead[r] {
		f = " dead"
	}
	if d := w.devs[r.Dev]; w.dead[r] || d != nil && d.noCarrier {
		f += " linkdown"
	}
	return f
}

// metricsText is the RTA_METRICS iproute2 prints after the flags (and
// `pref`): here only mtu.
func (w *fibWorld) metricsText(r fib6.Route) string {
	if m := w.mtu[r]; m != 0 {
		return fmt.Sprintf(" mtu %d", m)
	}
	return ""
}

// ecmp mirrors rt6_qualify_for_ecmp() for the routes a script adds: a
// unicast route with a gateway.
func ecmp(r fib6.Route) bool { return r.Type == fib6.Unicast && r.Gateway.IsValid() }

// siblings reports whether a and b are legs of one ECMP route: both
// qualify, at one table, prefix and metric (fib6_add_rt2node()).
func siblings(a, b fib6.Route) bool {
	return ecmp(a) && ecmp(b) && a.Table == b.Table && a.Prefix == b.Prefix && a.Metric == b.Metric
}

// dumpOrder sorts routes as the kernel's dump walks the tree, table by
// table: fib6_walk_continue() (net/ipv6/ip6_fib.c) visits a node's 0
// branch, then its 1 branch, then the node itself, so a prefix comes
// after the prefixes inside it and disjoint prefixes come in address
// order; at one prefix the list order stays (the sort is stable).
func dumpOrder(rs []fib6.Route) {
	slices.SortStableFunc(rs, func(a, b fib6.Route) int {
		if a.Table != b.Table {
			return cmp.Compare(a.Table, b.Table)
		}
		if a.Prefix == b.Prefix {
			return 0
		}
		switch {
		case a.Prefix.Bits() > b.Prefix.Bits() && b.Prefix.Contains(a.Prefix.Addr()):
			return -1 // a is inside b
		case b.Prefix.Bits() > a.Prefix.Bits() && a.Prefix.Contains(b.Prefix.Addr()):
			return 1
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
}

// gatewayDev is the device ip6_route_check_nh() finds for a gateway:
// the lookup (main table, RT6_LOOKUP_F_IFACE with the device given, if
// any) takes the longest prefix that has a route (on that device), the
// first in list order there, and that route must be a device route: not
// a reject route, no gateway of its own.
func (w *fibWorld) gatewayDev(gw netip.Addr, dev string) (string, bool) {
	best := -1
	for i, r := range w.table {
		if r.Table != fib6.MainTable || !r.Prefix.Contains(gw) || dev != "" && r.Dev != dev {
			continue
		}
		if best < 0 || r.Prefix.Bits() > w.table[best].Prefix.Bits() {
			best = i
		}
	}
	if best < 0 || w.table[best].Type != fib6.Unicast || w.table[best].Gateway.IsValid() {
		return "", false
	}
	return w.table[best].Dev, true
}
