package neigh

import (
	"fmt"

	"raceroute/model/neigh/nud"
)

// Limits of the administrative actors and the garbage-collected tables.
const (
	MaxAdmins   = 4  // agents that run ip neigh
	MaxCommands = 16 // commands of one agent
	MaxTables   = 4  // hosts with a `neigh-table:` (sizes and GC)
)

// Administrative operations: ip neigh add | replace | change | del |
// flush, as iproute2 sends them (ipneigh.c): add is RTM_NEWNEIGH with
// NLM_F_CREATE|NLM_F_EXCL, replace NLM_F_CREATE|NLM_F_REPLACE, change
// NLM_F_REPLACE, del RTM_DELNEIGH, flush a dump and one RTM_DELNEIGH per
// entry the filter keeps.
const (
	AdminAdd uint8 = iota + 1
	AdminReplace
	AdminChange
	AdminDel
	AdminFlush
)

// AdminCmd is one ip neigh command.
type AdminCmd struct {
	Op    uint8
	Iface int // the device
	Slot  int // the entry (not for flush)
	LL    int // lladdr: interface index whose MAC it is, -1 none given
	// State is ndm_state (iproute2's default for add, replace and change
	// is PERMANENT); for flush, the states flushed (iproute2's default:
	// all but PERMANENT and NOARP).
	State nud.State
	// FlushNone: a flush also takes NONE entries (`nud none`).
	FlushNone bool
	Ext       bool // extern_learn (NTF_EXT_LEARNED)
	Use       bool // use (NTF_USE)
	// Managed: managed (NTF_MANAGED; only where the profile has it).
	Managed bool
	At      Window
	Text    string // the command as written, for stories
}

// Admin is an agent that runs ip neigh commands on one host, in order,
// each in its own time window.
type Admin struct {
	Name string
	Host int
	Cmds []AdminCmd
}

// Table is a host's neighbour table as garbage collection sees it: its
// thresholds, the period of neigh_periodic_work(), and the entries the
// scenario does not name one by one (background entries).
type Table struct {
	Host int
	// V6: the table is nd_tbl, of the host's IPv6 entries; else arp_tbl.
	V6 bool
	// Thresh1..3 are gc_thresh1/2/3 (neigh/default/, table-wide).
	Thresh1, Thresh2, Thresh3 int32
	// Period is neigh_periodic_work()'s interval: the table's default
	// base_reachable_time / 2; Phase is the window of its first run.
	Period int32
	Phase  Window
	// Stale background entries: unreferenced STALE entries last used,
	// confirmed and updated StaleAge before t=0; created before every
	// entry of the scenario (the head of the gc list).
	Stale    int32
	StaleAge int32
	// Busy background entries keep a timer armed for the whole run
	// (traffic keeps them REACHABLE): counted, never collected.
	Busy int32
	// Permanent background entries: counted where every entry counts,
	// never collected.
	Permanent int32
}

// DefaultTable is arp_tbl's (v6: nd_tbl's) garbage-collection settings
// (net/ipv4/arp.c and net/ipv6/ndisc.c alike, 3.10 to 6.12: gc_thresh1
// 128, gc_thresh2 512, gc_thresh3 1024, base_reachable_time 30 s, so
// neigh_periodic_work() every 15 s).
func DefaultTable(host int, v6 bool) Table {
	return Table{Host: host, V6: v6, Thresh1: 128, Thresh2: 512, Thresh3: 1024, Period: 15000, Phase: Window{0, 15000}, StaleAge: 600000}
}

// validateAdmin checks the admin agents and tables of c.
func (c *Config) validateAdmin() error {
	if len(c.Admins) > MaxAdmins {
		return fmt.Errorf("at most %d ip neigh agents, have %d", MaxAdmins, len(c.Admins))
	}
	if len(c.Tables) > MaxTables {
		return fmt.Errorf("at most %d neigh-tables, have %d", MaxTables, len(c.Tables))
	}
	for _, a := range c.Admins {
		if len(a.Cmds) == 0 || len(a.Cmds) > MaxCommands {
			return fmt.Errorf("ip neigh agent %s: want 1 to %d commands, have %d", a.Name, MaxCommands, len(a.Cmds))
		}
		for i, cm := range a.Cmds {
			if cm.At.Min < 0 || cm.At.Max < cm.At.Min {
				return fmt.Errorf("ip neigh agent %s: command %d: bad window [%d, %d]", a.Name, i+1, cm.At.Min, cm.At.Max)
			}
			if i > 0 && cm.At.Min < a.Cmds[i-1].At.Max {
				return fmt.Errorf("ip neigh agent %s: command %d starts before command %d's window ends: one agent runs its commands in order", a.Name, i+1, i)
			}
			if cm.Op != AdminFlush && (cm.Slot < 0 || cm.Slot >= len(c.Slots)) {
				return fmt.Errorf("ip neigh agent %s: command %d: no neighbour slot", a.Name, i+1)
			}
		}
	}
	if err := c.validateManaged(); err != nil {
		return err
	}
	for i, t := range c.Tables {
		if c.tableOf(t.key()) != i {
			return fmt.Errorf("neigh-table of host %d: the host's %s is given twice", t.Host, map[bool]string{false: "arp_tbl", true: "nd_tbl"}[t.V6])
		}
		if t.Period <= 0 || t.Phase.Min < 0 || t.Phase.Max < t.Phase.Min {
			return fmt.Errorf("neigh-table of host %d: bad GC period or phase", t.Host)
		}
	}
	return nil
}

// tableKey is the key of host h's arp_tbl (v6: nd_tbl).
func tableKey(h int, v6 bool) int {
	if v6 {
		return 2*h + 1
	}
	return 2 * h
}

// key is t's tableKey.
func (t *Table) key() int { return tableKey(t.Host, t.V6) }

// tableOf returns the index of the Table of key k (tableKey), or -1.
func (c *Config) tableOf(k int) int {
	for i := range c.Tables {
		if c.Tables[i].key() == k {
			return i
		}
	}
	return -1
}
