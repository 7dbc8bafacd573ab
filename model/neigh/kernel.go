package neigh

import (
	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
	"raceroute/trace"
)

// This file applies the kernel's decisions (packages nud and arp) to the
// modelled segment: which entry a step works on, which frames it sends to
// whom, the packets queued on an entry. Each step calls its describe
// function (story.go) only when a story is recorded.

// env carries what every kernel step needs.
type env struct {
	s     *State
	now   int32
	rec   trace.Recorder
	actor string
}

// dev is what the nud steps know of an entry on interface iface.
func (m *Model) dev(v *env, iface int) nud.Dev {
	return nud.Dev{Kernel: &m.cfg.Profile, Parms: &m.cfg.Ifaces[iface].Sysctl.Parms, Reach: v.s.Ifs[iface].Reach, Now: v.now}
}

// arpProcess is arp_process() (net/ipv4/arp.c) on interface rx: arp.Process
// decides on the receiver's entry for the sender; a request for one of
// our addresses is answered at once with a unicast reply (LAN latency is
// below a jiffy), and neigh_update() sends the entry's queue once it
// became valid (the story tells the ARP packet first).
func (m *Model) arpProcess(v *env, rx int, f arp.Frame, unicast bool) {
	sl := -1
	var e *nud.Entry
	in := arp.In{Frame: f, Unicast: unicast, Accept: m.cfg.Ifaces[rx].Sysctl.ArpAccept}
	if f.SIP >= 0 {
		in.InSubnet = m.inSubnet[rx][f.SIP]
		if sl = int(m.slotOf[rx][f.SIP]); sl >= 0 {
			e = &v.s.Entries[sl]
		}
	}
	in.TargetLocal = f.TIP >= 0 && int(v.s.Owner[f.TIP]) == rx
	existed := e != nil && e.Exists()
	w := arp.Process(m.dev(v, rx), &in, e)
	if e != nil && !existed && e.Exists() && !m.arpCreated(v, sl, &w) {
		return // neigh_alloc() failed: no entry, and no reply (arp_process() replies only with one)
	}
	if w.ForUs {
		if w.Flush {
			m.flushQueue(v, sl)
		}
		if v.rec != nil {
			m.describeARP(v, rx, &in, &w, sl)
		}
		reply := arp.Frame{Op: arp.Reply, SHA: uint8(rx + 1), SIP: f.TIP, TIP: f.SIP, THA: arp.THASelf, THAIface: f.SHA}
		m.arpProcess(v, int(f.SHA)-1, reply, true)
		return
	}
	if v.rec != nil {
		m.describeARP(v, rx, &in, &w, sl)
	}
	if w.Flush {
		m.flushQueue(v, sl)
	}
}

// solicit is arp_solicit() (net/ipv4/arp.c, 3.10; same probe choice in
// 6.x) as called by neigh_probe(): nud.ProbeNext chooses unicast to the
// cached lladdr or a broadcast; the owner of the target answers at once
// with a unicast reply.
func (m *Model) solicit(v *env, sl int) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	kind := nud.ProbeNext(&m.cfg.Ifaces[slot.Iface].Sysctl.Parms, e)
	if kind == nud.ProbeApp {
		return // neigh_app_ns(): a user-space daemon would answer; none here
	}
	if m.cfg.Ifaces[slot.Iface].V6() {
		m.ndiscSolicit(v, sl, kind)
		return
	}
	if v.rec != nil {
		m.describeSolicit(v, sl, kind)
	}
	req := arp.Frame{Op: arp.Request, SHA: uint8(slot.Iface + 1), SIP: m.ifaceIP[slot.Iface], TIP: slot.IP}
	if kind == nud.ProbeUnicast {
		if dst := int(e.LL) - 1; dst >= 0 && dst != slot.Iface {
			m.arpProcess(v, dst, req, true)
		}
		return
	}
	for i := range m.cfg.Ifaces {
		if i != slot.Iface && !m.cfg.Ifaces[i].V6() {
			m.arpProcess(v, i, req, false)
		}
	}
}

// timer is neigh_timer_handler() for entry sl: nud.Timer decides; a
// FAILED entry drops its queue (neigh_invalidate()), a resolving one
// probes.
func (m *Model) timer(v *env, sl int) {
	w := nud.Timer(m.dev(v, m.cfg.Slots[sl].Iface), &v.s.Entries[sl])
	if v.rec != nil {
		m.describeTimer(v, sl, w)
	}
	if w.Failed {
		m.dropQueue(v, sl)
		return
	}
	if w.Solicit {
		m.solicit(v, sl)
	}
}

// eventSend is neigh_event_send() for flow fi's packet on entry sl:
// nud.EventSend decides; it returns true when the packet did not leave
// now (queued on the entry, or dropped).
func (m *Model) eventSend(v *env, sl int, fi int) bool {
	w := nud.EventSend(m.dev(v, m.cfg.Slots[sl].Iface), &v.s.Entries[sl])
	if w.Rule == nud.SendResolve || w.Rule == nud.SendQueued {
		if fs := &v.s.Flows[fi]; fs.Queued == 0 {
			fs.Queued, fs.QueuedAt = 1, v.now
		}
	}
	if w.Rule == nud.SendNoProbes {
		m.account(v, fi, v.now, false) // kfree_skb(): the packet is lost
	}
	if v.rec != nil {
		m.describeSend(v, sl, w)
	}
	if w.Rule == nud.SendResolve {
		m.solicit(v, sl) // may resolve at once and send the queue
	}
	return w.Held()
}

// Upper-layer confirmation sources.
const (
	confirmNone uint8 = iota
	confirmDst        // the shared dst's pending_confirm (before 4.11)
	confirmSock       // the socket's sk_dst_pending_confirm (4.11 on)
)

// confirmWhy is which pending confirmation a packet consumed.
type confirmWhy struct {
	by      uint8
	ackFrom int // confirmDst: the flow whose ACK set it, or -1
	// udp: the packet is a MSG_CONFIRM datagram, which set the
	// confirmation itself; perDest: the dst is the destination's own
	// /128 clone (IPv6 before 4.2).
	udp, perDest bool
}

// perDestDst reports whether a flow from iface has a dst of its own
// destination: IPv6 before 4.2 inserts a /128 RTF_CACHE clone per
// on-link destination (ip6_pol_route() -> rt6_alloc_cow(), read at
// 3.10.108), and ip6_finish_output2() takes the neighbour from it; from
// 4.2 every destination of the subnet shares the route's per-CPU copy
// (rt6_make_pcpu_route(), read at 4.2 and RHEL 7.3), as IPv4's on-link
// destinations share the nexthop's cached route.
func (m *Model) perDestDst(iface int) bool {
	return m.cfg.Ifaces[iface].V6() && m.cfg.Profile.IPv6Cache == profile.CloneOnLookup
}

// confirm is the confirmation on output (dst_neigh_output() before 4.11:
// the dst's pending flag confirms whatever neighbour this packet uses;
// 4.11 on: sock_confirm_neigh() confirms with the skb's own flag, set
// from the socket's by TCP and from MSG_CONFIRM by UDP). A UDP datagram
// sent with MSG_CONFIRM sets the flag itself: before 4.11 udp_sendmsg()'s
// do_confirm: dst_confirm(&rt->dst), which this very datagram consumes in
// ip_finish_output2(); from 4.11 __ip_append_data():
// skb_set_dst_pending_confirm(skb, 1) (udp.c and ip_output.c read at
// 3.10.108, 4.11, 4.15, 6.12; the same in udpv6_sendmsg() and
// ip6_finish_output2()).
func (m *Model) confirm(v *env, fi int, e *nud.Entry) confirmWhy {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	udp := f.Proto == ProtoUDP && fs.SkPending != 0
	if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst {
		if udp {
			fs.SkPending = 0
		}
		if m.perDestDst(f.Iface) {
			bit := uint16(1) << m.flowSlot[fi]
			if udp {
				v.s.DstSlot |= bit
			}
			if v.s.DstSlot&bit == 0 {
				return confirmWhy{}
			}
			v.s.DstSlot &^= bit
			nud.Confirm(e, v.now)
			return confirmWhy{by: confirmDst, ackFrom: -1, udp: udp, perDest: true}
		}
		ifs := &v.s.Ifs[f.Iface]
		if udp {
			ifs.DstPending, ifs.PendingBy = 1, uint8(fi+1)
		}
		if ifs.DstPending == 0 {
			return confirmWhy{}
		}
		by := int(ifs.PendingBy) - 1
		ifs.DstPending, ifs.PendingBy = 0, 0
		nud.Confirm(e, v.now)
		return confirmWhy{by: confirmDst, ackFrom: by, udp: udp}
	}
	if fs.SkPending == 0 {
		return confirmWhy{}
	}
	fs.SkPending = 0
	nud.Confirm(e, v.now)
	return confirmWhy{by: confirmSock, udp: udp}
}

// txWhy is what happened to one packet of a flow.
type txWhy struct {
	confirm   confirmWhy
	fast      bool // the CONNECTED fast path
	firstHH   bool // CONNECTED, but no cached header yet: the slow path
	queued    bool // held in the entry's arp_queue
	dst       int  // the interface the frame reached, or -1
	delivered bool
}

// transmit is ip_finish_output2() for one packet of flow fi: the
// confirmation, then the CONNECTED fast path or neigh_resolve_output().
func (m *Model) transmit(v *env, fi int) (delivered, queued bool) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	sl := m.flowSlot[fi]
	e := &v.s.Entries[sl]
	if !e.Exists() {
		// __neigh_create() -> neigh_alloc(): a full table drops the
		// packet (ip_finish_output2(): kfree_skb).
		if !m.alloc(v, sl, -1) {
			return false, false
		}
		*e = nud.Create(v.now)
		m.born(v.s, sl)
	}
	w := txWhy{confirm: m.confirm(v, fi, e), fast: e.State&NUDConnected != 0 && e.HH != 0, dst: -1}
	w.firstHH = e.State&NUDConnected != 0 && e.HH == 0
	if !w.fast {
		if w.queued = m.eventSend(v, sl, fi); w.queued {
			if fs.Queued == 0 {
				// resolved at once: the queued packet already left (or
				// was dropped) from neigh_update()
				return fs.LossSince < 0, true
			}
			if v.rec != nil {
				m.describeTx(v, fi, &w)
			}
			return false, true
		}
		e.HH = 1 // neigh_resolve_output(): neigh_hh_init()
	}
	w.dst = int(e.LL) - 1
	if w.dst == f.Iface && e.State&NUDValid == 0 {
		w.dst = -1
	}
	w.delivered = w.dst >= 0 && int(v.s.Owner[f.IP]) == w.dst
	if w.delivered && f.acked() && fs.AckPending == 0 {
		fs.AckPending, fs.AckAt = 1, v.now+f.RTT.Min
	}
	if v.rec != nil {
		m.describeTx(v, fi, &w)
	}
	return w.delivered, false
}

// flushQueue is the arp_queue flush at the end of neigh_update() (3.10 and
// 6.x): the packets queued on entry sl leave once it became valid.
func (m *Model) flushQueue(v *env, sl int) {
	for fi := range m.cfg.Flows {
		fs := &v.s.Flows[fi]
		if fs.Queued == 0 || m.flowSlot[fi] != sl {
			continue
		}
		fs.Queued = 0
		m.deliver(v, fi)
		fs.QueuedAt = 0
	}
}

// deliver sends a queued packet of flow fi now. neigh_update()
// (__neigh_update(), net/core/neighbour.c, 3.10 and 6.12 alike) hands
// each queued skb to n->output, which on an Ethernet device is
// neigh_resolve_output() in every state (arp_hh_ops, net/ipv4/arp.c:
// output and connected_output alike): its neigh_event_send() sets used
// and moves a STALE entry to DELAY, and neigh_hh_init() fills the cached
// header.
func (m *Model) deliver(v *env, fi int) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	sl := m.flowSlot[fi]
	e := &v.s.Entries[sl]
	connected := e.State&NUDConnected != 0
	w := nud.EventSend(m.dev(v, m.cfg.Slots[sl].Iface), e)
	e.HH = 1
	if v.rec != nil && !connected {
		m.describeSend(v, sl, w)
	}
	dst := int(e.LL) - 1
	ok := dst >= 0 && int(v.s.Owner[f.IP]) == dst
	if ok {
		m.account(v, fi, v.now, true)
	} else {
		// sent to the wrong owner: every queued packet is lost, from the
		// oldest on
		m.account(v, fi, fs.QueuedAt, false)
	}
	if ok {
		fs.K = 0
		if f.acked() && fs.AckPending == 0 {
			fs.AckPending, fs.AckAt = 1, v.now+f.RTT.Min
		}
	}
	if v.rec != nil {
		m.describeDeliver(v, fi)
	}
}

// dropQueue is neigh_invalidate() (3.10 and 6.x): queued packets are
// dropped.
func (m *Model) dropQueue(v *env, sl int) {
	for fi := range m.cfg.Flows {
		fs := &v.s.Flows[fi]
		if fs.Queued == 0 || m.flowSlot[fi] != sl {
			continue
		}
		m.account(v, fi, fs.QueuedAt, false)
		fs.Queued, fs.QueuedAt = 0, 0
	}
}

// account records a delivered or lost packet for the blackhole property.
func (m *Model) account(v *env, fi int, at int32, delivered bool) {
	fs := &v.s.Flows[fi]
	if delivered {
		if fs.LossSince >= 0 {
			fs.MaxLoss = max(fs.MaxLoss, at-fs.LossSince)
			fs.LossSince = -1
		}
		return
	}
	if fs.LossSince < 0 {
		fs.LossSince = at
	}
}
