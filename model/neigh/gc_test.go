package neigh

import (
	"testing"

	"raceroute/model/neigh/nud"
)

// gcModel is testModel with a neigh-table on tempest and an ip neigh agent
// with cmds.
func gcModel(t *testing.T, prof string, tb Table, cmds ...AdminCmd) (*Model, State) {
	t.Helper()
	m0, _ := testModel(t, prof, 0)
	cfg := *m0.cfg
	cfg.Tables = []Table{tb}
	if len(cmds) > 0 {
		cfg.Admins = []Admin{{Name: "agent", Host: 0, Cmds: cmds}}
	}
	m, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	s.Ifs[ifT].Reach, s.Ifs[ifT].Drawn = 30000, 1
	return m, s
}

// neigh_alloc() at gc_thresh2: the table walk (4.19) takes every
// unreferenced entry, the gc list (5.0) the oldest ones, only down to
// gc_thresh2, and never one updated in the last 5 s.
func TestForcedGC(t *testing.T) {
	tb := DefaultTable(0, false)
	tb.Thresh2, tb.Thresh3 = 4, 8
	for _, c := range []struct {
		prof       string
		stale      int32 // background
		vipUpdated int32
		staleLeft  int32
		vipKept    bool
	}{
		{"linux-4.19", 2, 0, 0, false},
		{"linux-5.4.0", 2, 0, 1, true},    // max_clean 1: one old background entry
		{"linux-6.12", 0, 0, 0, false},    // nothing older: the VIP's entry, not updated for 5 s
		{"linux-6.12", 0, 98000, 0, true}, // updated 2 s ago: kept; gc_thresh3 not reached: allocated anyway
	} {
		tb := tb
		tb.Stale, tb.Busy = c.stale, 3-c.stale
		m, s := gcModel(t, c.prof, tb)
		s.Entries[0].Updated = c.vipUpdated
		v := &env{s: &s, now: 100000}
		// 3 background + the VIP's entry = 4 = gc_thresh2: a new entry
		// (slot 2) starts a forced GC.
		got := m.alloc(v, 2, -1)
		if !got {
			t.Fatalf("%s: allocation refused below gc_thresh3", c.prof)
		}
		if s.Tables[0].Stale != c.staleLeft || s.Entries[0].Exists() != c.vipKept {
			t.Errorf("%s: %d background stale entries left, VIP entry kept %v; want %d, %v", c.prof, s.Tables[0].Stale, s.Entries[0].Exists(), c.staleLeft, c.vipKept)
		}
		if s.Tables[0].LastFlush != 100000 {
			t.Errorf("%s: last_flush %d, want now", c.prof, s.Tables[0].LastFlush)
		}
	}
}

// At gc_thresh3 with nothing to free, neigh_alloc() fails: the packet
// is dropped and no entry is made.
func TestTableOverflow(t *testing.T) {
	tb := DefaultTable(0, false)
	tb.Thresh2, tb.Thresh3, tb.Busy = 2, 2, 2
	m, s := gcModel(t, "linux-6.12", tb)
	s.Entries[0].Timer = 200000 // referenced: the collector may not take it
	v := &env{s: &s, now: 100000}
	s.Flows[0].LossSince = -1
	m.cfg.Flows[0].IP = ipB
	m.flowSlot[0] = 2
	delivered, queued := m.transmit(v, 0)
	if delivered || queued || s.Entries[2].Exists() {
		t.Fatalf("delivered %v queued %v entry %v: want the packet dropped and no entry", delivered, queued, s.Entries[2].Exists())
	}
}

// ip neigh del: FAILED and kept before 4.14, unlinked from 4.14.
func TestAdminDel(t *testing.T) {
	del := AdminCmd{Op: AdminDel, Iface: ifT, Slot: 0, LL: -1}
	for _, c := range []struct {
		prof    string
		removed bool
	}{{"linux-4.12", false}, {"linux-4.14.0", true}, {"rhel-7.3", false}, {"rhel-7.9", true}} {
		m, s := gcModel(t, c.prof, DefaultTable(0, false), del)
		m.fireAdmin(&env{s: &s, now: 1000}, 0, 0)
		e := &s.Entries[0]
		if e.Exists() == c.removed || (!c.removed && e.State != NUDFailed) {
			t.Errorf("%s: after del the entry exists %v in %s; want removed %v", c.prof, e.Exists(), StateName(e.State), c.removed)
		}
	}
}

// ip neigh replace ... nud incomplete while resolving: the timer is
// gone and the no-stuck-entry watch starts its streak.
func TestAdminIncompleteIsStuck(t *testing.T) {
	cmd := AdminCmd{Op: AdminReplace, Iface: ifT, Slot: 0, LL: -1, State: NUDIncomplete}
	m0, _ := testModel(t, "linux-6.12", 0)
	cfg := *m0.cfg
	cfg.Admins = []Admin{{Name: "agent", Host: 0, Cmds: []AdminCmd{cmd}}}
	cfg.Watches = []Watch{{Kind: WatchStuck, Iface: ifT, IP: ipV, Limit: 5000, Move: -1, Flow: -1}}
	m, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	s.Entries[0].State, s.Entries[0].Timer = NUDIncomplete, 1500
	s.Now = 1000
	m.fireAdmin(&env{s: &s, now: 1000}, 0, 0)
	m.watch(&s)
	if s.Entries[0].Timer != -1<<31 || s.GoodSince[0] != 1000 {
		t.Fatalf("timer %d stuck since %d: want no timer, stuck since 1000", s.Entries[0].Timer, s.GoodSince[0])
	}
	s.Now = 7000
	if p := m.Properties(7000)[0]; p.Holds(&s) {
		t.Fatalf("stuck 6 s with a 5 s limit: %s", p.Explain(&s))
	}
}

// ip neigh flush dev: every entry but PERMANENT and NOARP by default
// (iproute2's filter), each deleted as neigh_delete() does.
func TestAdminFlush(t *testing.T) {
	flush := AdminCmd{Op: AdminFlush, Iface: ifT, Slot: -1, LL: -1, State: ^(NUDPermanent | NUDNoARP)}
	for _, prof := range []string{"linux-4.12", "linux-6.12"} {
		m, s := gcModel(t, prof, DefaultTable(0, false), flush)
		s.Entries[2] = Entry{State: NUDPermanent, LL: ifB + 1, Timer: -1 << 31, Flags: 1}
		m.fireAdmin(&env{s: &s, now: 1000}, 0, 0)
		removes := m.cfg.Profile.NeighDelRemoves
		if e := &s.Entries[0]; e.Exists() == removes || (!removes && e.State != NUDFailed) {
			t.Errorf("%s: the STALE entry after flush: exists %v %s", prof, e.Exists(), StateName(e.State))
		}
		if s.Entries[2].State != NUDPermanent {
			t.Errorf("%s: flush took the PERMANENT entry", prof)
		}
	}
}

// nd_tbl and arp_tbl are separate tables (net/ipv6/ndisc.c,
// net/ipv4/arp.c): an NS that would create c's entry for the prober is
// refused by a full nd_tbl (neigh_alloc() at gc_thresh3, nothing
// collectable), and ndisc_recv_ns() then sends no NA; a full arp_tbl on
// the same host does not count IPv6 entries, so the NS creates the entry
// and is answered.
func TestNDTableSeparate(t *testing.T) {
	for _, v6 := range []bool{true, false} {
		m0, _ := segment(t, "linux-6.12", true, Flow{Proto: ProtoICMP})
		cfg := *m0.cfg
		cfg.Slots = append(append([]Slot(nil), cfg.Slots...), Slot{Iface: 2, IP: 0}) // c's entry for client
		tb := DefaultTable(2, v6)
		tb.Thresh2, tb.Thresh3, tb.Busy = 1, 1, 1
		cfg.Tables = []Table{tb}
		m, err := New(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := m.Init()
		s.Ifs[0].Reach, s.Ifs[0].Drawn = 30000, 1
		e := &s.Entries[1] // client's entry for c
		e.State, e.Timer = NUDIncomplete, 10000
		m.ndiscSolicit(&env{s: &s, now: 10000}, 1, nud.ProbeMulticast)
		created, answered := s.Entries[2].Exists(), e.State&NUDValid != 0
		if created == v6 || answered == v6 {
			t.Errorf("table nd_tbl %v: c's entry created %v, NA answered %v; want %v, %v", v6, created, answered, !v6, !v6)
		}
		if v6 && s.Tables[0].LastFlush != 10000 {
			t.Errorf("nd_tbl: no forced GC ran (last_flush %d)", s.Tables[0].LastFlush)
		}
	}
}
