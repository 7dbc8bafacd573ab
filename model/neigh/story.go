package neigh

import (
	"fmt"

	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
	"raceroute/trace"
)

// This file tells the story: each describe function turns one step's
// decision (the value it returned) into story lines. They run only when a
// story is recorded, so exploration never pays for words.

func (m *Model) macStr(ll uint8) string {
	if ll == 0 {
		return "00:00:00:00:00:00"
	}
	a := m.cfg.Ifaces[ll-1].MAC
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5])
}

func (m *Model) ipStr(ip int) string {
	if ip < 0 {
		return "0.0.0.0"
	}
	return m.cfg.IPs[ip].String()
}

func (m *Model) hostOf(iface int) string { return m.cfg.Hosts[m.cfg.Ifaces[iface].Host].Name }

func (m *Model) hostName(iface int) string {
	if iface < 0 || iface >= len(m.cfg.Ifaces) {
		return "nobody"
	}
	return m.hostOf(iface)
}

func joinReason(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// record emits a story line.
func (m *Model) record(v *env, iface int, label trace.Label, op trace.Op, text, reason string) {
	v.rec.Record(trace.Event{T: int64(v.now), Host: m.hostOf(iface), Actor: v.actor, Label: label, Op: op, Text: text, Reason: reason})
}

// neighLine renders an entry the way `ip monitor neigh` does.
func (m *Model) neighLine(sl int, e *Entry) string {
	slot := m.cfg.Slots[sl]
	dev := m.cfg.Ifaces[slot.Iface].Name
	if e.State&NUDValid == 0 || e.LL == 0 {
		return fmt.Sprintf("%s dev %s %s", m.ipStr(slot.IP), dev, e.State)
	}
	return fmt.Sprintf("%s dev %s lladdr %s %s", m.ipStr(slot.IP), dev, m.macStr(e.LL), e.State)
}

// recordEntry emits entry sl's `ip monitor neigh` line.
func (m *Model) recordEntry(v *env, sl int, reason string) {
	m.record(v, m.cfg.Slots[sl].Iface, trace.LabelNeigh, trace.OpReplace, m.neighLine(sl, &v.s.Entries[sl]), reason)
}

// updateReason says what neigh_update() did with an ARP packet's lladdr.
func (m *Model) updateReason(v *env, w *arp.Why, e *Entry) string {
	u := &w.Update
	switch u.Res {
	case nud.Ignored:
		r := fmt.Sprintf("ignored: within locktime, updated %s s ago by %s", nud.Secs(u.Age), u.OldBy.Describe("ARP"))
		if m.cfg.Profile.Updated == profile.UpdatedAlways {
			return r + fmt.Sprintf("; updated := %s (moving window)", nud.Secs(v.now))
		}
		return r + "; updated unchanged (4.12: timestamps only on effective updates)"
	case nud.Refused:
		return "ignored: " + u.Old.String() + " entries refuse non-admin updates"
	case nud.Same:
		return "same lladdr, state kept " + e.State.String()
	}
	why := fmt.Sprintf("locktime passed, updated %s s ago by %s", nud.Secs(u.Age), u.OldBy.Describe("ARP"))
	if !w.LockPassed {
		why = "gratuitous ARP overrides locktime"
	}
	if u.Old&NUDValid == 0 {
		why = "entry had no valid lladdr"
	}
	if u.OldLL != e.LL {
		return fmt.Sprintf("accepted (%s): lladdr %s -> %s", why, m.macStr(u.OldLL), m.macStr(e.LL))
	}
	return fmt.Sprintf("accepted (%s): %s -> %s", why, u.Old, e.State)
}

// describeARP tells arp_process()'s decision w on frame in at interface
// rx (entry slot sl, or -1).
func (m *Model) describeARP(v *env, rx int, in *arp.In, w *arp.Why, sl int) {
	f := &in.Frame
	var text string
	if f.Op == OpReply {
		text = fmt.Sprintf("%s rx reply %s is-at %s", m.cfg.Ifaces[rx].Name, m.ipStr(f.SIP), m.macStr(f.SHA))
	} else {
		text = fmt.Sprintf("%s rx request who-has %s tell %s (%s)", m.cfg.Ifaces[rx].Name, m.ipStr(f.TIP), m.ipStr(f.SIP), m.macStr(f.SHA))
	}
	if !in.Unicast {
		text += " broadcast"
	}
	if w.ForUs {
		m.record(v, rx, trace.LabelARP, trace.OpNone, text, "request for our address: neigh_event_ns() then reply")
		return
	}
	if !w.Exists && sl < 0 {
		return
	}
	var r string
	if w.Exists {
		r = m.updateReason(v, w, &v.s.Entries[sl])
	} else {
		r = "no entry for " + m.ipStr(f.SIP) + ": nothing to update"
	}
	if note := w.GarpNote(&m.cfg.Profile, in); note != "" {
		r = "(" + note + ") " + r
	}
	m.record(v, rx, trace.LabelARP, trace.OpNone, text, r)
	if w.Exists && w.Update.Res == nud.Applied {
		m.recordEntry(v, sl, "")
	}
}

// describeSolicit tells a probe of entry sl.
func (m *Model) describeSolicit(v *env, sl int, kind nud.ProbeKind) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	own := int(v.s.Owner[slot.IP])
	dev := m.cfg.Ifaces[slot.Iface].Name
	if kind == nud.ProbeUnicast {
		r := "probe " + fmt.Sprint(e.Probes) + ": unicast to the cached lladdr (arp_solicit)"
		if dst := int(e.LL) - 1; dst != own {
			r += fmt.Sprintf("; %s does not own %s: no answer", m.hostName(dst), m.ipStr(slot.IP))
		}
		m.record(v, slot.Iface, trace.LabelARP, trace.OpNone,
			fmt.Sprintf("%s tx request who-has %s to %s", dev, m.ipStr(slot.IP), m.macStr(e.LL)), r)
		return
	}
	r := fmt.Sprintf("probe %d: broadcast (arp_solicit)", e.Probes)
	if own < 0 {
		r += "; nobody owns it"
	}
	m.record(v, slot.Iface, trace.LabelARP, trace.OpNone,
		fmt.Sprintf("%s tx request who-has %s broadcast", dev, m.ipStr(slot.IP)), r)
}

// describeTimer tells neigh_timer_handler()'s decision w on entry sl.
func (m *Model) describeTimer(v *env, sl int, w nud.TimerWhy) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	why := w.Reason(m.dev(v, slot.Iface), e)
	if why == "" {
		return
	}
	m.record(v, slot.Iface, trace.LabelTimer, trace.OpNone,
		fmt.Sprintf("neigh %s dev %s: %s", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name, w.Transition(e)), why)
	if w.Old != e.State {
		m.recordEntry(v, sl, "")
	}
}

// describeSend tells __neigh_event_send()'s decision w on entry sl.
func (m *Model) describeSend(v *env, sl int, w nud.SendWhy) {
	if why := w.Reason(m.dev(v, m.cfg.Slots[sl].Iface)); why != "" {
		m.recordEntry(v, sl, why)
	}
}

// confirmReason says what a packet's confirmation did.
func (m *Model) confirmReason(fi int, c confirmWhy) string {
	f := &m.cfg.Flows[fi]
	switch c.by {
	case confirmDst:
		r := fmt.Sprintf("dst_neigh_output(): the shared dst's pending confirm is consumed: confirmed %s", m.ipStr(f.IP))
		if c.ackFrom >= 0 && m.cfg.Flows[c.ackFrom].IP != f.IP {
			r += fmt.Sprintf(" (a wrong confirmation: the ACK came from %s)", m.ipStr(m.cfg.Flows[c.ackFrom].IP))
		}
		return r
	case confirmSock:
		return "sock_confirm_neigh(): confirmed " + m.ipStr(f.IP) + " (its own ACK)"
	}
	return ""
}

// describeTx tells what happened to a packet of flow fi.
func (m *Model) describeTx(v *env, fi int, w *txWhy) {
	f := &m.cfg.Flows[fi]
	dev := m.cfg.Ifaces[f.Iface].Name
	if w.queued {
		m.record(v, f.Iface, trace.LabelPacket, trace.OpNone, fmt.Sprintf("%s tx %s (%s) queued", dev, m.ipStr(f.IP), f.Name),
			joinReason(m.confirmReason(fi, w.confirm), "waiting for ARP resolution"))
		return
	}
	where := fmt.Sprintf("reached %s, the owner", m.hostName(w.dst))
	if !w.delivered {
		where = fmt.Sprintf("reached %s, which does not own %s: lost", m.hostName(w.dst), m.ipStr(f.IP))
	}
	if w.fast {
		where = "fast path (REACHABLE); " + where
	}
	m.record(v, f.Iface, trace.LabelPacket, trace.OpNone, m.txLine(v, fi), joinReason(m.confirmReason(fi, w.confirm), where))
}

// describeDeliver tells a queued packet of flow fi leaving.
func (m *Model) describeDeliver(v *env, fi int) {
	m.record(v, m.cfg.Flows[fi].Iface, trace.LabelPacket, trace.OpNone, m.txLine(v, fi), "queued packet sent after resolution")
}

// txLine is a packet of flow fi leaving with its entry's lladdr.
func (m *Model) txLine(v *env, fi int) string {
	f := &m.cfg.Flows[fi]
	e := &v.s.Entries[m.flowSlot[fi]]
	return fmt.Sprintf("%s tx %s via %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), m.macStr(e.LL), f.Name)
}

// describeAck tells a TCP ACK's confirmation of flow fi.
func (m *Model) describeAck(v *env, fi int) {
	f := &m.cfg.Flows[fi]
	r := fmt.Sprintf("tcp_ack() -> dst_confirm(): pending confirm set on the shared dst of %s (any next packet through it confirms its own neighbour)", m.cfg.Ifaces[f.Iface].Prefix.Masked())
	if m.cfg.Profile.Confirmation == profile.ConfirmPerSkb {
		r = "tcp_ack() -> sk_dst_confirm(): the socket's next segment confirms " + m.ipStr(f.IP)
	}
	m.record(v, f.Iface, trace.LabelTCP, trace.OpNone, fmt.Sprintf("%s rx ACK from %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), f.Name), r)
}

// describeDraw tells interface iface's reachable_time draw r.
func (m *Model) describeDraw(v *env, iface int, r int32) {
	base := m.cfg.Ifaces[iface].Sysctl.BaseReachable
	m.record(v, iface, trace.LabelNeigh, trace.OpNone,
		fmt.Sprintf("dev %s reachable_time %s", m.cfg.Ifaces[iface].Name, nud.Dur(r)),
		fmt.Sprintf("neigh_rand_reach_time(): drawn in [%s, %s)", nud.Dur(base/2), nud.Dur(base+base/2)))
}

// describeMove tells move i.
func (m *Model) describeMove(v *env, i int) {
	mv := &m.cfg.Moves[i]
	m.record(v, mv.To, trace.LabelNote, trace.OpNone,
		fmt.Sprintf("ip move %s: %s (%s) -> %s (%s)", m.ipStr(mv.IP), m.hostName(mv.From), m.macStr(uint8(mv.From+1)), m.hostName(mv.To), m.macStr(uint8(mv.To+1))),
		"from now on only "+m.hostName(mv.To)+" answers for it")
}

// describeSender tells ARP sender i's packet pk.
func (m *Model) describeSender(v *env, i int, pk Packet) {
	sd := &m.cfg.Senders[i]
	dst := "broadcast"
	if sd.Unicast >= 0 {
		dst = "to " + m.macStr(uint8(sd.Unicast+1))
	}
	what := "arping -U (gratuitous request)"
	if pk.Op == OpReply {
		what = "arping -A (gratuitous reply)"
		if pk.THA != THASelf {
			what = "gratuitous reply, target MAC not the sender's"
		}
	}
	m.record(v, sd.Iface, trace.LabelARP, trace.OpNone,
		fmt.Sprintf("%s tx %s %s is-at %s %s", m.cfg.Ifaces[sd.Iface].Name, arp.OpName(pk.Op), m.ipStr(sd.IP), m.macStr(uint8(sd.Iface+1)), dst),
		fmt.Sprintf("%s, %d of %d", what, v.s.Senders[i].Idx, len(sd.Packets)))
}
