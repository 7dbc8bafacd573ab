package neighfile

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/profile"
	"raceroute/scenario/format"
)

// Model is the neigh model's part of the format.
func Model() format.Model {
	var sysctlNames, presets []string
	for _, s := range sysctls(&neigh.Sysctl{}) {
		sysctlNames = append(sysctlNames, s.name)
	}
	for _, p := range senderPresets {
		presets = append(presets, p.name)
	}
	return format.Model{
		Name:       "neigh",
		NewDoc:     func() format.Doc { return new(Doc) },
		Compile:    compile,
		Switches:   neigh.Switches(),
		SwitchesOf: switchesOf,
		Words: map[string][]string{
			"sysctl": sysctlNames,
			"preset": presets,
			"value":  {"request", "reply", "self", "broadcast", "zero", "icmp", "tcp", "udp", "true", "false", "none", "arp_tbl", "nd_tbl"},
			"table":  tableKeys(),
		},
	}
}

// maxHorizon is the longest horizon of a neigh scenario (times are int32
// milliseconds).
const maxHorizon = 24 * time.Hour

// compiler turns a Doc into a neigh.Config for one variant.
type compiler struct {
	sc   *format.Scenario
	v    format.Variant
	cfg  *neigh.Config
	host map[string]int // host name -> index
}

// compile builds a neighbour-table (ARP) scenario.
func compile(sc *format.Scenario, v format.Variant, p profile.Profile) (explore.Checker, error) {
	m, horizon, err := Build(sc, v, p)
	if err != nil {
		return nil, err
	}
	return explore.NewChecker[neigh.State](m, m.Properties(horizon)), nil
}

// Build compiles variant v of the scenario into a model on profile p,
// with the check settings of sc.Check, and returns it with the horizon
// in milliseconds. The live lab plays the model's Config on the running
// kernel.
func Build(sc *format.Scenario, v format.Variant, p profile.Profile) (*neigh.Model, int32, error) {
	doc := sc.Doc().(*Doc)
	c := &compiler{sc: sc, v: v, cfg: &neigh.Config{Profile: p}, host: map[string]int{}}
	// Statistical checks draw every delay independently and uniformly
	// (neigh.Config.DrawTimes); exhaustive ones keep the engine's windows.
	c.cfg.DrawTimes = sc.Check.Strategy == string(explore.Random) || sc.Check.Strategy == string(explore.PCT)
	h := sc.Check.Horizon
	switch {
	case h.D <= 0:
		return nil, 0, sc.Errorf(h.At, "a neigh scenario needs `check: horizon:` (e.g. 60s): its flows run until then")
	case h.D > maxHorizon:
		return nil, 0, sc.Errorf(h.At, "check: horizon: a neigh scenario's horizon is at most 24h, got %s", h.D)
	case h.D%time.Millisecond != 0:
		return nil, 0, sc.Errorf(h.At, "check: horizon: want whole milliseconds, got %s", h.D)
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
		return nil, 0, sc.Errorf(sc.At(), "scenario %s: %v", sc.Name, err)
	}
	return m, horizon, nil
}

// text expands l; a what names a value that must not be empty.
func (c *compiler) text(l format.Line, what string) (string, error) {
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
func (c *compiler) dur(l format.Line, what string, def int32) (int32, error) {
	s, err := c.text(l, "")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return def, nil
	}
	return c.parseDur(l, s, what)
}

func (c *compiler) parseDur(l format.Line, s, what string) (int32, error) {
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
func (c *compiler) window(l format.Line, what string, def neigh.Window) (neigh.Window, error) {
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
func (c *compiler) count(l format.Line, what string, def, lo, hi int) (int, error) {
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

func (c *compiler) ip(l format.Line, what string) (int, error) {
	s, err := c.text(l, what)
	if err != nil {
		return -1, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return -1, c.sc.ErrorAt(l, "%s: want an IPv4 or IPv6 address, got %q", what, s)
	}
	return c.intern(a, l)
}

// intern returns the index of address a, adding it (l is where it is
// named, for the capacity error).
func (c *compiler) intern(a netip.Addr, l format.Line) (int, error) {
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
func (c *compiler) ifaceRef(l format.Line, what string) (int, error) {
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
func (c *compiler) slot(iface, ip int, at format.Pos) (int, error) {
	for i, s := range c.cfg.Slots {
		if s.Iface == iface && s.IP == ip {
			return i, nil
		}
	}
	if len(c.cfg.Slots) >= neigh.MaxEntries {
		return -1, c.sc.Errorf(at, "more than %d neighbour entries (one per interface and address a flow, property, initial entry or arp_accept needs): the model holds at most %d", neigh.MaxEntries, neigh.MaxEntries)
	}
	c.cfg.Slots = append(c.cfg.Slots, neigh.Slot{Iface: iface, IP: ip})
	return len(c.cfg.Slots) - 1, nil
}

func (c *compiler) compile(doc *Doc, horizon int32) error {
	sc := c.sc
	if len(doc.Hosts) == 0 {
		return sc.Errorf(sc.At("hosts"), "scenario %s: a neigh scenario needs `hosts:` on its segment", sc.Name)
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
		if err := c.sender(s, horizon, false); err != nil {
			return err
		}
	}
	for _, s := range doc.NDisc {
		if err := c.sender(s, horizon, true); err != nil {
			return err
		}
	}
	for _, f := range doc.Flows {
		if err := c.flow(f); err != nil {
			return err
		}
	}
	if err := c.tables(doc); err != nil {
		return err
	}
	for _, a := range doc.Admin {
		if err := c.agent(a); err != nil {
			return err
		}
	}
	if len(doc.Properties) == 0 {
		return sc.Errorf(sc.At("properties"), "scenario %s: no `properties:`: want converges, no-blackhole-longer-than, announcement-taken, no-stuck-entry or not-evicted-in-use", sc.Name)
	}
	for _, p := range doc.Properties {
		if err := c.property(p, horizon); err != nil {
			return err
		}
	}
	// Interfaces with arp_accept, or forwarding ones with
	// accept_untracked_na, may create entries for announced IPs.
	senders := append(append([]Sender(nil), doc.ARP...), doc.NDisc...)
	for si, s := range c.cfg.Senders {
		for i := range c.cfg.Ifaces {
			sys := &c.cfg.Ifaces[i].Sysctl
			if i != s.Iface && (sys.ArpAccept != 0 || sys.AcceptUntrackedNA != 0 && sys.Forwarding != 0) {
				if _, err := c.slot(i, s.IP, senders[si].At); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// keyed is a value with its key, for refusing values that do not apply.
type keyed struct {
	key string
	l   format.Line
}

// refuse errs at the first of fields the file gives: why says why it
// does not apply.
func (c *compiler) refuse(why string, fields ...keyed) error {
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

// Config compiles variant v of sc for profile p and returns the model's
// configuration: what a test compares with the code a scenario is the
// evidence for (the ARP senders of announce-safe with package announce's
// safe preset).
func Config(sc *format.Scenario, v format.Variant, p profile.Profile) (*neigh.Config, error) {
	m, _, err := Build(sc, v, p)
	if err != nil {
		return nil, err
	}
	return m.Config(), nil
}

// flag parses true or false, def when not given.
func (c *compiler) flag(l format.Line, what string, def bool) (bool, error) {
	s, err := c.text(l, "")
	if err != nil {
		return false, err
	}
	switch s {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, c.sc.ErrorAt(l, "%s: want true or false, got %q", what, s)
}
