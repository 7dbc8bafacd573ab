package neigh

import (
	"raceroute/model/neigh/ndisc"
	"raceroute/model/neigh/nud"
)

// This file applies neighbour discovery's decisions (package ndisc) to the
// segment: the NAs a sender multicasts, the NS a probe sends and the
// solicited NA its target's owner answers with. An interface holds one
// family: an IPv6 interface's entries are resolved by these steps, an IPv4
// one's by arpProcess and solicit.

// ndiscRecvNA is ndisc_rcv() -> ndisc_recv_na() on interface rx for na
// (multicast: sent to ff02::1): ndisc.RecvNA decides on rx's entry for the
// target; a queue waiting on the entry leaves once it became valid.
func (m *Model) ndiscRecvNA(v *env, rx int, na ndisc.NA, multicast bool) {
	sl := int(m.slotOf[rx][na.Target])
	var e *nud.Entry
	if sl >= 0 {
		e = &v.s.Entries[sl]
	}
	sys := &m.cfg.Ifaces[rx].Sysctl
	in := ndisc.In{NA: na, Multicast: multicast, TargetLocal: int(v.s.Owner[na.Target]) == rx,
		DropUnsolicited: sys.DropUnsolicitedNA, AcceptUntracked: sys.AcceptUntrackedNA, Forwarding: sys.Forwarding,
		// the NA's source is the announced address itself (keepalived);
		// a link-local source would always be in a prefix of rx.
		SrcInPrefix: m.inSubnet[rx][na.Target]}
	w := ndisc.RecvNA(m.dev(v, rx), &in, e)
	if w.Created && !m.ndCreated(v, sl) {
		return // neigh_create() failed: the NA changes nothing
	}
	if v.rec != nil {
		m.describeNA(v, rx, &in, &w, sl)
	}
	if w.Flush {
		m.flushQueue(v, sl)
	}
}

// announceNA sends sender i's unsolicited NA pk: to ff02::1, every other
// IPv6 interface receives it, or unicast to one.
func (m *Model) announceNA(v *env, i int, pk Packet) {
	sd := &m.cfg.Senders[i]
	na := ndisc.NA{Flags: pk.NA &^ ndisc.Solicited, Target: sd.IP, TLL: uint8(sd.Iface + 1)}
	if sd.Unicast >= 0 {
		m.ndiscRecvNA(v, sd.Unicast, na, false)
		return
	}
	for rx := range m.cfg.Ifaces {
		if rx != sd.Iface && m.cfg.Ifaces[rx].V6() {
			m.ndiscRecvNA(v, rx, na, true)
		}
	}
}

// ndiscSolicit is ndisc_solicit() (net/ipv6/ndisc.c, 3.10 and 6.12) as
// neigh_probe() calls it for entry sl: kind (nud.ProbeNext) is an NS
// unicast to the cached lladdr or to the target's solicited-node
// multicast address; the owner of the target answers at once.
func (m *Model) ndiscSolicit(v *env, sl int, kind nud.ProbeKind) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	if v.rec != nil {
		m.describeNS(v, sl, kind)
	}
	if kind == nud.ProbeUnicast {
		if dst := int(e.LL) - 1; dst >= 0 && dst != slot.Iface {
			m.ndiscRecvNS(v, dst, sl, false)
		}
		return
	}
	for i := range m.cfg.Ifaces {
		if i != slot.Iface && m.cfg.Ifaces[i].V6() {
			m.ndiscRecvNS(v, i, sl, true)
		}
	}
}

// ndiscRecvNS is ndisc_recv_ns() on interface rx for the NS of entry sl's
// probe: only the owner of the target acts (any other host's
// ndisc_recv_ns() ends at "NS for another host"); ndisc.RecvNS updates its
// entry for the prober, and its solicited NA reaches the prober.
func (m *Model) ndiscRecvNS(v *env, rx, sl int, multicast bool) {
	slot := m.cfg.Slots[sl]
	if int(v.s.Owner[slot.IP]) != rx {
		return
	}
	rsl := -1
	var e *nud.Entry
	if src := m.ifaceIP[slot.Iface]; src >= 0 {
		if rsl = int(m.slotOf[rx][src]); rsl >= 0 {
			e = &v.s.Entries[rsl]
		}
	}
	w := ndisc.RecvNS(m.dev(v, rx), e, uint8(slot.Iface+1), multicast, m.cfg.Ifaces[rx].Sysctl.Forwarding)
	if w.Created && !m.ndCreated(v, rsl) {
		// __neigh_lookup() found no room: ndisc_recv_ns() sends its NA
		// only with an entry (if (neigh || !dev->header_ops), 3.10.108
		// and 6.12 read), so the prober hears nothing.
		return
	}
	if v.rec != nil {
		m.describeRecvNS(v, rx, sl, &w, rsl)
	}
	if w.Flush {
		m.flushQueue(v, rsl)
	}
	na := ndisc.NA{Flags: w.Answer, Target: slot.IP}
	if w.TLL {
		na.TLL = uint8(rx + 1)
	}
	m.ndiscRecvNA(v, slot.Iface, na, false)
}

// ndCreated runs neigh_alloc()'s check of nd_tbl for entry sl, which
// ndisc_recv_ns() or ndisc_recv_na() (accept_untracked_na) has just
// created: when the table refuses it, the entry is undone.
func (m *Model) ndCreated(v *env, sl int) bool {
	if !m.alloc(v, sl, sl) {
		v.s.Entries[sl] = nud.Entry{Timer: nud.NoTimer}
		return false
	}
	m.born(v.s, sl)
	return true
}

// What an announced watch saw after the last announcement.
const (
	annNone    int8 = iota // no announcement reached the entry yet
	annTaken               // it held the announced MAC
	annMissed              // it held another, or none
	annNoEntry             // there was no entry to update
)

// noteAnnounced records, for each announced watch on sender i's address
// that its frame reached, what the entry holds now.
func (m *Model) noteAnnounced(v *env, i int) {
	sd := &m.cfg.Senders[i]
	for wi := range m.cfg.Watches {
		w := &m.cfg.Watches[wi]
		if w.Kind != WatchAnnounced || w.IP != sd.IP || w.Iface == sd.Iface || (sd.Unicast >= 0 && sd.Unicast != w.Iface) {
			continue
		}
		e := &v.s.Entries[m.slotOf[w.Iface][w.IP]]
		st := annMissed
		switch {
		case !e.Exists():
			st = annNoEntry
		case e.State&NUDValid != 0 && int(e.LL) == sd.Iface+1:
			st = annTaken
		}
		v.s.Announced[wi], v.s.AnnAt[wi], v.s.AnnLL[wi] = st, v.now, 0
		if e.State&NUDValid != 0 {
			v.s.AnnLL[wi] = e.LL
		}
	}
}
