package neighfile

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"raceroute/model/neigh"
	"raceroute/scenario/format"
)

// The ip neigh agents (`admin:`), the hosts' `neigh-table:` and the
// properties about them.

// switchesOf is the switches scenario sc can make the model read: the
// ip neigh agents' and the tables' (neigh.AdminSwitches) only when it
// has either.
func switchesOf(sc *format.Scenario) []string {
	doc := sc.Doc().(*Doc)
	all := neigh.Switches()
	if len(doc.Admin) > 0 {
		return all
	}
	for _, h := range doc.Hosts {
		if len(h.Table.List) > 0 {
			return all
		}
	}
	return slices.DeleteFunc(all, func(s string) bool { return slices.Contains(neigh.AdminSwitches(), s) })
}

// tableKeys are the keys of `neigh-table:`.
func tableKeys() []string {
	return []string{"table", "gc_thresh1", "gc_thresh2", "gc_thresh3", "gc_interval", "base_reachable_time", "gc-phase",
		"stale-entries", "stale-age", "busy-entries", "permanent-entries"}
}

// tables reads each host's `neigh-table:`.
func (c *compiler) tables(doc *Doc) error {
	for h, hd := range doc.Hosts {
		if len(hd.Table.List) == 0 {
			continue
		}
		if len(c.cfg.Tables) >= neigh.MaxTables {
			return c.sc.Errorf(hd.Table.At, "at most %d hosts with `neigh-table:`", neigh.MaxTables)
		}
		t := neigh.DefaultTable(h, c.allV6(h))
		phase := false
		counts := map[string]*int32{"gc_thresh1": &t.Thresh1, "gc_thresh2": &t.Thresh2, "gc_thresh3": &t.Thresh3,
			"stale-entries": &t.Stale, "busy-entries": &t.Busy, "permanent-entries": &t.Permanent}
		for _, p := range hd.Table.List {
			k := p.Key.Text
			switch {
			case counts[k] != nil:
				n, err := c.count(p.Value, k, 0, 0, 1<<20)
				if err != nil {
					return err
				}
				*counts[k] = int32(n)
			case k == "table":
				switch p.Value.Text {
				case "arp_tbl", "nd_tbl":
					t.V6 = p.Value.Text == "nd_tbl"
				default:
					return c.sc.ErrorAt(p.Value, "neigh-table: table: want arp_tbl (IPv4) or nd_tbl (IPv6), got %q", p.Value.Text)
				}
			case k == "gc_interval":
				// neigh_periodic_work() re-arms itself every
				// base_reachable_time/2 (3.10 to 6.12, read): tbl->gc_interval
				// is stored and reported (NDTA_GC_INTERVAL), never read.
				return c.sc.ErrorAt(p.Key, "neigh-table: gc_interval: the kernel keeps it but no collector reads it (neigh_periodic_work() runs every base_reachable_time/2), so it changes nothing; remove it, or set base_reachable_time")
			case k == "base_reachable_time":
				d, err := c.dur(p.Value, k, 30000)
				if err != nil {
					return err
				}
				if d < 2 {
					return c.sc.ErrorAt(p.Value, "neigh-table: base_reachable_time must be at least 2ms")
				}
				t.Period = d / 2
			case k == "gc-phase":
				w, err := c.window(p.Value, k, neigh.Window{})
				if err != nil {
					return err
				}
				t.Phase, phase = w, true
			case k == "stale-age":
				d, err := c.dur(p.Value, k, t.StaleAge)
				if err != nil {
					return err
				}
				t.StaleAge = d
			default:
				return c.sc.ErrorAt(p.Key, "neigh-table: unknown key %q (known: %s)", k, strings.Join(tableKeys(), ", "))
			}
		}
		if !phase {
			t.Phase = neigh.Window{Min: 0, Max: t.Period}
		}
		if t.Phase.Max > t.Period {
			return c.sc.Errorf(hd.Table.At, "neigh-table: gc-phase %s..%s: the first run comes within one period (%s)", dms(t.Phase.Min), dms(t.Phase.Max), dms(t.Period))
		}
		c.cfg.Tables = append(c.cfg.Tables, t)
	}
	return nil
}

// allV6 reports whether every interface of host h is IPv6: its
// `neigh-table:` is then nd_tbl unless it says `table:`.
func (c *compiler) allV6(h int) bool {
	for _, i := range c.cfg.Hosts[h].Ifaces {
		if !c.cfg.Ifaces[i].V6() {
			return false
		}
	}
	return true
}

func dms(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// agent reads one `admin:` entry.
func (c *compiler) agent(a Agent) error {
	sc := c.sc
	name, err := c.text(a.Name, "agent name")
	if err != nil {
		return err
	}
	hn, err := c.text(a.Host, "host")
	if err != nil {
		return err
	}
	h, ok := c.host[hn]
	if !ok {
		return sc.ErrorAt(a.Host, "host: no host %q", hn)
	}
	if len(c.cfg.Admins) >= neigh.MaxAdmins {
		return sc.Errorf(a.At, "at most %d ip neigh agents", neigh.MaxAdmins)
	}
	if len(a.Commands) == 0 || len(a.Commands) > neigh.MaxCommands {
		return sc.Errorf(a.At, "agent %s: want 1 to %d `commands:`", name, neigh.MaxCommands)
	}
	ag := neigh.Admin{Name: name, Host: h}
	for i, cl := range a.Commands {
		cmd, err := c.command(h, cl.Cmd)
		if err != nil {
			return err
		}
		if cmd.At, err = c.window(cl.Time, "at", neigh.Window{}); err != nil {
			return err
		}
		if i > 0 && cmd.At.Min < ag.Cmds[i-1].At.Max {
			return sc.ErrorAt(cl.Time, "agent %s: command %d starts before the previous one's window ends (one agent runs its commands in order)", name, i+1)
		}
		ag.Cmds = append(ag.Cmds, cmd)
	}
	c.cfg.Admins = append(c.cfg.Admins, ag)
	return nil
}

// command reads an ip neigh command line as an argument vector (it is
// never run through a shell): `ip neigh add|replace|change|del IP dev
// IFACE [lladdr MAC] [nud STATE] [extern_learn] [use|managed]`, or `ip neigh
// flush dev IFACE [nud STATE|all]`.
func (c *compiler) command(h int, l format.Line) (neigh.AdminCmd, error) {
	var cmd neigh.AdminCmd
	s, err := c.text(l, "cmd")
	if err != nil {
		return cmd, err
	}
	tok := strings.Fields(s)
	bad := func(why string) error {
		return c.sc.ErrorAt(l, "cmd %q: %s (want `ip neigh add|replace|change|del IP dev IFACE [lladdr MAC] [nud STATE] [extern_learn] [use|managed]` or `ip neigh flush dev IFACE [nud STATE|all]`)", s, why)
	}
	if len(tok) < 3 || tok[0] != "ip" || !slices.Contains([]string{"neigh", "neighbor", "neighbour", "n"}, tok[1]) {
		return cmd, bad("not an ip neigh command")
	}
	ops := map[string]uint8{"add": neigh.AdminAdd, "replace": neigh.AdminReplace, "change": neigh.AdminChange, "chg": neigh.AdminChange,
		"del": neigh.AdminDel, "delete": neigh.AdminDel, "flush": neigh.AdminFlush}
	op, ok := ops[tok[2]]
	if !ok {
		return cmd, bad("unknown operation " + tok[2])
	}
	cmd = neigh.AdminCmd{Op: op, LL: -1, Slot: -1, Iface: -1, State: neigh.NUDPermanent, Text: s}
	rest := tok[3:]
	ip := netip.Addr{}
	if op != neigh.AdminFlush {
		if len(rest) == 0 {
			return cmd, bad("missing address")
		}
		if ip, err = netip.ParseAddr(rest[0]); err != nil || !ip.Is4() {
			return cmd, bad("not an IPv4 address: " + rest[0])
		}
		rest = rest[1:]
	} else {
		// iproute2's flush filter: every state but PERMANENT and NOARP.
		cmd.State = ^(neigh.NUDPermanent | neigh.NUDNoARP)
	}
	nudSet := false
	for len(rest) > 0 {
		w := rest[0]
		rest = rest[1:]
		arg := func() (string, error) {
			if len(rest) == 0 {
				return "", bad(w + " needs a value")
			}
			v := rest[0]
			rest = rest[1:]
			return v, nil
		}
		switch w {
		case "dev":
			v, err := arg()
			if err != nil {
				return cmd, err
			}
			for _, i := range c.cfg.Hosts[h].Ifaces {
				if c.cfg.Ifaces[i].Name == v {
					cmd.Iface = i
				}
			}
			if cmd.Iface < 0 {
				return cmd, bad("no interface " + v + " on " + c.cfg.Hosts[h].Name)
			}
		case "lladdr":
			v, err := arg()
			if err != nil {
				return cmd, err
			}
			if op == neigh.AdminDel || op == neigh.AdminFlush {
				return cmd, bad("lladdr: del and flush take none")
			}
			hw, err := net.ParseMAC(v)
			if err != nil || len(hw) != 6 {
				return cmd, bad("bad lladdr " + v)
			}
			for i := range c.cfg.Ifaces {
				if net.HardwareAddr(c.cfg.Ifaces[i].MAC[:]).String() == hw.String() {
					cmd.LL = i
				}
			}
			if cmd.LL < 0 {
				return cmd, bad("lladdr " + v + " is not the MAC of an interface on the segment")
			}
		case "nud":
			v, err := arg()
			if err != nil {
				return cmd, err
			}
			if op == neigh.AdminDel {
				return cmd, bad("nud: del takes none")
			}
			if op == neigh.AdminFlush && v == "all" {
				// ipneigh.c: state = ~0; if (flush) state &= ~NUD_NOARP;
				if !nudSet {
					cmd.State = 0
				}
				cmd.State |= ^neigh.NUDNoARP
				nudSet = true
				continue
			}
			st, ok := neigh.ParseState(v)
			if !ok {
				return cmd, bad("unknown state " + v)
			}
			if op == neigh.AdminFlush {
				if !nudSet {
					cmd.State = 0
				}
				cmd.State |= st
				// ipneigh.c: `nud none` is the filter bit 0x100, which
				// keeps entries whose state is 0.
				cmd.FlushNone = cmd.FlushNone || st == neigh.NUDNone
			} else {
				cmd.State = st
			}
			nudSet = true
		case "extern_learn", "use":
			if op == neigh.AdminDel || op == neigh.AdminFlush {
				return cmd, bad(w + ": only add, replace and change take it")
			}
			if w == "use" {
				cmd.Use = true
			} else {
				cmd.Ext = true
			}
		case "managed":
			if op == neigh.AdminDel || op == neigh.AdminFlush {
				return cmd, bad(w + ": only add, replace and change take it")
			}
			if k := &c.cfg.Profile; !k.NeighManaged {
				return cmd, bad(fmt.Sprintf("managed (NTF_MANAGED) needs Linux 5.16 or later (neigh-managed=yes; 7482e3841d52); kernel profile %s has neigh-managed=no, whose neigh_add() skips iproute2's NDA_FLAGS_EXT and leaves a NONE entry that nothing resolves", k.ID()))
			}
			cmd.Managed = true
		default:
			return cmd, bad("unexpected " + w)
		}
	}
	if cmd.Iface < 0 {
		return cmd, bad("missing dev")
	}
	if cmd.Managed && (nudSet || cmd.Use) {
		// iproute2 6.1 sends ndm_state NUD_NONE with managed (seen on the
		// wire), and neigh_add()'s __neigh_update() never reads the state
		// of a NEIGH_UPDATE_F_MANAGED request (6.12).
		return cmd, bad("managed takes no `nud` or `use`: the kernel ignores the state of a managed request")
	}
	if cmd.Managed {
		cmd.State = neigh.NUDNone
		host, v6 := c.cfg.Ifaces[cmd.Iface].Host, c.cfg.Ifaces[cmd.Iface].V6()
		if w := c.cfg.Managed; w != nil && (w.Host != host || w.V6 != v6) {
			return cmd, bad("managed entries of one host's table only: the model keeps one neigh_managed_work()")
		}
		if c.cfg.Managed == nil {
			c.cfg.Managed = neigh.DefaultManaged(host, v6)
		}
	}
	if op == neigh.AdminFlush {
		return cmd, nil
	}
	a, err := c.intern(ip, l)
	if err != nil {
		return cmd, err
	}
	if cmd.Slot, err = c.slot(cmd.Iface, a, l.Pos()); err != nil {
		return cmd, err
	}
	return cmd, nil
}

// adminProperty reads no-stuck-entry and not-evicted-in-use.
func (c *compiler) adminProperty(p Property) error {
	sc := c.sc
	if p.NoStuck != nil && p.NotEvicted != nil || p.Converges != nil || p.NoBlackhole != nil {
		return sc.Errorf(p.At, "each property is one of `converges:`, `no-blackhole-longer-than:`, `no-stuck-entry:` or `not-evicted-in-use:`")
	}
	if st := p.NoStuck; st != nil {
		h, err := c.ifaceRef(st.Host, "host")
		if err != nil {
			return err
		}
		ip, err := c.ip(st.IP, "ip")
		if err != nil {
			return err
		}
		limit, err := c.dur(st.Limit, "limit", -1)
		if err != nil {
			return err
		}
		if limit < 0 {
			return sc.Errorf(st.At, "no-stuck-entry needs `limit:` (e.g. 10s)")
		}
		if _, err := c.slot(h, ip, st.IP.Pos()); err != nil {
			return err
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchStuck, Iface: h, IP: ip, Limit: limit, Move: -1, Flow: -1})
		return nil
	}
	name, err := c.text(p.NotEvicted.Flow, "flow")
	if err != nil {
		return err
	}
	for i, f := range c.cfg.Flows {
		if f.Name == name {
			fi := &c.cfg.Ifaces[f.Iface]
			if !slices.ContainsFunc(c.cfg.Tables, func(t neigh.Table) bool { return t.Host == fi.Host && t.V6 == fi.V6() }) {
				return sc.ErrorAt(p.NotEvicted.Flow, "not-evicted-in-use: flow %s's host has no `neigh-table:` of its family (%s): its table stays under gc_thresh1 and nothing is ever collected", name, map[bool]string{false: "arp_tbl", true: "nd_tbl"}[fi.V6()])
			}
			c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchEvicted, Flow: i, Move: -1})
			return nil
		}
	}
	return sc.ErrorAt(p.NotEvicted.Flow, "no flow %q", name)
}
