package neighfile

import (
	"net"
	"net/netip"
	"strings"

	"raceroute/model/neigh"
	"raceroute/scenario/format"
)

// The segment: hosts, their interfaces and sysctls, initial neighbour
// entries, and the addresses that move between interfaces.

func (c *compiler) iface(h int, fi Iface) error {
	sc := c.sc
	name, err := c.text(fi.Name, "interface name")
	if err != nil {
		return err
	}
	macS, err := c.text(fi.MAC, "mac")
	if err != nil {
		return err
	}
	hw, err := net.ParseMAC(macS)
	if err != nil || len(hw) != 6 {
		return sc.ErrorAt(fi.MAC, "mac: want an Ethernet address such as fa:16:3e:00:00:01, got %q", macS)
	}
	var mac [6]byte
	copy(mac[:], hw)
	for _, o := range c.cfg.Ifaces {
		if o.MAC == mac {
			return sc.ErrorAt(fi.MAC, "mac %s is used twice on the segment", macS)
		}
	}
	for _, i := range c.cfg.Hosts[h].Ifaces {
		if c.cfg.Ifaces[i].Name == name {
			return sc.ErrorAt(fi.Name, "host %s has two interfaces called %s", c.cfg.Hosts[h].Name, name)
		}
	}
	if len(c.cfg.Ifaces) >= neigh.MaxIfaces {
		return sc.ErrorAt(fi.Name, "too many interfaces: the model holds at most %d", neigh.MaxIfaces)
	}
	idx := len(c.cfg.Ifaces)
	f := neigh.Iface{Host: h, Name: name, MAC: mac, Sysctl: neigh.DefaultSysctl()}
	if len(fi.Addrs) == 0 {
		return sc.ErrorAt(fi.Name, "interface %s has no `addrs:`", name)
	}
	for k, al := range fi.Addrs {
		s, err := c.text(al, "address")
		if err != nil {
			return err
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil || pfx.Addr().Zone() != "" || pfx.Addr().Is4In6() {
			return sc.ErrorAt(al, "addrs: want IPv4/prefix such as 172.24.4.5/24 or IPv6/prefix such as 2001:db8::5/64, got %q", s)
		}
		if k == 0 {
			f.Prefix = pfx
			if pfx.Addr().Is6() {
				f.Sysctl = neigh.DefaultSysctl6()
			}
		} else if pfx.Addr().Is6() != f.Prefix.Addr().Is6() {
			return sc.ErrorAt(al, "addrs: %s is not of the family of %s: the model keeps one family per interface (its entries are ARP's or neighbour discovery's)", s, f.Prefix)
		} else if pfx.Masked() != f.Prefix.Masked() {
			return sc.ErrorAt(al, "addrs: %s is not in the interface's subnet %s: the model keeps one on-link subnet (one shared dst) per interface", s, f.Prefix.Masked())
		}
		ip, err := c.intern(pfx.Addr(), al)
		if err != nil {
			return err
		}
		if c.cfg.Owner[ip] >= 0 {
			return sc.ErrorAt(al, "%s is already configured on another interface (use `moves:` for a moving address)", pfx.Addr())
		}
		c.cfg.Owner[ip] = idx
	}
	for _, p := range fi.Sysctl.List {
		if err := c.sysctl(&f.Sysctl, p.Key, p.Value, f.V6()); err != nil {
			return err
		}
	}
	c.cfg.Ifaces = append(c.cfg.Ifaces, f)
	c.cfg.Hosts[h].Ifaces = append(c.cfg.Hosts[h].Ifaces, idx)
	return nil
}

// sysctlField is a per-interface setting a neigh scenario may set, with
// the field of neigh.Sysctl it sets: a duration or a count up to max; v4
// and v6 say on which family's interfaces it exists.
type sysctlField struct {
	name   string
	dur    *int32
	count  *uint8
	max    int
	v4, v6 bool
}

// sysctls are the settings of s a neigh scenario may set: the neigh_parms
// of both tables (the IPv6 ones also by their net/ipv6/neigh _ms names),
// arp_accept, and net/ipv6/conf's drop_unsolicited_na,
// accept_untracked_na and forwarding.
func sysctls(s *neigh.Sysctl) []sysctlField {
	both := func(name string, dur *int32, count *uint8) sysctlField {
		return sysctlField{name: name, dur: dur, count: count, max: 255, v4: true, v6: true}
	}
	v6 := func(name string, dur *int32, count *uint8, max int) sysctlField {
		return sysctlField{name: name, dur: dur, count: count, max: max, v6: true}
	}
	return []sysctlField{
		both("locktime", &s.Locktime, nil),
		both("base_reachable_time", &s.BaseReachable, nil),
		v6("base_reachable_time_ms", &s.BaseReachable, nil, 0),
		both("delay_first_probe_time", &s.DelayFirstProbe, nil),
		both("retrans_time", &s.Retrans, nil),
		v6("retrans_time_ms", &s.Retrans, nil, 0),
		both("gc_stale_time", &s.GcStale, nil),
		both("ucast_solicit", nil, &s.UcastSolicit),
		both("mcast_solicit", nil, &s.McastSolicit),
		both("app_solicit", nil, &s.AppSolicit),
		both("mcast_resolicit", nil, &s.McastReprobes),
		{name: "arp_accept", count: &s.ArpAccept, max: 2, v4: true},
		v6("drop_unsolicited_na", nil, &s.DropUnsolicitedNA, 1),
		v6("accept_untracked_na", nil, &s.AcceptUntrackedNA, 2),
		v6("forwarding", nil, &s.Forwarding, 1),
	}
}

func (c *compiler) sysctl(s *neigh.Sysctl, key, l format.Line, v6 bool) error {
	var names []string
	for _, k := range sysctls(s) {
		names = append(names, k.name)
		if k.name != key.Text {
			continue
		}
		if !v6 && !k.v4 || v6 && !k.v6 {
			fam, other := "IPv4", "IPv6"
			if v6 {
				fam, other = other, fam
			}
			return c.sc.ErrorAt(key, "sysctl %s is an %s interface's setting; this interface is %s", k.name, other, fam)
		}
		if k.dur != nil {
			v, err := c.dur(l, k.name, *k.dur)
			if err != nil {
				return err
			}
			if k.dur == &s.BaseReachable && v < 2 {
				return c.sc.ErrorAt(l, "%s must be at least 2ms", k.name)
			}
			*k.dur = v
			return nil
		}
		v, err := c.count(l, k.name, int(*k.count), 0, k.max)
		if err != nil {
			return err
		}
		*k.count = uint8(v)
		return nil
	}
	return c.sc.ErrorAt(key, "unknown sysctl %q: the model implements only %s, and refuses any other rather than ignore it", key.Text, strings.Join(names, ", "))
}

// neighLine reads "IP dev IFACE lladdr MAC STATE [age DURATION]".
func (c *compiler) neighLine(h int, l format.Line) error {
	s, err := c.text(l, "neighbour line")
	if err != nil {
		return err
	}
	tok := strings.Fields(s)
	bad := func(why string) error {
		return c.sc.ErrorAt(l, "neigh %q: %s (want `IP dev IFACE lladdr MAC STATE [age DURATION]`)", s, why)
	}
	if len(tok) < 4 || tok[1] != "dev" {
		return bad("too short")
	}
	a, err := netip.ParseAddr(tok[0])
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return bad("not an IPv4 or IPv6 address")
	}
	iface := -1
	for _, i := range c.cfg.Hosts[h].Ifaces {
		if c.cfg.Ifaces[i].Name == tok[2] {
			iface = i
		}
	}
	if iface < 0 {
		return bad("no such interface on " + c.cfg.Hosts[h].Name)
	}
	if a.Is6() != c.cfg.Ifaces[iface].V6() {
		return bad("not of the interface's family (" + c.cfg.Ifaces[iface].Prefix.String() + ")")
	}
	init := &neigh.InitEntry{LL: -1, Age: 600000}
	rest := tok[3:]
	if len(rest) >= 2 && rest[0] == "lladdr" {
		hw, err := net.ParseMAC(rest[1])
		if err != nil || len(hw) != 6 {
			return bad("bad lladdr")
		}
		var mac [6]byte
		copy(mac[:], hw)
		for i := range c.cfg.Ifaces {
			if c.cfg.Ifaces[i].MAC == mac {
				init.LL = i
			}
		}
		if init.LL < 0 {
			return bad("lladdr is not the MAC of an interface on the segment")
		}
		rest = rest[2:]
	}
	if len(rest) == 0 {
		return bad("missing state")
	}
	st, ok := neigh.ParseState(rest[0])
	if !ok || st == neigh.NUDNone {
		return bad("unknown state " + rest[0])
	}
	if st&neigh.NUDValid != 0 && init.LL < 0 {
		return bad("a valid state needs lladdr")
	}
	init.State = st
	if st == neigh.NUDReachable {
		init.Age = 0
	}
	rest = rest[1:]
	if len(rest) == 2 && rest[0] == "age" {
		d, err := c.parseDur(l, rest[1], "age")
		if err != nil {
			return err
		}
		init.Age = d
	} else if len(rest) != 0 {
		return bad("unexpected " + strings.Join(rest, " "))
	}
	ip, err := c.intern(a, l)
	if err != nil {
		return err
	}
	sl, err := c.slot(iface, ip, l.Pos())
	if err != nil {
		return err
	}
	if c.cfg.Slots[sl].Init != nil {
		return bad("entry given twice")
	}
	c.cfg.Slots[sl].Init = init
	return nil
}

func (c *compiler) move(mv Move) error {
	ip, err := c.ip(mv.IP, "move ip")
	if err != nil {
		return err
	}
	from := -1
	if t, _ := c.text(mv.From, ""); t != "none" {
		if from, err = c.ifaceRef(mv.From, "move from"); err != nil {
			return err
		}
	}
	to, err := c.ifaceRef(mv.To, "move to")
	if err != nil {
		return err
	}
	if c.cfg.Owner[ip] != from {
		if from < 0 {
			return c.sc.ErrorAt(mv.From, "move from: none, but %s is configured on an interface", c.cfg.IPs[ip])
		}
		return c.sc.ErrorAt(mv.From, "move from: %s is not configured on %s", c.cfg.IPs[ip], mv.From.Text)
	}
	if c.cfg.Ifaces[to].V6() != c.cfg.IPs[ip].Is6() {
		return c.sc.ErrorAt(mv.To, "move to: %s is not of %s's family", mv.To.Text, c.cfg.IPs[ip])
	}
	at, err := c.window(mv.Time, "at", neigh.Window{})
	if err != nil {
		return err
	}
	if len(c.cfg.Moves) >= neigh.MaxMoves {
		return c.sc.Errorf(mv.At, "at most %d moves", neigh.MaxMoves)
	}
	c.cfg.Moves = append(c.cfg.Moves, neigh.Move{IP: ip, From: from, To: to, At: at})
	return nil
}
