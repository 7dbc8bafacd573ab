// Package neighrun runs the neighbour suites' cases (package
// selftests/cases: arp_ndisc_untracked_subnets, arp_ndisc_evict_nocarrier,
// ndisc_unsolicited_na_test) on model/neigh: the
// namespaces are the segment's hosts, their veth ends its interfaces, an
// arping its ARP sender, and `ip neigh get` the entry the case asks
// about, judged once the run is quiescent on every schedule the explorer
// tries. An IPv6 address added without nodad on an interface with
// ndisc_notify is an unsolicited-NA sender (addrconf_dad_completed()),
// and `ip -6 neigh show to ADDR dev DEV [nud STATE]` the entry judged.
// What the model lacks (the rest of IPv6 neighbour discovery, carrier
// events, a ping's own resolution) makes a case not expressible.
package neighrun

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/model/neigh/ndisc"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
	"raceroute/selftests/cases"
	"raceroute/selftests/ipcmd"
	"raceroute/selftests/verdict"
)

// neighIface is an interface as the set-up steps make it.
type neighIface struct {
	ns     string
	name   string
	prefix netip.Prefix
	accept uint8
	// IPv6: net.ipv6.conf.IFACE.* as the set-up steps leave them.
	forwarding, dropUnsolicitedNA, acceptUntrackedNA uint8
	ndiscNotify                                      bool
	// nodad: the address was added with nodad (no DAD, hence no NA).
	nodad bool
}

// neighCase is a case's segment, read from its steps.
type neighCase struct {
	ifaces  []*neighIface
	senders []arping
	// tests are the `ip neigh get` steps, in order.
	tests []neighTest
}

type arping struct {
	iface int
	ip    netip.Addr
	op    uint8
	tha   neigh.THA
	count int
}

type neighTest struct {
	step  *cases.Step
	iface int
	ip    netip.Addr
	// nud, when set, is `ip neigh show`'s nud filter: the entry is shown
	// only in that state; else any entry is.
	nud    nud.State
	hasNUD bool
}

// shown reports whether the test's command prints entry e.
func (t *neighTest) shown(e *neigh.Entry) bool {
	if t.hasNUD {
		return e.State == t.nud
	}
	return e.State != neigh.NUDNone
}

// Run runs a neighbour suite's file on p, one Result per case.
func Run(f *cases.File, p profile.Profile) ([]verdict.Result, error) {
	var out []verdict.Result
	for i := range f.Cases {
		out = append(out, runNeighCase(&f.Cases[i], p))
	}
	return out, nil
}

func runNeighCase(c *cases.Case, p profile.Profile) verdict.Result {
	res := verdict.Result{Case: c}
	nc := &neighCase{}
	var missing []string
	for i := range c.Steps {
		s := &c.Steps[i]
		miss, err := nc.step(s)
		if err != nil {
			miss = fmt.Sprintf("the step at line %d (%v)", s.Line, err)
		}
		if miss != "" && !slices.Contains(missing, miss) {
			missing = append(missing, miss)
		}
	}
	res.Missing = missing
	switch {
	case c.Vacuous != "":
		res.Verdict = verdict.Vacuous
		return res
	case len(missing) > 0:
		res.Verdict = verdict.NotExpressible
		return res
	}
	outs, err := nc.run(p)
	if err != nil {
		res.Verdict, res.Missing = verdict.NotExpressible, []string{err.Error()}
		return res
	}
	res.Verdict = verdict.Agree
	for i, t := range nc.tests {
		o := verdict.Outcome{Step: t.step, Out: outs[i]}
		if o.Out == "" {
			o.Exit = 2 // ip neigh get: "RTNETLINK answers: No such file or directory"
		}
		res.Outcomes = append(res.Outcomes, o)
		if res.Verdict == verdict.Agree && !t.step.Want.Met(o.Exit, o.Out) {
			res.Verdict = verdict.Disagree
			res.Why = fmt.Sprintf("the assertion at line %d (%s): the script wants %s, the model gives %s", t.step.Line, t.step.Cmd, t.step.Want, o.Show())
		}
	}
	return res
}

func (nc *neighCase) iface(ns, name string) int {
	for i, f := range nc.ifaces {
		if f.ns == ns && f.name == name {
			return i
		}
	}
	return -1
}

// step reads one step into the segment, or names what the model lacks.
func (nc *neighCase) step(s *cases.Step) (string, error) {
	if s.Role == cases.RoleNetns || s.Role == cases.RoleEnv {
		return "", nil
	}
	words, err := s.Words()
	if err != nil {
		return "", err
	}
	if len(words) == 0 {
		return "", fmt.Errorf("empty command")
	}
	switch words[0] {
	case "sysctl":
		return nc.sysctl(s.NS, words)
	case "arping":
		return "", nc.arping(s.NS, words)
	case "ping", "ping6":
		return "a datapath (a ping resolving the neighbour)", nil
	case "tc", "slowwait_for_counter", "timeout":
		return "", nil // counters and waits: they only observe
	case "ip":
	default:
		return "the command " + words[0], nil
	}
	c, _, err := ipcmd.Parse(words)
	if err != nil {
		return "", err
	}
	switch {
	case c.Obj == "link" && c.Verb == "add":
		name, kind, _, _, err := ipcmd.LinkAdd(c.Args)
		if err != nil {
			return "", err
		}
		if kind != "veth" {
			return "links of type " + kind, nil
		}
		nc.ifaces = append(nc.ifaces, &neighIface{ns: s.NS, name: name})
		if peer := ipcmd.ArgAfter(c.Args, "peer", "name"); peer != "" {
			ns := s.NS
			if n := ipcmd.ArgAfter(c.Args, "peer", "name", peer, "netns"); n != "" {
				ns = n
			}
			nc.ifaces = append(nc.ifaces, &neighIface{ns: ns, name: peer})
		}
		return "", nil
	case c.Obj == "link" && c.Verb == "set":
		args := c.Args
		if len(args) > 0 && args[0] == "dev" {
			args = args[1:]
		}
		if len(args) == 2 && args[0] == "lo" && args[1] == "up" {
			return "", nil
		}
		i := -1
		if len(args) > 0 {
			i = nc.iface(s.NS, args[0])
		}
		if i < 0 {
			return "", fmt.Errorf("no interface %v in %s", args, s.NS)
		}
		for k := 1; k < len(args); k++ {
			switch {
			case args[k] == "up":
			case args[k] == "netns" && k+1 < len(args):
				nc.ifaces[i].ns = args[k+1]
				k++
			case args[k] == "down":
				// the peer's end down: this end loses its carrier
				return verdict.CapLinkEvents + " (carrier loss: neigh_carrier_down)", nil
			default:
				return "ip link set " + strings.Join(args[1:], " "), nil
			}
		}
		return "", nil
	case c.Obj == "address" && c.Verb == "add":
		a, dev, err := ipcmd.AddrAdd(c.Args)
		if err != nil {
			return "", err
		}
		i := nc.iface(s.NS, dev)
		if i < 0 {
			return "", fmt.Errorf("no interface %s in %s", dev, s.NS)
		}
		if nc.ifaces[i].prefix.IsValid() {
			return "interfaces with two addresses", nil
		}
		nc.ifaces[i].prefix = a
		nc.ifaces[i].nodad = slices.Contains(c.Args, "nodad")
		return "", nil
	case c.Obj == "route" && c.Verb == "add":
		// The default routes give every sender address a unicast route
		// (arp_process(): inet_addr_type_dev_table() == RTN_UNICAST), as
		// the model takes for granted.
		if ra, err := ipcmd.ParseRouteArgs(c.Args); err == nil && ra.Family == 4 && ra.Route.Prefix.Bits() == 0 {
			return "", nil
		}
		return "ip route add " + strings.Join(c.Args, " "), nil
	case c.Obj == "netns":
		return "", nil // namespaces are the hosts: made by the netns steps
	case c.Obj == "neighbour" && c.Verb == "get":
		if c.Family == 6 {
			return verdict.CapND, nil
		}
		if len(c.Args) != 3 || c.Args[1] != "dev" {
			return "ip neigh get " + strings.Join(c.Args, " "), nil
		}
		ip, err := netip.ParseAddr(c.Args[0])
		if err != nil || !ip.Is4() {
			return verdict.CapND, nil
		}
		i := nc.iface(s.NS, c.Args[2])
		if i < 0 {
			return "", fmt.Errorf("no interface %s in %s", c.Args[2], s.NS)
		}
		if s.Want.Kind != cases.WantNone {
			nc.tests = append(nc.tests, neighTest{step: s, iface: i, ip: ip})
		}
		return "", nil
	case c.Obj == "neighbour" && c.Verb == "show":
		return nc.neighShow(s, c.Args)
	case c.Obj == "neighbour":
		if c.Family == 6 {
			return verdict.CapND, nil
		}
		return "ip neigh " + c.Verb, nil
	}
	return fmt.Sprintf("ip %s %s", c.Obj, c.Verb), nil
}

// sysctl reads `sysctl [-w|-q|-qw] KEY=VALUE`: arp_accept per interface.
func (nc *neighCase) sysctl(ns string, w []string) (string, error) {
	kv := w[len(w)-1]
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return "", fmt.Errorf("sysctl %q: want KEY=VALUE", kv)
	}
	parts := strings.Split(key, ".")
	if len(parts) == 5 && parts[0] == "net" && parts[1] == "ipv6" && parts[2] == "conf" {
		return nc.sysctl6(ns, parts[3], parts[4], val)
	}
	if strings.HasPrefix(key, "net.ipv6.") {
		return verdict.CapND + " (" + key + ")", nil
	}
	if len(parts) == 5 && parts[0] == "net" && parts[1] == "ipv4" && parts[2] == "conf" && parts[4] == "arp_accept" {
		i := nc.iface(ns, parts[3])
		n, err := strconv.Atoi(val)
		if i < 0 || err != nil || n < 0 || n > 255 {
			return "", fmt.Errorf("sysctl %s: no such interface or value", kv)
		}
		nc.ifaces[i].accept = uint8(n)
		return "", nil
	}
	if len(parts) == 5 && parts[4] == "arp_evict_nocarrier" {
		return verdict.CapLinkEvents + " (carrier loss: neigh_carrier_down)", nil
	}
	return verdict.CapSysctl + " (" + key + ")", nil
}

// sysctl6 reads net.ipv6.conf.IFACE.KEY=VAL for the keys ndisc_recv_na()
// and addrconf_dad_completed() read (the model's Sysctl fields).
func (nc *neighCase) sysctl6(ns, dev, key, val string) (string, error) {
	if dev == "all" || dev == "default" {
		return verdict.CapSysctl + " (net.ipv6.conf." + dev + "." + key + ")", nil
	}
	i := nc.iface(ns, dev)
	n, err := strconv.Atoi(val)
	if i < 0 || err != nil || n < 0 || n > 255 {
		return "", fmt.Errorf("sysctl net.ipv6.conf.%s.%s=%s: no such interface or value", dev, key, val)
	}
	f := nc.ifaces[i]
	switch key {
	case "forwarding":
		f.forwarding = uint8(n)
	case "drop_unsolicited_na":
		f.dropUnsolicitedNA = uint8(n)
	case "accept_untracked_na":
		f.acceptUntrackedNA = uint8(n)
	case "ndisc_notify":
		f.ndiscNotify = n != 0
	case "disable_ipv6":
		if n != 0 {
			return "an interface with IPv6 disabled", nil
		}
	default:
		return verdict.CapSysctl + " (net.ipv6.conf." + dev + "." + key + ")", nil
	}
	return "", nil
}

// neighShow reads `ip [-6] neigh show to ADDR dev DEV [nud STATE]`.
func (nc *neighCase) neighShow(s *cases.Step, args []string) (string, error) {
	t := neighTest{step: s, iface: -1}
	for k := 0; k < len(args); k++ {
		if k+1 >= len(args) {
			return "ip neigh show " + strings.Join(args, " "), nil
		}
		switch v := args[k+1]; args[k] {
		case "to":
			ip, err := netip.ParseAddr(v)
			if err != nil {
				return "", fmt.Errorf("ip neigh show to %q: %w", v, err)
			}
			t.ip = ip
		case "dev":
			if t.iface = nc.iface(s.NS, v); t.iface < 0 {
				return "", fmt.Errorf("no interface %s in %s", v, s.NS)
			}
		case "nud":
			st, ok := neigh.ParseState(v)
			if !ok {
				return "", fmt.Errorf("ip neigh show nud %q: no such state", v)
			}
			t.nud, t.hasNUD = st, true
		default:
			return "ip neigh show " + strings.Join(args, " "), nil
		}
		k++
	}
	if !t.ip.IsValid() || t.iface < 0 {
		return "ip neigh show " + strings.Join(args, " "), nil
	}
	if s.Want.Kind != cases.WantNone {
		nc.tests = append(nc.tests, t)
	}
	return "", nil
}

// arping reads `arping [-A] [-U] -I IFACE [-c N] IP`: -U announces IP
// as its own (sender and target IP are IP); -A sends replies whose
// target MAC is the sender's (iputils arping, advert mode), else
// requests to the broadcast MAC.
func (nc *neighCase) arping(ns string, w []string) error {
	a := arping{op: neigh.OpRequest, tha: neigh.THABroadcast, count: 3, iface: -1}
	unsolicited := false
	for i := 1; i < len(w); i++ {
		switch x := w[i]; {
		case x == "-A":
			a.op, a.tha, unsolicited = neigh.OpReply, neigh.THASelf, true
		case x == "-U":
			unsolicited = true
		case x == "-q":
		case x == "-I" && i+1 < len(w):
			a.iface = nc.iface(ns, w[i+1])
			i++
		case strings.HasPrefix(x, "-c"):
			v := strings.TrimPrefix(x, "-c")
			if v == "" && i+1 < len(w) {
				v = w[i+1]
				i++
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > neigh.MaxPackets {
				return fmt.Errorf("arping count %q", v)
			}
			a.count = n
		case !strings.HasPrefix(x, "-") && !a.ip.IsValid():
			ip, err := netip.ParseAddr(x)
			if err != nil {
				return fmt.Errorf("arping target %q", x)
			}
			a.ip = ip
		default:
			return fmt.Errorf("arping option %q", x)
		}
	}
	if a.iface < 0 || !a.ip.IsValid() || !unsolicited {
		return fmt.Errorf("arping: want -U or -A, -I IFACE and an address")
	}
	nc.senders = append(nc.senders, a)
	return nil
}

// run builds the model of the segment and tells, for each test, the
// entry `ip neigh get` shows once the run is over ("" when none).
func (nc *neighCase) run(p profile.Profile) ([]string, error) {
	if len(nc.tests) == 0 {
		return nil, fmt.Errorf("no ip neigh get to judge")
	}
	cfg := &neigh.Config{Profile: p}
	hosts := map[string]int{}
	for i, f := range nc.ifaces {
		h, ok := hosts[f.ns]
		if !ok {
			h = len(cfg.Hosts)
			hosts[f.ns] = h
			cfg.Hosts = append(cfg.Hosts, neigh.Host{Name: f.ns})
		}
		cfg.Hosts[h].Ifaces = append(cfg.Hosts[h].Ifaces, i)
		sys := neigh.DefaultSysctl()
		if f.prefix.Addr().Is6() {
			sys = neigh.DefaultSysctl6()
			sys.Forwarding, sys.DropUnsolicitedNA, sys.AcceptUntrackedNA = f.forwarding, f.dropUnsolicitedNA, f.acceptUntrackedNA
		}
		sys.ArpAccept = f.accept
		cfg.Ifaces = append(cfg.Ifaces, neigh.Iface{Host: h, Name: f.name, MAC: [6]byte{2, 0, 0, 0, 0, byte(i + 1)},
			Prefix: f.prefix.Masked(), Sysctl: sys})
	}
	ipIndex := func(a netip.Addr) int {
		for i, x := range cfg.IPs {
			if x == a {
				return i
			}
		}
		cfg.IPs = append(cfg.IPs, a)
		owner := -1
		for i, f := range nc.ifaces {
			if f.prefix.IsValid() && f.prefix.Addr() == a {
				owner = i
			}
		}
		cfg.Owner = append(cfg.Owner, owner)
		return len(cfg.IPs) - 1
	}
	for _, f := range nc.ifaces {
		if f.prefix.IsValid() {
			ipIndex(f.prefix.Addr())
		}
	}
	for _, a := range nc.senders {
		s := neigh.Sender{Name: nc.ifaces[a.iface].ns + "/arping", Iface: a.iface, IP: ipIndex(a.ip), Unicast: -1}
		for k := 0; k < a.count; k++ {
			// arping waits a second between packets
			s.Packets = append(s.Packets, neigh.Packet{Op: a.op, THA: a.tha, After: neigh.Window{Min: int32(min(k, 1) * 1000), Max: int32(min(k, 1) * 1000)}})
		}
		cfg.Senders = append(cfg.Senders, s)
	}
	for i, f := range nc.ifaces {
		if s, ok := f.unsolicitedNA(i, ipIndex); ok {
			cfg.Senders = append(cfg.Senders, s)
		}
	}
	for _, t := range nc.tests {
		cfg.Slots = append(cfg.Slots, neigh.Slot{Iface: t.iface, IP: ipIndex(t.ip)})
	}
	m, err := neigh.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("the model refuses the segment: %w", err)
	}
	var props []explore.Property[neigh.State]
	for i := range nc.tests {
		t := &nc.tests[i]
		props = append(props,
			explore.Property[neigh.State]{Name: fmt.Sprintf("entry %d shown", i), Kind: explore.Final,
				Holds: func(s *neigh.State) bool { return t.shown(&s.Entries[i]) }},
			explore.Property[neigh.State]{Name: fmt.Sprintf("entry %d not shown", i), Kind: explore.Final,
				Holds: func(s *neigh.State) bool { return !t.shown(&s.Entries[i]) }})
	}
	opts := explore.DefaultOptions()
	opts.Budget, opts.ShrinkBudget = 5*time.Second, -1
	r := explore.NewChecker[neigh.State](m, props).Check(context.Background(), opts)
	if !r.Exhaustive {
		return nil, fmt.Errorf("the explorer did not cover every schedule within its budget")
	}
	var out []string
	for i, t := range nc.tests {
		present, absent := r.Properties[2*i].Verdict, r.Properties[2*i+1].Verdict
		switch {
		case present == explore.Holds && t.hasNUD:
			out = append(out, fmt.Sprintf("%s dev %s %s (on every schedule)", t.ip, nc.ifaces[t.iface].name, strings.ToUpper(neigh.StateName(t.nud))))
		case present == explore.Holds:
			out = append(out, fmt.Sprintf("%s dev %s (an entry on every schedule)", t.ip, nc.ifaces[t.iface].name))
		case absent == explore.Holds:
			out = append(out, "")
		default:
			return nil, fmt.Errorf("whether %s has an entry depends on the schedule", t.ip)
		}
	}
	return out, nil
}

// unsolicitedNA is the NA interface i sends for its address once DAD
// ends, when ndisc_notify is set: addrconf_dad_completed() (read at
// 6.12: send_na for a tentative, not optimistic address, then
// ndisc_send_na(dev, all-nodes, addr, router = forwarding, solicited =
// false, override = true, with the target link-layer option)). An
// address added with nodad is never tentative and sends none. DAD ends
// one probe after addrconf_dad_kick()'s random delay of up to
// rtr_solicit_delay (1 s), RetransTimer (1 s) later: 1 to 2 s after the
// address, long after the script's next steps (sysctls), which the model
// takes as set from the start. The link-local address's own NA is left
// out: no case asks about it.
func (f *neighIface) unsolicitedNA(i int, ipIndex func(netip.Addr) int) (neigh.Sender, bool) {
	if !f.prefix.Addr().Is6() || f.nodad || !f.ndiscNotify {
		return neigh.Sender{}, false
	}
	flags := ndisc.Override
	if f.forwarding != 0 {
		flags |= ndisc.Router
	}
	return neigh.Sender{Name: f.ns + "/dad-na", Iface: i, IP: ipIndex(f.prefix.Addr()), Unicast: -1,
		Packets: []neigh.Packet{{Op: neigh.OpNA, NA: flags, After: neigh.Window{Min: 1000, Max: 2000}}}}, true
}
