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
	m.recordEv(v, iface, trace.Event{Label: label, Op: op, Text: text, Reason: reason})
}

// recordEv emits e at the current time, with the drawing fields e
// carries.
func (m *Model) recordEv(v *env, iface int, e trace.Event) {
	e.T, e.Host, e.Actor = int64(v.now), m.hostOf(iface), v.actor
	v.rec.Record(e)
}

// recordOn emits a story line about entry sl (sl < 0: none): the entry is
// the event's object on the timeline, with its state and its locktime
// window as they stand after the event.
func (m *Model) recordOn(v *env, iface, sl int, label trace.Label, text, reason string, out trace.Outcome) {
	e := trace.Event{Label: label, Op: trace.OpNone, Text: text, Reason: reason, Outcome: out}
	if sl >= 0 {
		m.onEntry(v, sl, &e)
	}
	m.recordEv(v, iface, e)
}

// locktime is the timeline's name for an entry's locktime window.
const locktime = "locktime"

// onEntry sets e's drawing fields for entry sl: its lane, its NUD state
// and lladdr, and its locktime window [updated, updated+locktime], in
// which arp_process() does not let an ARP packet override the lladdr
// (net/ipv4/arp.c: override = time_after(jiffies, n->updated +
// NEIGH_VAR(n->parms, LOCKTIME)) || is_garp).
func (m *Model) onEntry(v *env, sl int, e *trace.Event) {
	slot := m.cfg.Slots[sl]
	en := &v.s.Entries[sl]
	e.Object = fmt.Sprintf("%s %s dev %s", m.hostOf(slot.Iface), m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name)
	if en.State == NUDNone {
		e.State = "none"
		return
	}
	e.State = en.State.String()
	if en.State&NUDValid != 0 && en.LL != 0 {
		e.State += " " + m.macStr(en.LL)
	}
	if lt := m.cfg.Ifaces[slot.Iface].Sysctl.Locktime; lt > 0 {
		e.Window = trace.Window{Edge: trace.WindowSpan, Name: locktime, Start: int64(en.Updated), Len: int64(lt)}
	}
}

// dstObject names interface iface's shared dst on the timeline: before
// 4.11 one dst per route, whose pending confirmation any next packet
// through it consumes.
func (m *Model) dstObject(iface int) string {
	return fmt.Sprintf("%s dst %s", m.hostOf(iface), m.cfg.Ifaces[iface].Prefix.Masked())
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
	e := trace.Event{Label: trace.LabelNeigh, Op: trace.OpReplace, Text: m.neighLine(sl, &v.s.Entries[sl]), Reason: reason}
	m.onEntry(v, sl, &e)
	m.recordEv(v, m.cfg.Slots[sl].Iface, e)
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
		m.recordOn(v, rx, sl, trace.LabelARP, text, "request for our address: neigh_event_ns() then reply", trace.OutcomeNone)
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
	out := trace.OutcomeNone
	if w.Exists && (w.Update.Res == nud.Ignored || w.Update.Res == nud.Refused) {
		out = trace.OutcomeIgnored
	}
	m.recordOn(v, rx, sl, trace.LabelARP, text, r, out)
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
		m.recordOn(v, slot.Iface, sl, trace.LabelARP,
			fmt.Sprintf("%s tx request who-has %s to %s", dev, m.ipStr(slot.IP), m.macStr(e.LL)), r, trace.OutcomeNone)
		return
	}
	r := fmt.Sprintf("probe %d: broadcast (arp_solicit)", e.Probes)
	if own < 0 {
		r += "; nobody owns it"
	}
	m.recordOn(v, slot.Iface, sl, trace.LabelARP,
		fmt.Sprintf("%s tx request who-has %s broadcast", dev, m.ipStr(slot.IP)), r, trace.OutcomeNone)
}

// describeTimer tells neigh_timer_handler()'s decision w on entry sl.
func (m *Model) describeTimer(v *env, sl int, w nud.TimerWhy) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	why := w.Reason(m.dev(v, slot.Iface), e)
	if why == "" {
		return
	}
	m.recordOn(v, slot.Iface, sl, trace.LabelTimer,
		fmt.Sprintf("neigh %s dev %s: %s", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name, w.Transition(e)), why, trace.OutcomeNone)
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
	switch {
	case c.udp && c.by == confirmDst:
		return fmt.Sprintf("udp_sendmsg(MSG_CONFIRM) -> dst_confirm(), consumed by this datagram's dst_neigh_output(): confirmed %s", m.ipStr(f.IP))
	case c.udp:
		return fmt.Sprintf("MSG_CONFIRM: skb_set_dst_pending_confirm() -> sock_confirm_neigh(): confirmed %s", m.ipStr(f.IP))
	case c.perDest:
		return fmt.Sprintf("dst_neigh_output(): the pending confirm of %s's own /128 route-cache clone is consumed: confirmed %s", m.ipStr(f.IP), m.ipStr(f.IP))
	}
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
	e := trace.Event{Label: trace.LabelPacket, Op: trace.OpNone}
	m.onEntry(v, m.flowSlot[fi], &e)
	if w.confirm.by == confirmDst {
		e.Related = m.dstObject(f.Iface)
	}
	if w.queued {
		e.Text = fmt.Sprintf("%s tx %s (%s) queued", dev, m.ipStr(f.IP), f.Name)
		e.Reason = joinReason(m.confirmReason(fi, w.confirm), "waiting for ARP resolution")
		m.recordEv(v, f.Iface, e)
		return
	}
	where := fmt.Sprintf("reached %s, the owner", m.hostName(w.dst))
	if !w.delivered {
		where = fmt.Sprintf("reached %s, which does not own %s: lost", m.hostName(w.dst), m.ipStr(f.IP))
	}
	switch {
	case w.fast:
		where = "fast path (" + v.s.Entries[m.flowSlot[fi]].State.String() + "); " + where
	case w.firstHH:
		where = "neigh_resolve_output(): REACHABLE, but no cached header yet (the first packet): used = now, neigh_hh_init(); " + where
	}
	if !w.delivered {
		e.Outcome = trace.OutcomeLost
	}
	e.Text, e.Reason = m.txLine(v, fi), joinReason(m.confirmReason(fi, w.confirm), where)
	m.recordEv(v, f.Iface, e)
}

// describeDeliver tells a queued packet of flow fi leaving.
func (m *Model) describeDeliver(v *env, fi int) {
	m.recordOn(v, m.cfg.Flows[fi].Iface, m.flowSlot[fi], trace.LabelPacket, m.txLine(v, fi), "queued packet sent after resolution", trace.OutcomeNone)
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
	if f.Proto == ProtoUDP {
		m.record(v, f.Iface, trace.LabelPacket, trace.OpNone, fmt.Sprintf("%s rx UDP answer from %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), f.Name),
			"UDP input confirms nothing; the application sends its next datagram with MSG_CONFIRM")
		return
	}
	r := fmt.Sprintf("tcp_ack() -> dst_confirm(): pending confirm set on the shared dst of %s (any next packet through it confirms its own neighbour)", m.cfg.Ifaces[f.Iface].Prefix.Masked())
	if m.cfg.Ifaces[f.Iface].V6() {
		r = fmt.Sprintf("tcp_ack() -> dst_confirm(): pending confirm set on the per-CPU copy of the route %s (rt6_make_pcpu_route(), 4.2 on), shared by every destination of the subnet: any next packet through it confirms its own neighbour", m.cfg.Ifaces[f.Iface].Prefix.Masked())
	}
	switch {
	case m.cfg.Profile.Confirmation == profile.ConfirmPerSkb:
		r = "tcp_ack() -> sk_dst_confirm(): the socket's next segment confirms " + m.ipStr(f.IP)
	case m.perDestDst(f.Iface):
		r = fmt.Sprintf("tcp_ack() -> dst_confirm(): pending confirm set on %s's own /128 route-cache clone (rt6_alloc_cow(), before 4.2): only a packet to it consumes it", m.ipStr(f.IP))
	}
	e := trace.Event{Label: trace.LabelTCP, Op: trace.OpNone, Text: fmt.Sprintf("%s rx ACK from %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), f.Name), Reason: r}
	if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst && !m.perDestDst(f.Iface) {
		e.Object = m.dstObject(f.Iface)
	}
	m.recordEv(v, f.Iface, e)
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
	if pk.Op == OpNA {
		if sd.Unicast < 0 {
			dst = "to ff02::1"
		}
		m.record(v, sd.Iface, trace.LabelNDisc, trace.OpNone,
			fmt.Sprintf("%s tx NA %s is-at %s [%s] %s", m.cfg.Ifaces[sd.Iface].Name, m.ipStr(sd.IP), m.macStr(uint8(sd.Iface+1)), naFlags(pk.NA), dst),
			fmt.Sprintf("unsolicited NA (S clear), %d of %d", v.s.Senders[i].Idx, len(sd.Packets)))
		return
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
