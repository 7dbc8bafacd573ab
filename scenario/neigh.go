package scenario

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/model/profile"
)

// neighDoc is a neigh scenario file: the common header and the segment.
type neighDoc struct {
	Header `yaml:",inline"`
	// ReachableDraws is how many distinct reachable_time values the
	// explorer may choose per interface (0: every millisecond, as the
	// kernel's random draw).
	ReachableDraws int             `yaml:"reachable-draws"`
	Hosts          []neighHost     `yaml:"hosts"`
	Moves          []neighMove     `yaml:"moves"`
	ARP            []neighSender   `yaml:"arp"`
	Flows          []neighFlow     `yaml:"flows"`
	Properties     []neighProperty `yaml:"properties"`
}

type neighHost struct {
	Name       Line         `yaml:"name"`
	Interfaces []neighIface `yaml:"interfaces"`
	// Neigh are initial entries in `ip neigh` syntax:
	// "IP dev IFACE lladdr MAC STATE [age DURATION]".
	Neigh []Line `yaml:"neigh"`
}

type neighIface struct {
	Name   Line            `yaml:"name"`
	MAC    Line            `yaml:"mac"`
	Addrs  []Line          `yaml:"addrs"`
	Sysctl map[string]Line `yaml:"sysctl"`
}

type neighMove struct {
	IP   Line `yaml:"ip"`
	From Line `yaml:"from"`
	To   Line `yaml:"to"`
	At   Line `yaml:"at"`
}

type neighPacket struct {
	Op    Line `yaml:"op"`
	After Line `yaml:"after"`
	THA   Line `yaml:"tha"`
}

type neighSender struct {
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
	Host   Line `yaml:"host"`
	IP     Line `yaml:"ip"`
	Within Line `yaml:"within"`
}

type neighBlackhole struct {
	Flow  Line `yaml:"flow"`
	Limit Line `yaml:"limit"`
}

type neighProperty struct {
	Converges   *neighConverges `yaml:"converges"`
	NoBlackhole *neighBlackhole `yaml:"no-blackhole-longer-than"`
}

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

// buildNeigh decodes and compiles the scenario into a model.
func buildNeigh(sc *Scenario, v Variant, p profile.Profile) (*neigh.Model, int32, error) {
	var doc neighDoc
	if err := sc.Decode(&doc); err != nil {
		return nil, 0, err
	}
	c := &neighCompiler{sc: sc, v: v, cfg: &neigh.Config{Profile: p, Draws: doc.ReachableDraws}, host: map[string]int{}}
	// Statistical checks draw every delay independently and uniformly
	// (neigh.Config.DrawTimes); exhaustive ones keep the engine's windows.
	c.cfg.DrawTimes = doc.Check.Strategy == string(explore.Random) || doc.Check.Strategy == string(explore.PCT)
	if doc.ReachableDraws < 0 {
		return nil, 0, sc.errAtKey("reachable-draws", "reachable-draws must be 0 (kernel resolution) or a positive count")
	}
	if err := c.compile(&doc); err != nil {
		return nil, 0, err
	}
	horizon := int32(doc.Check.Horizon.Millis())
	if horizon > 86400000 {
		return nil, 0, sc.errAtKey("horizon", "a neigh scenario's horizon is at most 24h")
	}
	if horizon <= 0 {
		return nil, 0, sc.errAtKey("check", "a neigh scenario needs `check: horizon:` (e.g. 60s): its flows run until then")
	}
	for i, w := range c.cfg.Watches {
		if w.Kind != neigh.WatchConverges {
			continue
		}
		end := w.Limit
		if w.Move >= 0 {
			end += c.cfg.Moves[w.Move].At.Max
		}
		if end > horizon {
			pl := doc.Properties[i].Converges.Within
			return nil, 0, sc.ErrorAt(pl, "converges within %s ends after the horizon (%s): raise check: horizon", pl.Text, time.Duration(horizon)*time.Millisecond)
		}
	}
	m, err := neigh.New(c.cfg)
	if err != nil {
		return nil, 0, sc.Errorf(0, 0, "%v", err)
	}
	return m, horizon, nil
}

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
		if d < 0 || d > 24*time.Hour {
			return 0, c.sc.ErrorAt(l, "%s %q out of range (0 to 24h)", what, s)
		}
		return int32(d / time.Millisecond), nil
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil && n >= 0 && n <= 86400000 {
		return int32(n), nil
	}
	return 0, c.sc.ErrorAt(l, "%s: want a duration such as 1s or 200ms, got %q", what, s)
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

func (c *neighCompiler) count(l Line, what string, def, maxv int) (int, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxv {
		return 0, c.sc.ErrorAt(l, "%s: want a whole number from 0 to %d, got %q", what, maxv, s)
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
	return c.intern(a), nil
}

func (c *neighCompiler) intern(a netip.Addr) int {
	for i, x := range c.cfg.IPs {
		if x == a {
			return i
		}
	}
	c.cfg.IPs = append(c.cfg.IPs, a)
	c.cfg.Owner = append(c.cfg.Owner, -1)
	return len(c.cfg.IPs) - 1
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

func (c *neighCompiler) slot(iface, ip int) int {
	for i, s := range c.cfg.Slots {
		if s.Iface == iface && s.IP == ip {
			return i
		}
	}
	c.cfg.Slots = append(c.cfg.Slots, neigh.Slot{Iface: iface, IP: ip})
	return len(c.cfg.Slots) - 1
}

func (c *neighCompiler) compile(doc *neighDoc) error {
	sc := c.sc
	if len(doc.Hosts) == 0 {
		return sc.errAtKey("hosts", "a neigh scenario needs `hosts:` on its segment")
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
			return sc.ErrorAt(h.Name, "host %s has no interfaces", name)
		}
		for _, fi := range h.Interfaces {
			if err := c.iface(len(c.cfg.Hosts)-1, fi); err != nil {
				return err
			}
		}
	}
	for _, h := range doc.Hosts {
		for _, l := range h.Neigh {
			if err := c.neighLine(c.host[h.Name.Text], l); err != nil {
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
		if err := c.sender(s, doc); err != nil {
			return err
		}
	}
	for _, f := range doc.Flows {
		if err := c.flow(f); err != nil {
			return err
		}
	}
	if len(doc.Properties) == 0 {
		return sc.errAtKey("properties", "no `properties:`: want converges or no-blackhole-longer-than")
	}
	for _, p := range doc.Properties {
		if err := c.property(p); err != nil {
			return err
		}
	}
	// Interfaces with arp_accept may create entries for announced IPs.
	for _, s := range c.cfg.Senders {
		for i := range c.cfg.Ifaces {
			if i != s.Iface && c.cfg.Ifaces[i].Sysctl.ArpAccept != 0 {
				c.slot(i, s.IP)
			}
		}
	}
	if len(c.cfg.Slots) > neigh.MaxEntries {
		return sc.Errorf(0, 0, "%d neighbour entries: the model holds at most %d", len(c.cfg.Slots), neigh.MaxEntries)
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
		ip := c.intern(pfx.Addr())
		if c.cfg.Owner[ip] >= 0 {
			return sc.ErrorAt(al, "%s is already configured on another interface (use `moves:` for a moving address)", pfx.Addr())
		}
		c.cfg.Owner[ip] = idx
		if k == 0 {
			f.Prefix = pfx
		}
	}
	for key, l := range fi.Sysctl {
		if err := c.sysctl(&f.Sysctl, key, l); err != nil {
			return err
		}
	}
	c.cfg.Ifaces = append(c.cfg.Ifaces, f)
	c.cfg.Hosts[h].Ifaces = append(c.cfg.Hosts[h].Ifaces, idx)
	return nil
}

func (c *neighCompiler) sysctl(s *neigh.Sysctl, key string, l Line) error {
	durs := map[string]*int32{"locktime": &s.Locktime, "base_reachable_time": &s.BaseReachable,
		"delay_first_probe_time": &s.DelayFirstProbe, "retrans_time": &s.Retrans, "gc_stale_time": &s.GcStale}
	counts := map[string]*uint8{"ucast_solicit": &s.UcastSolicit, "mcast_solicit": &s.McastSolicit,
		"app_solicit": &s.AppSolicit, "mcast_resolicit": &s.McastReprobes, "arp_accept": &s.ArpAccept}
	if p, ok := durs[key]; ok {
		v, err := c.dur(l, key, *p)
		if err != nil {
			return err
		}
		if key == "base_reachable_time" && v < 2 {
			return c.sc.ErrorAt(l, "base_reachable_time must be at least 2ms")
		}
		*p = v
		return nil
	}
	if p, ok := counts[key]; ok {
		v, err := c.count(l, key, int(*p), 255)
		if err != nil {
			return err
		}
		if key == "arp_accept" && v > 2 {
			return c.sc.ErrorAt(l, "arp_accept: want 0, 1 or 2")
		}
		*p = uint8(v)
		return nil
	}
	return c.sc.ErrorAt(l, "unknown sysctl %q (want locktime, arp_accept, base_reachable_time, delay_first_probe_time, retrans_time, ucast_solicit, mcast_solicit, app_solicit, mcast_resolicit or gc_stale_time)", key)
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
	sl := c.slot(iface, c.intern(a))
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
	at, err := c.window(mv.At, "at", neigh.Window{})
	if err != nil {
		return err
	}
	if len(c.cfg.Moves) >= neigh.MaxMoves {
		return c.sc.ErrorAt(mv.IP, "at most %d moves", neigh.MaxMoves)
	}
	c.cfg.Moves = append(c.cfg.Moves, neigh.Move{IP: ip, From: from, To: to, At: at})
	return nil
}

// presets are the announcement patterns of kernel-behaviour.md §3.
var senderPresets = map[string]string{
	"arping-A":     "arping -A -c COUNT: gratuitous replies 1 s apart (alarm(1) loop)",
	"arping-U":     "arping -U -c COUNT: gratuitous requests 1 s apart",
	"neutron-2017": "Neutron L3 agent in 2017: arping -A -c 3, three replies 1 s apart",
	"neutron-now":  "Neutron L3 agent today: 3 rounds of arping -U then arping -A, 2 s apart",
	"keepalived":   "keepalived: 5 gratuitous requests on becoming master, 5 more after 5 s",
	"metallb":      "MetalLB: a request and a reply (target MAC broadcast) every 1.1 s for 5 s",
	"kube-vip":     "kube-vip: alternating gratuitous request and reply every 3 s while leader",
}

func (c *neighCompiler) preset(l Line, name string, count int, horizon int32) ([]neigh.Packet, error) {
	req := func(after int32) neigh.Packet {
		return neigh.Packet{Op: neigh.OpRequest, After: neigh.Window{Min: after, Max: after}}
	}
	rep := func(after int32) neigh.Packet {
		return neigh.Packet{Op: neigh.OpReply, After: neigh.Window{Min: after, Max: after}}
	}
	var out []neigh.Packet
	switch name {
	case "arping-A", "arping-U", "neutron-2017":
		if name == "neutron-2017" || count == 0 {
			count = 3
		}
		for i := 0; i < count; i++ {
			a := int32(1000)
			if i == 0 {
				a = 0
			}
			if name == "arping-U" {
				out = append(out, req(a))
			} else {
				out = append(out, rep(a))
			}
		}
	case "neutron-now":
		for i := 0; i < 3; i++ {
			a := int32(2000)
			if i == 0 {
				a = 0
			}
			out = append(out, req(a))
			// the next arping process: spawned through rootwrap and
			// `ip netns exec`, tens of milliseconds later
			out = append(out, neigh.Packet{Op: neigh.OpReply, After: neigh.Window{Min: 10, Max: 100}})
		}
	case "keepalived":
		for i := 0; i < 10; i++ {
			a := int32(0)
			if i == 5 {
				a = 5000
			}
			out = append(out, req(a))
		}
	case "metallb":
		for i := 0; i < 5; i++ {
			a := int32(1100)
			if i == 0 {
				a = 0
			}
			out = append(out, req(a))
			r := rep(0)
			r.THA = neigh.THABroadcast
			out = append(out, r)
		}
	case "kube-vip":
		n := int(horizon / 3000)
		if count > 0 {
			n = count
		}
		n = max(1, min(n, neigh.MaxPackets))
		for i := 0; i < n; i++ {
			a := int32(3000)
			if i == 0 {
				a = 0
			}
			if i%2 == 0 {
				out = append(out, req(a))
			} else {
				out = append(out, rep(a))
			}
		}
	default:
		names := make([]string, 0, len(senderPresets))
		for k := range senderPresets {
			names = append(names, k)
		}
		return nil, c.sc.ErrorAt(l, "unknown preset %q (want one of %s)", name, strings.Join(sortedStrings(names), ", "))
	}
	return out, nil
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
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

func (c *neighCompiler) tha(l Line) (neigh.THA, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
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

func (c *neighCompiler) sender(s neighSender, doc *neighDoc) error {
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
	count, err := c.count(s.Count, "count", 0, neigh.MaxPackets)
	if err != nil {
		return err
	}
	preset, err := c.text(s.Preset, "")
	if err != nil {
		return err
	}
	switch {
	case preset != "":
		if sd.Packets, err = c.preset(s.Preset, preset, count, int32(doc.Check.Horizon.Millis())); err != nil {
			return err
		}
	case len(s.Packets) > 0:
		for _, p := range s.Packets {
			op, err := c.op(p.Op)
			if err != nil {
				return err
			}
			after, err := c.window(p.After, "after", neigh.Window{})
			if err != nil {
				return err
			}
			tha, err := c.tha(p.THA)
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
		interval, err := c.dur(s.Interval, "interval", 1000)
		if err != nil {
			return err
		}
		jitter, err := c.dur(s.Jitter, "jitter", 0)
		if err != nil {
			return err
		}
		tha, err := c.tha(s.THA)
		if err != nil {
			return err
		}
		if count == 0 {
			count = 1
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
		return sc.ErrorAt(s.Name, "ARP sender %s: want 1 to %d packets", name, neigh.MaxPackets)
	}
	sd.Packets[0].After.Min += start.Min
	sd.Packets[0].After.Max += start.Max
	if len(c.cfg.Senders) >= neigh.MaxSenders {
		return sc.ErrorAt(s.Name, "at most %d ARP senders", neigh.MaxSenders)
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
	case "tcp":
		fl.Proto = neigh.ProtoTCP
	default:
		return sc.ErrorAt(f.Proto, "proto: want icmp or tcp, got %q", p)
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
	b, err := c.count(f.Backoff, "backoff", 1, 16)
	if err != nil {
		return err
	}
	fl.Backoff = int32(max(b, 1))
	if fl.MaxEvery, err = c.dur(f.MaxEvery, "max-every", 0); err != nil {
		return err
	}
	n, err := c.count(f.Count, "count", 0, 1<<20)
	if err != nil {
		return err
	}
	fl.Count = int32(n)
	if fl.RTT, err = c.window(f.RTT, "rtt", neigh.Window{Min: 1, Max: 1}); err != nil {
		return err
	}
	if fl.Proto == neigh.ProtoTCP && fl.RTT.Max >= fl.Every {
		return sc.ErrorAt(f.RTT, "rtt must be shorter than every")
	}
	if c.cfg.Owner[ip] == from {
		return sc.ErrorAt(f.To, "flow %s sends to its own address", name)
	}
	c.slot(from, ip)
	for i := range c.cfg.Ifaces {
		if c.cfg.Ifaces[i].Host == c.cfg.Ifaces[from].Host {
			c.cfg.Ifaces[i].Draw = true
		}
	}
	if len(c.cfg.Flows) >= neigh.MaxFlows {
		return sc.ErrorAt(f.Name, "at most %d flows", neigh.MaxFlows)
	}
	c.cfg.Flows = append(c.cfg.Flows, fl)
	return nil
}

func (c *neighCompiler) property(p neighProperty) error {
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
		within, err := c.dur(cv.Within, "within", -1)
		if err != nil {
			return err
		}
		if within < 0 {
			return sc.ErrorAt(cv.IP, "converges needs `within:` (e.g. 30s)")
		}
		mv := -1
		for i, m := range c.cfg.Moves {
			if m.IP == ip {
				mv = i
			}
		}
		c.slot(h, ip)
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
			return sc.ErrorAt(nb.Flow, "no-blackhole-longer-than needs `limit:` (e.g. 10s)")
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchBlackhole, Flow: fi, Limit: limit, Move: -1})
	default:
		return sc.errAtKey("properties", "each property is one of `converges:` or `no-blackhole-longer-than:`")
	}
	if len(c.cfg.Watches) > neigh.MaxWatches {
		return sc.errAtKey("properties", fmt.Sprintf("at most %d properties", neigh.MaxWatches))
	}
	return nil
}
