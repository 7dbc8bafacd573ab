package selftests

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
	"raceroute/profile"
	"raceroute/selftests/cases"
)

// This file runs the neighbour suites' cases on model/neigh: the
// namespaces are the segment's hosts, their veth ends its interfaces, an
// arping its ARP sender, and `ip neigh get` the entry the case asks
// about, judged once the run is quiescent on every schedule the explorer
// tries. What the model lacks (IPv6 neighbour discovery, carrier events,
// a ping's own resolution) makes a case not expressible.

// neighIface is an interface as the set-up steps make it.
type neighIface struct {
	ns     string
	name   string
	prefix netip.Prefix
	accept uint8
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
}

func runNeigh(f *cases.File, p profile.Profile) ([]Result, error) {
	var out []Result
	for i := range f.Cases {
		out = append(out, runNeighCase(&f.Cases[i], p))
	}
	return out, nil
}

func runNeighCase(c *cases.Case, p profile.Profile) Result {
	res := Result{Case: c}
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
		res.Verdict = Vacuous
		return res
	case len(missing) > 0:
		res.Verdict = NotExpressible
		return res
	}
	outs, err := nc.run(p)
	if err != nil {
		res.Verdict, res.Missing = NotExpressible, []string{err.Error()}
		return res
	}
	res.Verdict = Agree
	for i, t := range nc.tests {
		o := Outcome{Step: t.step, Out: outs[i]}
		if o.Out == "" {
			o.Exit = 2 // ip neigh get: "RTNETLINK answers: No such file or directory"
		}
		res.Outcomes = append(res.Outcomes, o)
		if res.Verdict == Agree && !t.step.Want.Met(o.Exit, o.Out) {
			res.Verdict = Disagree
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
	c, _, err := parseIP(words)
	if err != nil {
		return "", err
	}
	switch {
	case c.obj == "link" && c.verb == "add":
		name, kind, _, _, err := linkAdd(c.args)
		if err != nil {
			return "", err
		}
		if kind != "veth" {
			return "links of type " + kind, nil
		}
		nc.ifaces = append(nc.ifaces, &neighIface{ns: s.NS, name: name})
		if peer := argAfter(c.args, "peer", "name"); peer != "" {
			ns := s.NS
			if n := argAfter(c.args, "peer", "name", peer, "netns"); n != "" {
				ns = n
			}
			nc.ifaces = append(nc.ifaces, &neighIface{ns: ns, name: peer})
		}
		return "", nil
	case c.obj == "link" && c.verb == "set":
		args := c.args
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
				return capLinkEvents + " (carrier loss: neigh_carrier_down)", nil
			default:
				return "ip link set " + strings.Join(args[1:], " "), nil
			}
		}
		return "", nil
	case c.obj == "address" && c.verb == "add":
		a, dev, err := addrAdd(c.args)
		if err != nil {
			return "", err
		}
		if !a.Addr().Is4() {
			return capND, nil
		}
		i := nc.iface(s.NS, dev)
		if i < 0 {
			return "", fmt.Errorf("no interface %s in %s", dev, s.NS)
		}
		if nc.ifaces[i].prefix.IsValid() {
			return "interfaces with two addresses", nil
		}
		nc.ifaces[i].prefix = a
		return "", nil
	case c.obj == "route" && c.verb == "add":
		// The default routes give every sender address a unicast route
		// (arp_process(): inet_addr_type_dev_table() == RTN_UNICAST), as
		// the model takes for granted.
		if ra, err := parseRouteArgs(c.args); err == nil && ra.family == 4 && ra.route.Prefix.Bits() == 0 {
			return "", nil
		}
		return "ip route add " + strings.Join(c.args, " "), nil
	case c.obj == "netns":
		return "", nil // namespaces are the hosts: made by the netns steps
	case c.obj == "neighbour" && c.verb == "get":
		if c.family == 6 {
			return capND, nil
		}
		if len(c.args) != 3 || c.args[1] != "dev" {
			return "ip neigh get " + strings.Join(c.args, " "), nil
		}
		ip, err := netip.ParseAddr(c.args[0])
		if err != nil || !ip.Is4() {
			return capND, nil
		}
		i := nc.iface(s.NS, c.args[2])
		if i < 0 {
			return "", fmt.Errorf("no interface %s in %s", c.args[2], s.NS)
		}
		if s.Want.Kind != cases.WantNone {
			nc.tests = append(nc.tests, neighTest{step: s, iface: i, ip: ip})
		}
		return "", nil
	case c.obj == "neighbour":
		if c.family == 6 {
			return capND, nil
		}
		return "ip neigh " + c.verb, nil
	}
	return fmt.Sprintf("ip %s %s", c.obj, c.verb), nil
}

// sysctl reads `sysctl [-w|-q|-qw] KEY=VALUE`: arp_accept per interface.
func (nc *neighCase) sysctl(ns string, w []string) (string, error) {
	kv := w[len(w)-1]
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return "", fmt.Errorf("sysctl %q: want KEY=VALUE", kv)
	}
	if strings.HasPrefix(key, "net.ipv6.") {
		return capND, nil
	}
	parts := strings.Split(key, ".")
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
		return capLinkEvents + " (carrier loss: neigh_carrier_down)", nil
	}
	return capSysctl + " (" + key + ")", nil
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
	for _, t := range nc.tests {
		cfg.Slots = append(cfg.Slots, neigh.Slot{Iface: t.iface, IP: ipIndex(t.ip)})
	}
	m, err := neigh.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("the model refuses the segment: %w", err)
	}
	var props []explore.Property[neigh.State]
	for i := range nc.tests {
		sl := i
		props = append(props,
			explore.Property[neigh.State]{Name: fmt.Sprintf("entry %d present", i), Kind: explore.Final,
				Holds: func(s *neigh.State) bool { return s.Entries[sl].State != neigh.NUDNone }},
			explore.Property[neigh.State]{Name: fmt.Sprintf("entry %d absent", i), Kind: explore.Final,
				Holds: func(s *neigh.State) bool { return s.Entries[sl].State == neigh.NUDNone }})
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
