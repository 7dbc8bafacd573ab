// Package fib6run runs fib_tests.sh cases (package selftests/cases) on
// model/fib6. The model holds one namespace's IPv6 routing table (the
// namespace the script's `$IP -6 route` commands run in); the rest of
// that namespace the table needs (its devices, which VRF table each is
// in, the prefix routes addrconf made for the set-up's addresses) and
// the kernel behaviour outside the model that the cases lean on
// (address events, link down and up, unregister, `ip -6 route get
// fibmatch`) are selftests/fib6ns. This package reads each step into a
// call on that namespace, or names what the model lacks, and judges the
// case. Each route change is one netlink request, answered before the
// next: a fresh model holding the table as it stands and one agent with
// that change (fib6.Config.Listed, fib6.Model.Apply).
package fib6run

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/profile"
	"raceroute/selftests/cases"
	"raceroute/selftests/fib6ns"
	"raceroute/selftests/ipcmd"
	"raceroute/selftests/verdict"
)

// fibWorld is the modelled namespace (fib6ns.NS) and what the runner
// knows of it.
type fibWorld struct {
	*fib6ns.NS
	host string
	// tainted are prefixes whose routes the model no longer knows (a
	// case it could not run changed them); lost is set when it knows
	// none (a link or address event it cannot follow).
	tainted map[netip.Prefix]bool
	lost    string
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
	nexthops []ipcmd.Nexthop
	dev      string // link add / up / down / delete, sysctl: the device
	addr     fib6ns.AddrCmd
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

// Run runs a fib_tests file on p, one Result per case.
func Run(f *cases.File, p profile.Profile) ([]verdict.Result, error) {
	host, err := hostNamespace(f)
	if err != nil {
		return nil, err
	}
	w := &fibWorld{host: host}
	w.reset(p)
	envs := map[string]*fibWorld{}
	for i := range f.Envs {
		e := &fibWorld{host: host}
		e.reset(p)
		if err := e.applyEnv(&f.Envs[i]); err != nil {
			e.lost = "the set-up " + f.Envs[i].Name + ": " + err.Error()
		}
		envs[f.Envs[i].Name] = e
	}
	var out []verdict.Result
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
			cmd, ok, err := ipcmd.Parse(w)
			if !ok || err != nil || cmd.Obj != "route" || cmd.Family != 6 {
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

// reset empties the namespace: only lo, no routes, nothing unknown.
func (w *fibWorld) reset(p profile.Profile) {
	w.NS = fib6ns.New(p)
	w.tainted = map[netip.Prefix]bool{}
	w.lost = ""
}

// copyFrom starts a case from a set-up's namespace.
func (w *fibWorld) copyFrom(o *fibWorld) {
	w.NS = o.NS.Clone()
	w.tainted = map[netip.Prefix]bool{}
	w.lost = o.lost
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
		cmd, ok, err := ipcmd.Parse(words)
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
func (w *fibWorld) envIP(c ipcmd.Cmd) error {
	switch {
	case c.Obj == "link" && c.Verb == "add":
		name, kind, up, table, err := ipcmd.LinkAdd(c.Args)
		if err != nil {
			return err
		}
		d := &fib6ns.Dev{Up: up, Table: fib6.MainTable, Kind: kind}
		if kind == "vrf" {
			d.VRF = table
		}
		w.Devs[name] = d
		if peer := ipcmd.ArgAfter(c.Args, "peer", "name"); peer != "" {
			d.Peer = peer
			w.Devs[peer] = &fib6ns.Dev{Table: fib6.MainTable, Peer: name, Kind: kind}
		}
		return nil
	case c.Obj == "link" && c.Verb == "set":
		return w.linkSet(c.Args, true)
	case c.Obj == "address" && c.Verb == "add":
		a, dev, err := ipcmd.AddrAdd(c.Args)
		if err != nil {
			return err
		}
		if a.Addr().Is4() {
			return nil
		}
		d := w.Devs[dev]
		if d == nil || !d.Up {
			return fmt.Errorf("device %s is not there or down", dev)
		}
		// inet6_addr_add(): the prefix route, proto kernel, metric
		// IP6_RT_PRIO_ADDRCONF (256), in the device's table.
		if miss := w.AddAddress(dev, fib6ns.Addr{Prefix: a, NoDAD: slices.Contains(c.Args, "nodad")}); miss != "" {
			return fmt.Errorf("%s", miss)
		}
		return nil
	}
	return fmt.Errorf("ip %s %s is not understood in a set-up", c.Obj, c.Verb)
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
	d := w.Devs[args[0]]
	if d == nil {
		return fmt.Errorf("no device %s", args[0])
	}
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "up":
			d.Up = true
		case "down":
			d.Up = false
		case "netns":
			if i+1 >= len(args) {
				return fmt.Errorf("netns without a name")
			}
			delete(w.Devs, args[0])
			i++
		case "vrf", "master":
			if i+1 >= len(args) || w.Devs[args[i+1]] == nil || w.Devs[args[i+1]].VRF == 0 {
				return fmt.Errorf("%s of no VRF device", args[i])
			}
			d.Table = w.Devs[args[i+1]].VRF
			i++
		default:
			return fmt.Errorf("link set %s is not understood", args[i])
		}
	}
	_ = env
	return nil
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
		return fibAct{}, verdict.CapDatapath, nil
	case "sleep":
		return fibAct{}, "", nil
	case "ip":
	default:
		return fibAct{}, "the command " + words[0], nil
	}
	c, _, err := ipcmd.Parse(words)
	if err != nil {
		return fibAct{}, "", err
	}
	get := c.Obj == "route" && c.Verb == "get"
	var filters []cases.Filter
	for _, seg := range pipe[1:] {
		sf, err := cases.ParseFilter(seg)
		if err != nil || !sf.IsSed() && !get {
			return fibAct{}, "the shell filter " + strings.Join(seg, " "), nil
		}
		filters = append(filters, sf)
	}
	switch c.Obj {
	case "route":
		return w.translateRoute(c, filters)
	case "address":
		switch c.Verb {
		case "add", "delete", "change", "replace", "flush":
		default:
			return fibAct{}, verdict.CapAddrconf, nil
		}
		ac, fam, miss, err := fib6ns.ParseAddrCmd(c.Verb, c.Args)
		switch {
		case err != nil || miss != "":
			return fibAct{}, verdict.CapAddrconf, nil
		case fam == 4 || c.Verb == "flush" && c.Family == 4:
			return fibAct{}, "", nil // IPv4: not this table
		case c.Verb == "flush" && c.Family != 6:
			return fibAct{}, verdict.CapAddrconf + " (a flush of both families)", nil
		case !w.ReadAt():
			return fibAct{}, verdict.CapAddrconf + fib6ns.NotRead, nil
		}
		return fibAct{kind: fibAddress, addr: ac}, "", nil
	case "link":
		switch c.Verb {
		case "add":
			name, kind, _, _, err := ipcmd.LinkAdd(c.Args)
			if err != nil {
				return fibAct{}, "", err
			}
			if kind != "dummy" {
				return fibAct{}, "ip link add type " + kind + " in a case", nil
			}
			return fibAct{kind: fibLinkAdd, dev: name, linkKind: kind}, "", nil
		case "delete":
			args := c.Args
			if len(args) > 0 && args[0] == "dev" {
				args = args[1:]
			}
			if len(args) != 1 {
				return fibAct{}, verdict.CapLinkEvents + " (unregister)", nil
			}
			if !w.ReadAt() {
				return fibAct{}, verdict.CapLinkEvents + " (unregister)" + fib6ns.NotRead, nil
			}
			return fibAct{kind: fibUnregister, dev: args[0]}, "", nil
		case "set":
			args := c.Args
			if len(args) > 0 && args[0] == "dev" {
				args = args[1:]
			}
			if len(args) == 2 && args[1] == "up" {
				return fibAct{kind: fibLinkUp, dev: args[0]}, "", nil
			}
			if slices.Contains(args, "carrier") {
				if len(args) == 3 && args[1] == "carrier" && (args[2] == "on" || args[2] == "off") {
					if !w.ReadAt() {
						return fibAct{}, verdict.CapLinkEvents + " (carrier)" + fib6ns.NotRead, nil
					}
					return fibAct{kind: fibCarrier, dev: args[0], keep: args[2] == "on"}, "", nil
				}
				return fibAct{}, verdict.CapLinkEvents + " (carrier)", nil
			}
			if len(args) == 2 && args[1] == "down" {
				if !w.ReadAt() {
					return fibAct{}, verdict.CapLinkEvents + " (admin down)" + fib6ns.NotRead, nil
				}
				return fibAct{kind: fibLinkDown, dev: args[0]}, "", nil
			}
			return fibAct{}, verdict.CapLinkEvents + " (admin down)", nil
		}
	}
	return fibAct{}, fmt.Sprintf("ip %s %s", c.Obj, c.Verb), nil
}

// translateSysctl follows `sysctl -w net.ipv6.conf.{all,DEV}.keep_addr_on_down=N`
// (what addrconf_ifdown() reads); any other sysctl is not followed.
func (w *fibWorld) translateSysctl(args []string) (fibAct, string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if len(args) != 1 {
		return fibAct{}, verdict.CapSysctl, nil
	}
	key, val, ok := strings.Cut(args[0], "=")
	parts := strings.Split(key, ".")
	if !ok || len(parts) != 5 || parts[0] != "net" || parts[1] != "ipv6" || parts[2] != "conf" || parts[4] != "keep_addr_on_down" {
		return fibAct{}, verdict.CapSysctl, nil
	}
	if !w.ReadAt() {
		return fibAct{}, verdict.CapSysctl + fib6ns.NotRead, nil
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

func (w *fibWorld) translateRoute(c ipcmd.Cmd, filters []cases.Filter) (fibAct, string, error) {
	if len(filters) > 0 && c.Verb != "list" && c.Verb != "show" && c.Verb != "get" {
		return fibAct{}, "a pipeline after ip route " + c.Verb, nil
	}
	switch c.Verb {
	case "get":
		// only `get fibmatch DST`: a plain get reports the dst a lookup
		// makes (and clones), and oif/from/iif select otherwise
		oif := ""
		if len(c.Args) == 4 && c.Args[2] == "oif" {
			oif = c.Args[3]
		} else if len(c.Args) != 2 {
			return fibAct{}, verdict.CapLookup, nil
		}
		if c.Args[0] != "fibmatch" {
			return fibAct{}, verdict.CapLookup, nil
		}
		if !w.ReadAt() {
			return fibAct{}, verdict.CapLookup + fib6ns.NotRead, nil
		}
		dst, err := netip.ParseAddr(c.Args[1])
		if err != nil || !dst.Is6() {
			return fibAct{}, verdict.CapLookup, nil
		}
		return fibAct{kind: fibGet, dst: dst, dev: oif, filter: filters}, "", nil
	case "list", "show":
		args := c.Args
		if len(args) == 2 && args[0] == "match" {
			p, fam, err := ipcmd.ParsePrefix(args[1])
			if err != nil {
				return fibAct{}, "", err
			}
			if fam == 6 || fam == 0 && c.Family == 6 {
				return fibAct{kind: fibList, pfx: p, table: fib6.MainTable, filter: filters}, "", nil
			}
		}
		return fibAct{}, "the listing ip route " + strings.Join(append([]string{c.Verb}, args...), " "), nil
	case "flush":
		if len(c.Args) == 1 {
			p, fam, err := ipcmd.ParsePrefix(c.Args[0])
			if err != nil {
				return fibAct{}, "", err
			}
			if fam == 4 || fam == 0 && c.Family != 6 {
				return fibAct{}, "", nil // IPv4: not this table
			}
			return fibAct{kind: fibFlush, pfx: p, table: fib6.MainTable}, "", nil
		}
		return fibAct{}, "ip route flush " + strings.Join(c.Args, " "), nil
	case "prepend":
		return fibAct{}, "ip route prepend (NLM_F_CREATE alone)", nil
	}
	ra, err := ipcmd.ParseRouteArgs(c.Args)
	if err != nil {
		return fibAct{}, "", err
	}
	if ra.Family == 4 {
		return fibAct{}, "", nil // IPv4: not this table
	}
	if ra.Missing != "" {
		return fibAct{}, ra.Missing, nil
	}
	if (ra.BadCC || ra.MTU != 0) && c.Verb != "delete" && !w.ReadAt() {
		return fibAct{}, verdict.CapMetrics + fib6ns.NotRead, nil
	}
	if ra.BadCC && c.Verb != "delete" {
		// "Unknown tcp congestion algorithm", -EINVAL (net/ipv4/metrics.c,
		// 6.12), before the route is made
		return fibAct{kind: fibRefused, pfx: ra.Route.Prefix}, "", nil
	}
	if ra.TOS != 0 && c.Verb != "delete" {
		// rtm_to_fib6_config() refuses a request with rtm_tos: "Invalid
		// dsfield (tos): option not available for IPv6", -EINVAL (read in
		// Debian's 6.1.192, 6.12.117 and 7.2.13; not in 5.10.262: Guillaume
		// Nault's patch of Feb 2022, whose release, 5.18 or earlier, was not
		// pinned, so lines 5.11 to 6.0 are left out).
		if l, err := cases.LineOf(w.Profile); err != nil || l.Less(cases.Line{Major: 6, Minor: 1}) {
			return fibAct{}, verdict.CapDsfield + " (before 6.1)", nil
		}
		return fibAct{kind: fibRefused, pfx: ra.Route.Prefix}, "", nil
	}
	kinds := map[string]fib6.OpKind{"add": fib6.OpAdd, "append": fib6.OpAppend, "replace": fib6.OpReplace, "change": fib6.OpChange, "delete": fib6.OpDel}
	k, ok := kinds[c.Verb]
	if !ok {
		return fibAct{}, "ip route " + c.Verb, nil
	}
	a := fibAct{kind: fibOp, op: fib6.Op{Kind: k, Route: ra.Route}, pfx: ra.Route.Prefix, mtu: ra.MTU}
	if k == fib6.OpDel {
		if len(ra.Nexthops) > 0 {
			return fibAct{}, "a multipath delete (ip6_route_multipath_del)", nil
		}
		// ip6_route_del() matches what the request gives: no device, no
		// gateway, metric 0 match any (the model's fib6Del does the same).
		if !ra.HasMetric {
			a.op.Route.Metric, a.op.Route.MetricSet = 0, false
		}
		return a, "", nil
	}
	if ra.Route.Type.Reject() {
		if ra.HasGW || len(ra.Nexthops) > 0 {
			return fibAct{}, "", fmt.Errorf("a %s route with a gateway", ra.Route.Type)
		}
		if !ra.HasDev {
			a.op.Route.Dev = "lo" // ip6_route_info_create(): reject routes use the loopback
		}
		return a, "", nil
	}
	if len(ra.Nexthops) > 0 {
		a.nexthops = ra.Nexthops
		return a, "", nil
	}
	if !ra.HasGW && !ra.HasDev {
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
func (w *fibWorld) runCase(c *cases.Case, envs map[string]*fibWorld) verdict.Result {
	res := verdict.Result{Case: c}
	if c.Vacuous != "" {
		res.Verdict = verdict.Vacuous
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
			w.lost = verdict.CapEarlierCase
		}
		w.taint(c, missing)
		res.Missing = missing
		if res.Verdict != verdict.Vacuous {
			res.Verdict = verdict.NotExpressible
		}
		return res
	}
	before := slices.Clone(w.Table)
	for _, pl := range plan {
		exit, out, miss := w.exec(pl.act)
		if miss != "" {
			w.Table = before
			if changesLinks(plan) {
				w.lost = verdict.CapEarlierCase // devices, addresses or sysctls may have moved
			}
			w.taint(c, []string{miss})
			res.Missing, res.Outcomes = []string{miss}, nil
			if res.Verdict != verdict.Vacuous {
				res.Verdict = verdict.NotExpressible
			}
			return res
		}
		if pl.s.Want.Kind == cases.WantNone {
			continue
		}
		o := verdict.Outcome{Step: pl.s, Exit: exit, Out: out}
		res.Outcomes = append(res.Outcomes, o)
		if res.Verdict == 0 && !pl.s.Want.Met(exit, out) {
			res.Verdict = verdict.Disagree
			role := "the assertion"
			if pl.s.Role == cases.RoleSetup {
				role = "the set-up step"
			}
			res.Why = fmt.Sprintf("%s at line %d (%s): the script wants %s, the model gives %s", role, pl.s.Line, pl.s.Cmd, pl.s.Want, o.Show())
		}
	}
	if res.Verdict == 0 {
		res.Verdict = verdict.Agree
	}
	return res
}

// taint marks what a case the model could not run may have changed: the
// prefixes its route commands name, or, after a link or address event
// or a command it does not know, the whole table.
func (w *fibWorld) taint(c *cases.Case, missing []string) {
	for _, m := range missing {
		if strings.HasPrefix(m, verdict.CapLinkEvents) || strings.HasPrefix(m, verdict.CapAddrconf) || strings.HasPrefix(m, verdict.CapSysctl) || strings.HasPrefix(m, "the command") || strings.HasPrefix(m, "the step") {
			w.lost = verdict.CapEarlierCase
			return
		}
	}
	for _, s := range c.Steps {
		words, err := s.Words()
		if err != nil || s.NS != w.host {
			continue
		}
		cmd, ok, err := ipcmd.Parse(words)
		if !ok || err != nil || cmd.Obj != "route" {
			continue
		}
		switch cmd.Verb {
		case "get", "list", "show":
			continue
		case "flush":
			if len(cmd.Args) == 1 {
				if p, _, err := ipcmd.ParsePrefix(cmd.Args[0]); err == nil {
					w.tainted[p] = true
					continue
				}
			}
		default:
			if ra, err := ipcmd.ParseRouteArgs(cmd.Args); err == nil {
				w.tainted[ra.Route.Prefix] = true
				continue
			}
		}
		w.lost = verdict.CapEarlierCase
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
		exit, miss := w.AddressRequest(a.addr)
		return exit, "", miss
	case fibLinkDown:
		if w.Devs[a.dev] == nil {
			return 1, "", ""
		}
		return 0, "", w.LinkDown(a.dev)
	case fibUnregister:
		if w.Devs[a.dev] == nil {
			return 2, "", "" // RTNETLINK answers: No such device
		}
		w.Unregister(a.dev)
		return 0, "", ""
	case fibGet:
		exit, out, miss := w.Fibmatch(a.dst, a.dev, w.tainted)
		if miss != "" {
			return 0, "", miss
		}
		out, exit = cases.RunPipeline(a.filter, out, exit)
		return exit, cases.Output(out), ""
	case fibCarrier:
		d := w.Devs[a.dev]
		if d == nil {
			return 1, "", ""
		}
		for _, r := range w.Table {
			if r.Dev == a.dev && fib6ns.ECMP(r) && w.HasSibling(r) {
				return 0, "", verdict.CapLinkEvents + " (carrier under a multipath leg)"
			}
		}
		d.NoCarrier = !a.keep
		return 0, "", ""
	case fibSysctl:
		if a.dev == "" {
			w.KeepAddr = a.keep
		} else if d := w.Devs[a.dev]; d != nil {
			d.KeepAddr = a.keep
		} else {
			return 255, "", "" // sysctl: cannot stat
		}
		return 0, "", ""
	case fibLinkAdd:
		w.Devs[a.dev] = &fib6ns.Dev{Table: fib6.MainTable, Kind: a.linkKind}
		return 0, "", ""
	case fibLinkUp:
		d := w.Devs[a.dev]
		if d == nil {
			return 1, "", ""
		}
		if w.ReadAt() {
			return 0, "", w.LinkUp(a.dev)
		}
		if len(d.Addrs) > 0 && !d.Up {
			return 0, "", verdict.CapLinkEvents + " (admin up)" + fib6ns.NotRead
		}
		d.Up = true
		return 0, "", ""
	case fibList:
		var match []fib6.Route
		for _, r := range w.Table {
			if r.Table != a.table || r.Prefix.Bits() > a.pfx.Bits() || !r.Prefix.Contains(a.pfx.Addr()) {
				continue
			}
			if w.tainted[r.Prefix] {
				return 0, "", verdict.CapEarlierCase
			}
			match = append(match, r)
		}
		lines := w.ListLines(match)
		for p := range w.tainted {
			if p.Bits() <= a.pfx.Bits() && p.Contains(a.pfx.Addr()) {
				return 0, "", verdict.CapEarlierCase
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
		for _, r := range w.Table {
			if r.Table == a.table && r.Prefix == a.pfx {
				continue
			}
			keep = append(keep, r)
		}
		w.Table = keep
		delete(w.tainted, a.pfx)
		return 0, "", ""
	}
	if w.tainted[a.pfx] {
		return 0, "", verdict.CapEarlierCase
	}
	var errno kernel.Errno
	var miss string
	if len(a.nexthops) > 0 {
		errno, miss = w.MultipathAdd(a.op, a.nexthops, a.mtu)
	} else {
		errno, miss = w.RouteRequest(a.op, a.mtu)
	}
	if miss != "" {
		return 0, "", miss
	}
	if errno != 0 {
		return 2, "", "" // RTNETLINK answers: ...; ip exits 2
	}
	return 0, "", ""
}
