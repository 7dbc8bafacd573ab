package neighfile

import (
	"fmt"
	"sort"
	"strings"

	"raceroute/model/neigh"
	"raceroute/model/neigh/ndisc"
	"raceroute/scenario/format"
)

// The actors: ARP senders (presets, `packets:`, or count frames of one op),
// unsolicited-NA senders (`ndisc:`) and packet flows.

// senderPresets are the announcement patterns of the agents the library
// models (docs/scenarios.md describes each); counted ones take `count:`.
var senderPresets = []struct {
	name    string
	counted bool
}{
	{"arping-A", true}, {"arping-U", true}, {"neutron-2017", false}, {"neutron-now", false},
	{"keepalived", false}, {"metallb", false}, {"kube-vip", true},
}

func presetNames() string {
	var names []string
	for _, p := range senderPresets {
		names = append(names, p.name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// preset returns the frames of a preset; count 0 is the preset's own.
func (c *compiler) preset(s Sender, name string, count int, horizon int32) ([]neigh.Packet, error) {
	req := func(after int32) neigh.Packet {
		return neigh.Packet{Op: neigh.OpRequest, After: neigh.Window{Min: after, Max: after}}
	}
	rep := func(after int32) neigh.Packet {
		return neigh.Packet{Op: neigh.OpReply, After: neigh.Window{Min: after, Max: after}}
	}
	// every(n, gap, f): n frames gap apart, the first at once.
	every := func(n int, gap int32, f func(i int, after int32) []neigh.Packet) []neigh.Packet {
		var out []neigh.Packet
		for i := 0; i < n; i++ {
			a := gap
			if i == 0 {
				a = 0
			}
			out = append(out, f(i, a)...)
		}
		return out
	}
	switch name {
	case "arping-A", "arping-U", "neutron-2017":
		if name == "neutron-2017" || count == 0 {
			count = 3
		}
		return every(count, 1000, func(_ int, a int32) []neigh.Packet {
			if name == "arping-U" {
				return []neigh.Packet{req(a)}
			}
			return []neigh.Packet{rep(a)}
		}), nil
	case "neutron-now":
		return every(3, 2000, func(_ int, a int32) []neigh.Packet {
			// the next arping process: spawned through rootwrap and
			// `ip netns exec`, tens of milliseconds later
			return []neigh.Packet{req(a), {Op: neigh.OpReply, After: neigh.Window{Min: 10, Max: 100}}}
		}), nil
	case "keepalived":
		return every(10, 0, func(i int, _ int32) []neigh.Packet {
			if i == 5 {
				return []neigh.Packet{req(5000)}
			}
			return []neigh.Packet{req(0)}
		}), nil
	case "metallb":
		return every(5, 1100, func(_ int, a int32) []neigh.Packet {
			r := rep(0)
			r.THA = neigh.THABroadcast
			return []neigh.Packet{req(a), r}
		}), nil
	case "kube-vip":
		n := count
		if n == 0 {
			n = max(1, int(horizon/3000))
			if n > neigh.MaxPackets {
				return nil, c.sc.ErrorAt(s.Preset, "preset kube-vip announces every 3 s until the horizon: %d frames, more than the model's %d; give `count:`", n, neigh.MaxPackets)
			}
		}
		return every(n, 3000, func(i int, a int32) []neigh.Packet {
			if i%2 == 0 {
				return []neigh.Packet{req(a)}
			}
			return []neigh.Packet{rep(a)}
		}), nil
	}
	return nil, c.sc.ErrorAt(s.Preset, "unknown preset %q (want one of %s)", name, presetNames())
}

func (c *compiler) op(l format.Line) (uint8, error) {
	s, err := c.text(l, "op")
	if err != nil {
		return 0, err
	}
	switch s {
	case "request":
		return neigh.OpRequest, nil
	case "reply":
		return neigh.OpReply, nil
	}
	return 0, c.sc.ErrorAt(l, "op: want request or reply, got %q", s)
}

// tha reads a reply's target hardware address; a request has none.
func (c *compiler) tha(l format.Line, op uint8) (neigh.THA, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
	}
	if s != "" && op != neigh.OpReply {
		return 0, c.sc.ErrorAt(l, "tha: only a reply carries it (the model ignores a request's target MAC); remove it or use op: reply")
	}
	switch s {
	case "", "self":
		return neigh.THASelf, nil
	case "broadcast":
		return neigh.THABroadcast, nil
	case "zero":
		return neigh.THAZero, nil
	}
	return 0, c.sc.ErrorAt(l, "tha: want self, broadcast or zero, got %q", s)
}

// sender compiles an `arp:` sender, or with nd an `ndisc:` one (an
// unsolicited-NA sender on an IPv6 interface: the train form or preset
// keepalived, with the flags override and router).
func (c *compiler) sender(s Sender, horizon int32, nd bool) error {
	sc := c.sc
	name, err := c.text(s.Name, "sender name")
	if err != nil {
		return err
	}
	from, err := c.ifaceRef(s.From, "from")
	if err != nil {
		return err
	}
	ip, err := c.ip(s.IP, "ip")
	if err != nil {
		return err
	}
	switch v6 := c.cfg.Ifaces[from].V6(); {
	case nd && !v6:
		return sc.ErrorAt(s.From, "from: an `ndisc:` sender sends NAs from an IPv6 interface; %s is IPv4 (use `arp:`)", s.From.Text)
	case !nd && v6:
		return sc.ErrorAt(s.From, "from: %s is an IPv6 interface, which announces with unsolicited NAs (use `ndisc:`)", s.From.Text)
	case c.cfg.IPs[ip].Is6() != v6:
		return sc.ErrorAt(s.IP, "ip: %s is not of the sending interface's family", c.cfg.IPs[ip])
	}
	var naFlags ndisc.Flags
	if nd {
		if err := c.refuse("an ndisc sender's frames are NAs (give override and router)", keyed{"op", s.Op}, keyed{"tha", s.THA}); err != nil {
			return err
		}
		if len(s.Packets) > 0 {
			return sc.Errorf(s.Packets[0].At, "packets: an ndisc sender takes the train form (count, interval, jitter) or preset keepalived")
		}
		if p, _ := c.text(s.Preset, ""); p != "" && p != "keepalived" {
			return sc.ErrorAt(s.Preset, "preset %s announces with ARP; an ndisc sender takes preset keepalived (its NAs on becoming master) or the train form", p)
		}
		o, err := c.flag(s.Override, "override", true)
		if err != nil {
			return err
		}
		r, err := c.flag(s.Router, "router", false)
		if err != nil {
			return err
		}
		if o {
			naFlags |= ndisc.Override
		}
		if r {
			naFlags |= ndisc.Router
		}
		if p, _ := c.text(s.Preset, ""); p == "" {
			// the train form's op, for the code below (its frames become NAs)
			s.Op = format.Line{Text: "request"}
		}
	} else if err := c.refuse("only an ndisc sender's NAs carry it", keyed{"override", s.Override}, keyed{"router", s.Router}); err != nil {
		return err
	}
	start, err := c.window(s.Start, "start", neigh.Window{})
	if err != nil {
		return err
	}
	sd := neigh.Sender{Name: name, Iface: from, IP: ip, Unicast: -1}
	if t, _ := c.text(s.To, ""); t != "" && t != "broadcast" {
		if sd.Unicast, err = c.ifaceRef(s.To, "to"); err != nil {
			return err
		}
	}
	count, err := c.count(s.Count, "count", 0, 1, neigh.MaxPackets)
	if err != nil {
		return err
	}
	preset, err := c.text(s.Preset, "")
	if err != nil {
		return err
	}
	switch {
	case preset != "":
		why := fmt.Sprintf("preset %s sets the frames itself", preset)
		if err := c.refuse(why, keyed{"op", s.Op}, keyed{"interval", s.Interval}, keyed{"jitter", s.Jitter}, keyed{"tha", s.THA}); err != nil {
			return err
		}
		if len(s.Packets) > 0 {
			return sc.Errorf(s.Packets[0].At, "packets: %s", why)
		}
		for _, p := range senderPresets {
			if p.name == preset && !p.counted {
				if err := c.refuse(why+", count included", keyed{"count", s.Count}); err != nil {
					return err
				}
			}
		}
		if sd.Packets, err = c.preset(s, preset, count, horizon); err != nil {
			return err
		}
		sd.Preset = preset
	case len(s.Packets) > 0:
		why := "`packets:` lists every frame with its own op, after and tha"
		if err := c.refuse(why, keyed{"op", s.Op}, keyed{"count", s.Count}, keyed{"interval", s.Interval}, keyed{"jitter", s.Jitter}, keyed{"tha", s.THA}); err != nil {
			return err
		}
		for _, p := range s.Packets {
			op, err := c.op(p.Op)
			if err != nil {
				return err
			}
			after, err := c.window(p.After, "after", neigh.Window{})
			if err != nil {
				return err
			}
			tha, err := c.tha(p.THA, op)
			if err != nil {
				return err
			}
			sd.Packets = append(sd.Packets, neigh.Packet{Op: op, After: after, THA: tha})
		}
	default:
		op, err := c.op(s.Op)
		if err != nil {
			return err
		}
		if count == 0 {
			count = 1
		}
		if count == 1 {
			if err := c.refuse("one frame (count: 1) has no interval", keyed{"interval", s.Interval}, keyed{"jitter", s.Jitter}); err != nil {
				return err
			}
		}
		interval, err := c.dur(s.Interval, "interval", 1000)
		if err != nil {
			return err
		}
		jitter, err := c.dur(s.Jitter, "jitter", 0)
		if err != nil {
			return err
		}
		tha, err := c.tha(s.THA, op)
		if err != nil {
			return err
		}
		for i := 0; i < count; i++ {
			w := neigh.Window{Min: interval, Max: interval + jitter}
			if i == 0 {
				w = neigh.Window{}
			}
			sd.Packets = append(sd.Packets, neigh.Packet{Op: op, After: w, THA: tha})
		}
	}
	if len(sd.Packets) == 0 || len(sd.Packets) > neigh.MaxPackets {
		return sc.Errorf(s.At, "ARP sender %s: want 1 to %d frames, got %d", name, neigh.MaxPackets, len(sd.Packets))
	}
	sd.Packets[0].After.Min += start.Min
	sd.Packets[0].After.Max += start.Max
	if nd {
		for k := range sd.Packets {
			sd.Packets[k].Op, sd.Packets[k].NA = neigh.OpNA, naFlags
		}
	}
	if len(c.cfg.Senders) >= neigh.MaxSenders {
		return sc.Errorf(s.At, "at most %d ARP senders (arp and ndisc together)", neigh.MaxSenders)
	}
	c.cfg.Senders = append(c.cfg.Senders, sd)
	return nil
}

func (c *compiler) flow(f Flow) error {
	sc := c.sc
	name, err := c.text(f.Name, "flow name")
	if err != nil {
		return err
	}
	for _, o := range c.cfg.Flows {
		if o.Name == name {
			return sc.ErrorAt(f.Name, "flow %q given twice", name)
		}
	}
	from, err := c.ifaceRef(f.From, "from")
	if err != nil {
		return err
	}
	ip, err := c.ip(f.To, "to")
	if err != nil {
		return err
	}
	fl := neigh.Flow{Name: name, Iface: from, IP: ip, Proto: neigh.ProtoICMP, Backoff: 1}
	if c.cfg.IPs[ip].Is6() != c.cfg.Ifaces[from].V6() {
		return sc.ErrorAt(f.To, "to: %s is not of the sending interface's family", c.cfg.IPs[ip])
	}
	switch p, _ := c.text(f.Proto, ""); p {
	case "", "icmp":
		if err := c.refuse("an icmp flow is not acknowledged (rtt is for proto: tcp, or udp with confirm: true)", keyed{"rtt", f.RTT}); err != nil {
			return err
		}
	case "tcp":
		fl.Proto = neigh.ProtoTCP
	case "udp":
		fl.Proto = neigh.ProtoUDP
		if fl.Confirm, err = c.flag(f.Confirm, "confirm", false); err != nil {
			return err
		}
		if !fl.Confirm {
			if err := c.refuse("a udp flow without confirm: true waits for no answer", keyed{"rtt", f.RTT}); err != nil {
				return err
			}
		}
	default:
		return sc.ErrorAt(f.Proto, "proto: want icmp, tcp or udp, got %q", p)
	}
	if fl.Proto != neigh.ProtoUDP {
		if err := c.refuse("MSG_CONFIRM is a udp flow's (proto: udp)", keyed{"confirm", f.Confirm}); err != nil {
			return err
		}
	}
	n, err := c.count(f.Count, "count", 0, 0, 1<<20)
	if err != nil {
		return err
	}
	fl.Count = int32(n)
	if n == 1 {
		if err := c.refuse("one packet (count: 1) has no interval", keyed{"every", f.Every}, keyed{"jitter", f.Jitter}, keyed{"backoff", f.Backoff}, keyed{"max-every", f.MaxEvery}); err != nil {
			return err
		}
	}
	if fl.Start, err = c.window(f.Start, "start", neigh.Window{}); err != nil {
		return err
	}
	if fl.Every, err = c.dur(f.Every, "every", 1000); err != nil {
		return err
	}
	if fl.Every <= 0 {
		return sc.ErrorAt(f.Every, "every must be positive")
	}
	if fl.Jitter, err = c.dur(f.Jitter, "jitter", 0); err != nil {
		return err
	}
	b, err := c.count(f.Backoff, "backoff", 1, 1, 16)
	if err != nil {
		return err
	}
	fl.Backoff = int32(b)
	if b == 1 {
		if err := c.refuse("it caps the backoff, and there is none (give backoff: 2 or more)", keyed{"max-every", f.MaxEvery}); err != nil {
			return err
		}
	}
	if fl.MaxEvery, err = c.dur(f.MaxEvery, "max-every", 0); err != nil {
		return err
	}
	if fl.RTT, err = c.window(f.RTT, "rtt", neigh.Window{Min: 1, Max: 1}); err != nil {
		return err
	}
	if (fl.Proto == neigh.ProtoTCP || fl.Confirm) && fl.RTT.Max >= fl.Every {
		return sc.ErrorAt(f.RTT, "rtt must be shorter than every")
	}
	if c.cfg.Owner[ip] == from {
		return sc.ErrorAt(f.To, "flow %s sends to its own address", name)
	}
	if _, err := c.slot(from, ip, f.To.Pos()); err != nil {
		return err
	}
	for i := range c.cfg.Ifaces {
		if c.cfg.Ifaces[i].Host == c.cfg.Ifaces[from].Host {
			c.cfg.Ifaces[i].Draw = true
		}
	}
	if len(c.cfg.Flows) >= neigh.MaxFlows {
		return sc.Errorf(f.At, "at most %d flows", neigh.MaxFlows)
	}
	c.cfg.Flows = append(c.cfg.Flows, fl)
	return nil
}
