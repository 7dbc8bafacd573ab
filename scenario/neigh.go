package scenario

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/profile"
)

// neighDoc is a neigh scenario file: the common header and the segment.
type neighDoc struct {
	Header `yaml:",inline"`
	// ReachableDraws is how many distinct reachable_time values the
	// explorer may choose per interface (0: every millisecond, as the
	// kernel's random draw).
	ReachableDraws Line            `yaml:"reachable-draws"`
	Hosts          []neighHost     `yaml:"hosts"`
	Moves          []neighMove     `yaml:"moves"`
	ARP            []neighSender   `yaml:"arp"`
	Flows          []neighFlow     `yaml:"flows"`
	Properties     []neighProperty `yaml:"properties"`
}

func (d *neighDoc) header() *Header { return &d.Header }

type neighHost struct {
	At         Pos          `yaml:"-"`
	Name       Line         `yaml:"name"`
	Interfaces []neighIface `yaml:"interfaces"`
	// Neigh are initial entries in `ip neigh` syntax:
	// "IP dev IFACE lladdr MAC STATE [age DURATION]".
	Neigh Lines `yaml:"neigh"`
}

type neighIface struct {
	At     Pos    `yaml:"-"`
	Name   Line   `yaml:"name"`
	MAC    Line   `yaml:"mac"`
	Addrs  []Line `yaml:"addrs"`
	Sysctl Pairs  `yaml:"sysctl"`
}

type neighMove struct {
	At   Pos  `yaml:"-"`
	IP   Line `yaml:"ip"`
	From Line `yaml:"from"`
	To   Line `yaml:"to"`
	Time Line `yaml:"at"`
}

type neighPacket struct {
	At    Pos  `yaml:"-"`
	Op    Line `yaml:"op"`
	After Line `yaml:"after"`
	THA   Line `yaml:"tha"`
}

type neighSender struct {
	At       Pos           `yaml:"-"`
	Name     Line          `yaml:"name"`
	From     Line          `yaml:"from"`
	IP       Line          `yaml:"ip"`
	Preset   Line          `yaml:"preset"`
	Start    Line          `yaml:"start"`
	To       Line          `yaml:"to"`
	Op       Line          `yaml:"op"`
	Count    Line          `yaml:"count"`
	Interval Line          `yaml:"interval"`
	Jitter   Line          `yaml:"jitter"`
	THA      Line          `yaml:"tha"`
	Packets  []neighPacket `yaml:"packets"`
}

type neighFlow struct {
	At       Pos  `yaml:"-"`
	Name     Line `yaml:"name"`
	From     Line `yaml:"from"`
	To       Line `yaml:"to"`
	Proto    Line `yaml:"proto"`
	Start    Line `yaml:"start"`
	Every    Line `yaml:"every"`
	Jitter   Line `yaml:"jitter"`
	Backoff  Line `yaml:"backoff"`
	MaxEvery Line `yaml:"max-every"`
	Count    Line `yaml:"count"`
	RTT      Line `yaml:"rtt"`
}

type neighConverges struct {
	At     Pos  `yaml:"-"`
	Host   Line `yaml:"host"`
	IP     Line `yaml:"ip"`
	Within Line `yaml:"within"`
}

type neighBlackhole struct {
	At    Pos  `yaml:"-"`
	Flow  Line `yaml:"flow"`
	Limit Line `yaml:"limit"`
}

type neighProperty struct {
	At          Pos             `yaml:"-"`
	Converges   *neighConverges `yaml:"converges"`
	NoBlackhole *neighBlackhole `yaml:"no-blackhole-longer-than"`
}

// maxHorizon is the longest horizon of a neigh scenario (times are int32
// milliseconds).
const maxHorizon = 24 * time.Hour

// neighCompiler turns a neighDoc into a neigh.Config for one variant.
type neighCompiler struct {
	sc   *Scenario
	v    Variant
	cfg  *neigh.Config
	host map[string]int // host name -> index
}

// compileNeigh builds a neighbour-table (ARP) scenario.
func compileNeigh(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error) {
	m, horizon, err := buildNeigh(sc, v, p)
	if err != nil {
		return nil, err
	}
	return explore.NewChecker[neigh.State](m, m.Properties(horizon)), nil
}

// buildNeigh compiles the scenario into a model, with the check settings
// of sc.Check.
func buildNeigh(sc *Scenario, v Variant, p profile.Profile) (*neigh.Model, int32, error) {
	doc := sc.doc.(*neighDoc)
	c := &neighCompiler{sc: sc, v: v, cfg: &neigh.Config{Profile: p}, host: map[string]int{}}
	// Statistical checks draw every delay independently and uniformly
	// (neigh.Config.DrawTimes); exhaustive ones keep the engine's windows.
	c.cfg.DrawTimes = sc.Check.Strategy == string(explore.Random) || sc.Check.Strategy == string(explore.PCT)
	h := sc.Check.Horizon
	switch {
	case h.D <= 0:
		return nil, 0, sc.errAt(h.At, "a neigh scenario needs `check: horizon:` (e.g. 60s): its flows run until then")
	case h.D > maxHorizon:
		return nil, 0, sc.errAt(h.At, "check: horizon: a neigh scenario's horizon is at most 24h, got %s", h.D)
	case h.D%time.Millisecond != 0:
		return nil, 0, sc.errAt(h.At, "check: horizon: want whole milliseconds, got %s", h.D)
	}
	horizon := int32(h.Millis())
	draws, err := c.count(doc.ReachableDraws, "reachable-draws", 0, 0, 1<<20)
	if err != nil {
		return nil, 0, err
	}
	c.cfg.Draws = draws
	if err := c.compile(doc, horizon); err != nil {
		return nil, 0, err
	}
	m, err := neigh.New(c.cfg)
	if err != nil {
		return nil, 0, sc.errAt(posOf(sc.root), "scenario %s: %v", sc.Name, err)
	}
	return m, horizon, nil
}

// text expands l; a what names a value that must not be empty.
func (c *neighCompiler) text(l Line, what string) (string, error) {
	s, err := c.sc.Expand(l, c.v)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == "" && what != "" {
		return "", c.sc.ErrorAt(l, "missing %s", what)
	}
	return s, nil
}

// dur parses a duration ("1s", "200ms", or bare milliseconds).
func (c *neighCompiler) dur(l Line, what string, def int32) (int32, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return def, nil
	}
	return c.parseDur(l, s, what)
}

func (c *neighCompiler) parseDur(l Line, s, what string) (int32, error) {
	if d, err := time.ParseDuration(s); err == nil {
		switch {
		case d < 0 || d > maxHorizon:
			return 0, c.sc.ErrorAt(l, "%s %q out of range (0 to 24h)", what, s)
		case d%time.Millisecond != 0:
			return 0, c.sc.ErrorAt(l, "%s %q: want whole milliseconds (the model's clock is jiffies at HZ=1000)", what, s)
		}
		return int32(d / time.Millisecond), nil
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil && n >= 0 && n <= maxHorizon.Milliseconds() {
		return int32(n), nil
	}
	return 0, c.sc.ErrorAt(l, "%s: want a duration such as 1s or 200ms (0 to 24h), got %q", what, s)
}

// window parses "D" or "D1..D2".
func (c *neighCompiler) window(l Line, what string, def neigh.Window) (neigh.Window, error) {
	s, err := c.text(l, "")
	if err != nil {
		return def, err
	}
	if s == "" {
		return def, nil
	}
	lo, hi, ok := strings.Cut(s, "..")
	a, err := c.parseDur(l, strings.TrimSpace(lo), what)
	if err != nil {
		return def, err
	}
	b := a
	if ok {
		if b, err = c.parseDur(l, strings.TrimSpace(hi), what); err != nil {
			return def, err
		}
	}
	if b < a {
		return def, c.sc.ErrorAt(l, "%s window %q ends before it starts", what, s)
	}
	return neigh.Window{Min: a, Max: b}, nil
}

// count parses a whole number from lo to hi, def when not given.
func (c *neighCompiler) count(l Line, what string, def, lo, hi int) (int, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, c.sc.ErrorAt(l, "%s: want a whole number from %d to %d, got %q", what, lo, hi, s)
	}
	return n, nil
}

func (c *neighCompiler) ip(l Line, what string) (int, error) {
	s, err := c.text(l, what)
	if err != nil {
		return -1, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return -1, c.sc.ErrorAt(l, "%s: want an IPv4 address, got %q", what, s)
	}
	return c.intern(a, l)
}

// intern returns the index of address a, adding it (l is where it is
// named, for the capacity error).
func (c *neighCompiler) intern(a netip.Addr, l Line) (int, error) {
	for i, x := range c.cfg.IPs {
		if x == a {
			return i, nil
		}
	}
	if len(c.cfg.IPs) >= neigh.MaxIPs {
		return -1, c.sc.ErrorAt(l, "%s: more than %d addresses on the segment: the model holds at most %d", a, neigh.MaxIPs, neigh.MaxIPs)
	}
	c.cfg.IPs = append(c.cfg.IPs, a)
	c.cfg.Owner = append(c.cfg.Owner, -1)
	return len(c.cfg.IPs) - 1, nil
}

// ifaceRef resolves "host" (its first interface) or "host/iface".
func (c *neighCompiler) ifaceRef(l Line, what string) (int, error) {
	s, err := c.text(l, what)
	if err != nil {
		return -1, err
	}
	hn, in, _ := strings.Cut(s, "/")
	h, ok := c.host[hn]
	if !ok {
		return -1, c.sc.ErrorAt(l, "%s: no host %q", what, hn)
	}
	for _, i := range c.cfg.Hosts[h].Ifaces {
		if in == "" || c.cfg.Ifaces[i].Name == in {
			return i, nil
		}
	}
	return -1, c.sc.ErrorAt(l, "%s: host %s has no interface %q", what, hn, in)
}

// slot returns the neighbour entry of (iface, ip), adding it (at is where
// the file makes it needed, for the capacity error).
func (c *neighCompiler) slot(iface, ip int, at Pos) (int, error) {
	for i, s := range c.cfg.Slots {
		if s.Iface == iface && s.IP == ip {
			return i, nil
		}
	}
	if len(c.cfg.Slots) >= neigh.MaxEntries {
		return -1, c.sc.errAt(at, "more than %d neighbour entries (one per interface and address a flow, property, initial entry or arp_accept needs): the model holds at most %d", neigh.MaxEntries, neigh.MaxEntries)
	}
	c.cfg.Slots = append(c.cfg.Slots, neigh.Slot{Iface: iface, IP: ip})
	return len(c.cfg.Slots) - 1, nil
}

func (c *neighCompiler) compile(doc *neighDoc, horizon int32) error {
	sc := c.sc
	if len(doc.Hosts) == 0 {
		return sc.errAt(sc.at("hosts"), "scenario %s: a neigh scenario needs `hosts:` on its segment", sc.Name)
	}
	for _, h := range doc.Hosts {
		name, err := c.text(h.Name, "host name")
		if err != nil {
			return err
		}
		if _, dup := c.host[name]; dup {
			return sc.ErrorAt(h.Name, "host %q given twice", name)
		}
		c.host[name] = len(c.cfg.Hosts)
		c.cfg.Hosts = append(c.cfg.Hosts, neigh.Host{Name: name})
		if len(h.Interfaces) == 0 {
			return sc.ErrorAt(h.Name, "host %s has no `interfaces:`", name)
		}
		for _, fi := range h.Interfaces {
			if err := c.iface(len(c.cfg.Hosts)-1, fi); err != nil {
				return err
			}
		}
	}
	for i, h := range doc.Hosts {
		for _, l := range h.Neigh {
			if err := c.neighLine(i, l); err != nil {
				return err
			}
		}
	}
	for _, mv := range doc.Moves {
		if err := c.move(mv); err != nil {
			return err
		}
	}
	for _, s := range doc.ARP {
		if err := c.sender(s, horizon); err != nil {
			return err
		}
	}
	for _, f := range doc.Flows {
		if err := c.flow(f); err != nil {
			return err
		}
	}
	if len(doc.Properties) == 0 {
		return sc.errAt(sc.at("properties"), "scenario %s: no `properties:`: want converges or no-blackhole-longer-than", sc.Name)
	}
	for _, p := range doc.Properties {
		if err := c.property(p, horizon); err != nil {
			return err
		}
	}
	// Interfaces with arp_accept may create entries for announced IPs.
	for si, s := range c.cfg.Senders {
		for i := range c.cfg.Ifaces {
			if i != s.Iface && c.cfg.Ifaces[i].Sysctl.ArpAccept != 0 {
				if _, err := c.slot(i, s.IP, doc.ARP[si].At); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *neighCompiler) iface(h int, fi neighIface) error {
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
		if err != nil || !pfx.Addr().Is4() {
			return sc.ErrorAt(al, "addrs: want IPv4/prefix such as 172.24.4.5/24, got %q", s)
		}
		if k == 0 {
			f.Prefix = pfx
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
		if err := c.sysctl(&f.Sysctl, p.Key, p.Value); err != nil {
			return err
		}
	}
	c.cfg.Ifaces = append(c.cfg.Ifaces, f)
	c.cfg.Hosts[h].Ifaces = append(c.cfg.Hosts[h].Ifaces, idx)
	return nil
}

// sysctlField is a per-interface setting a neigh scenario may set, with
// the field of neigh.Sysctl it sets: a duration or a count.
type sysctlField struct {
	name  string
	dur   *int32
	count *uint8
}

// sysctls are the settings of s a neigh scenario may set.
func sysctls(s *neigh.Sysctl) []sysctlField {
	return []sysctlField{
		{"locktime", &s.Locktime, nil},
		{"base_reachable_time", &s.BaseReachable, nil},
		{"delay_first_probe_time", &s.DelayFirstProbe, nil},
		{"retrans_time", &s.Retrans, nil},
		{"ucast_solicit", nil, &s.UcastSolicit},
		{"mcast_solicit", nil, &s.McastSolicit},
		{"app_solicit", nil, &s.AppSolicit},
		{"mcast_resolicit", nil, &s.McastReprobes},
		{"arp_accept", nil, &s.ArpAccept},
	}
}

func (c *neighCompiler) sysctl(s *neigh.Sysctl, key, l Line) error {
	var names []string
	for _, k := range sysctls(s) {
		names = append(names, k.name)
		if k.name != key.Text {
			continue
		}
		if k.dur != nil {
			v, err := c.dur(l, k.name, *k.dur)
			if err != nil {
				return err
			}
			if k.name == "base_reachable_time" && v < 2 {
				return c.sc.ErrorAt(l, "base_reachable_time must be at least 2ms")
			}
			*k.dur = v
			return nil
		}
		v, err := c.count(l, k.name, int(*k.count), 0, 255)
		if err != nil {
			return err
		}
		if k.name == "arp_accept" && v > 2 {
			return c.sc.ErrorAt(l, "arp_accept: want 0, 1 or 2")
		}
		*k.count = uint8(v)
		return nil
	}
	if key.Text == "gc_stale_time" {
		return c.sc.ErrorAt(key, "sysctl gc_stale_time: the model does not implement garbage collection yet (neigh_periodic_work), so it would change nothing; remove it")
	}
	return c.sc.ErrorAt(key, "unknown sysctl %q (known: %s)", key.Text, strings.Join(names, ", "))
}

// neighLine reads "IP dev IFACE lladdr MAC STATE [age DURATION]".
func (c *neighCompiler) neighLine(h int, l Line) error {
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
	if err != nil || !a.Is4() {
		return bad("not an IPv4 address")
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

func (c *neighCompiler) move(mv neighMove) error {
	ip, err := c.ip(mv.IP, "move ip")
	if err != nil {
		return err
	}
	from, err := c.ifaceRef(mv.From, "move from")
	if err != nil {
		return err
	}
	to, err := c.ifaceRef(mv.To, "move to")
	if err != nil {
		return err
	}
	if c.cfg.Owner[ip] != from {
		return c.sc.ErrorAt(mv.From, "move from: %s is not configured on %s", c.cfg.IPs[ip], mv.From.Text)
	}
	at, err := c.window(mv.Time, "at", neigh.Window{})
	if err != nil {
		return err
	}
	if len(c.cfg.Moves) >= neigh.MaxMoves {
		return c.sc.errAt(mv.At, "at most %d moves", neigh.MaxMoves)
	}
	c.cfg.Moves = append(c.cfg.Moves, neigh.Move{IP: ip, From: from, To: to, At: at})
	return nil
}

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
func (c *neighCompiler) preset(s neighSender, name string, count int, horizon int32) ([]neigh.Packet, error) {
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

func (c *neighCompiler) op(l Line) (uint8, error) {
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
func (c *neighCompiler) tha(l Line, op uint8) (neigh.THA, error) {
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

// keyed is a value with its key, for refusing values that do not apply.
type keyed struct {
	key string
	l   Line
}

// refuse errs at the first of fields the file gives: why says why it
// does not apply.
func (c *neighCompiler) refuse(why string, fields ...keyed) error {
	for _, f := range fields {
		s, err := c.text(f.l, "")
		if err != nil {
			return err
		}
		if s != "" {
			return c.sc.ErrorAt(f.l, "%s: %s", f.key, why)
		}
	}
	return nil
}

func (c *neighCompiler) sender(s neighSender, horizon int32) error {
	sc := c.sc
	name, err := c.text(s.Name, "ARP sender name")
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
			return sc.errAt(s.Packets[0].At, "packets: %s", why)
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
		return sc.errAt(s.At, "ARP sender %s: want 1 to %d frames, got %d", name, neigh.MaxPackets, len(sd.Packets))
	}
	sd.Packets[0].After.Min += start.Min
	sd.Packets[0].After.Max += start.Max
	if len(c.cfg.Senders) >= neigh.MaxSenders {
		return sc.errAt(s.At, "at most %d ARP senders", neigh.MaxSenders)
	}
	c.cfg.Senders = append(c.cfg.Senders, sd)
	return nil
}

func (c *neighCompiler) flow(f neighFlow) error {
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
	switch p, _ := c.text(f.Proto, ""); p {
	case "", "icmp":
		if err := c.refuse("an icmp flow is not acknowledged (rtt is for proto: tcp)", keyed{"rtt", f.RTT}); err != nil {
			return err
		}
	case "tcp":
		fl.Proto = neigh.ProtoTCP
	default:
		return sc.ErrorAt(f.Proto, "proto: want icmp or tcp, got %q", p)
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
	if fl.Proto == neigh.ProtoTCP && fl.RTT.Max >= fl.Every {
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
		return sc.errAt(f.At, "at most %d flows", neigh.MaxFlows)
	}
	c.cfg.Flows = append(c.cfg.Flows, fl)
	return nil
}

func (c *neighCompiler) property(p neighProperty, horizon int32) error {
	sc := c.sc
	switch {
	case p.Converges != nil && p.NoBlackhole == nil:
		cv := p.Converges
		h, err := c.ifaceRef(cv.Host, "host")
		if err != nil {
			return err
		}
		ip, err := c.ip(cv.IP, "ip")
		if err != nil {
			return err
		}
		if c.cfg.Owner[ip] < 0 {
			return sc.ErrorAt(cv.IP, "converges: no host owns %s (give it in an interface's `addrs:`), so no entry can ever hold its owner's MAC", c.cfg.IPs[ip])
		}
		within, err := c.dur(cv.Within, "within", -1)
		if err != nil {
			return err
		}
		if within < 0 {
			return sc.errAt(cv.At, "converges needs `within:` (e.g. 30s)")
		}
		mv := -1
		for i, m := range c.cfg.Moves {
			if m.IP == ip {
				mv = i
			}
		}
		end := within
		if mv >= 0 {
			end += c.cfg.Moves[mv].At.Max
		}
		if end > horizon {
			return sc.ErrorAt(cv.Within, "converges within %s ends after the horizon (%s): raise check: horizon", cv.Within.Text, time.Duration(horizon)*time.Millisecond)
		}
		if _, err := c.slot(h, ip, cv.IP.Pos()); err != nil {
			return err
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchConverges, Iface: h, IP: ip, Limit: within, Move: mv, Flow: -1})
	case p.NoBlackhole != nil && p.Converges == nil:
		nb := p.NoBlackhole
		name, err := c.text(nb.Flow, "flow")
		if err != nil {
			return err
		}
		fi := -1
		for i, f := range c.cfg.Flows {
			if f.Name == name {
				fi = i
			}
		}
		if fi < 0 {
			return sc.ErrorAt(nb.Flow, "no flow %q", name)
		}
		limit, err := c.dur(nb.Limit, "limit", -1)
		if err != nil {
			return err
		}
		if limit < 0 {
			return sc.errAt(nb.At, "no-blackhole-longer-than needs `limit:` (e.g. 10s)")
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchBlackhole, Flow: fi, Limit: limit, Move: -1})
	default:
		return sc.errAt(p.At, "each property is one of `converges:` or `no-blackhole-longer-than:`")
	}
	if len(c.cfg.Watches) > neigh.MaxWatches {
		return sc.errAt(p.At, "at most %d properties", neigh.MaxWatches)
	}
	return nil
}
