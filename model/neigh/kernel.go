package neigh

import (
	"fmt"

	"raceroute/model/profile"
	"raceroute/trace"
)

// What last moved an entry's `updated` (for stories).
const (
	byInit uint8 = iota
	byCreate
	byARP
	byARPIgnored
	byStaleDelay
	byDelayReachable
	byDelayProbe
	byReachableDelay
	byReachableStale
	byIncomplete
	byFailed
)

func causeText(c uint8) string {
	switch c {
	case byCreate:
		return "entry creation"
	case byARP:
		return "an ARP update"
	case byARPIgnored:
		return "an ignored ARP packet"
	case byStaleDelay:
		return "STALE->DELAY (tx)"
	case byDelayReachable:
		return "DELAY->REACHABLE"
	case byDelayProbe:
		return "DELAY->PROBE"
	case byReachableDelay:
		return "REACHABLE->DELAY"
	case byReachableStale:
		return "REACHABLE->STALE"
	case byIncomplete:
		return "NONE->INCOMPLETE (tx)"
	case byFailed:
		return "->FAILED"
	}
	return "the initial table"
}

// neigh_update() flags (include/net/neighbour.h).
const (
	fOverride uint8 = 1 << iota
	fAdmin
)

// frame is an ARP packet on the wire.
type frame struct {
	op       uint8
	sha      uint8 // sender interface (its MAC is the sender hardware address)
	sip, tip int   // IP indices (-1: an address outside the scenario)
	tha      THA
	thaIface uint8 // for tha == THASelf on replies to a requester: that interface + 1
}

// env carries what every kernel step needs.
type env struct {
	s     *State
	now   int32
	rec   trace.Recorder
	actor string
}

func secs(ms int32) string { return fmt.Sprintf("%d.%03d", ms/1000, abs32(ms%1000)) }

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

func dur(ms int32) string {
	if ms%1000 == 0 {
		return fmt.Sprintf("%d s", ms/1000)
	}
	return fmt.Sprintf("%.2f s", float64(ms)/1000)
}

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

// record emits a story line when a story is wanted.
func (m *Model) record(v *env, iface int, label trace.Label, op trace.Op, text, reason string) {
	v.rec.Record(trace.Event{T: int64(v.now), Host: m.hostOf(iface), Actor: v.actor, Label: label, Op: op, Text: text, Reason: reason})
}

// neighLine renders an entry the way `ip monitor neigh` does.
func (m *Model) neighLine(sl int, e *Entry) string {
	slot := m.cfg.Slots[sl]
	dev := m.cfg.Ifaces[slot.Iface].Name
	if e.State&NUDValid == 0 || e.LL == 0 {
		return fmt.Sprintf("%s dev %s %s", m.ipStr(slot.IP), dev, StateName(e.State))
	}
	return fmt.Sprintf("%s dev %s lladdr %s %s", m.ipStr(slot.IP), dev, m.macStr(e.LL), StateName(e.State))
}

// minRearm is the shortest timer re-arm of neigh_timer_handler(): HZ/2
// up to 5.x, HZ/100 in 6.x (net/core/neighbour.c).
func minRearm(p profile.Profile) int32 {
	if p.ArpAcceptSubnet {
		return 10
	}
	return 500
}

// keepStateOnSameLLStale reports whether neigh_update() keeps the old
// state for a STALE update with an unchanged lladdr from any valid state
// (4.12 on: `!(flags & NEIGH_UPDATE_F_ADMIN)`); older kernels keep it
// only when the old state is CONNECTED (3.10: `old & NUD_CONNECTED`).
func keepStateOnSameLLStale(p profile.Profile) bool { return p.Updated != profile.UpdatedAlways }

// updateResult says what neigh_update() did.
type updateResult uint8

const (
	updApplied updateResult = iota
	updSame
	updIgnored
	updRefused // NOARP/PERMANENT
)

// neighUpdate is neigh_update() (net/core/neighbour.c) for an lladdr
// proposed by ARP or a probe reply:
//   - 3.10..4.11: `if (new & NUD_CONNECTED) confirmed = now; updated = now;`
//     before the override check (the moving window);
//   - 4.12 (77d7123342dc "neighbour: update neigh timestamps iff update is
//     effective"): both only when state or lladdr change;
//   - 4.20 and 6.x: confirmed for a CONNECTED update always, updated only
//     when effective.
func (m *Model) neighUpdate(v *env, sl int, ll uint8, nw uint8, flags uint8, ifaceForParms int) updateResult {
	e := &v.s.Entries[sl]
	p := m.cfg.Profile
	sys := &m.cfg.Ifaces[ifaceForParms].Sysctl
	old := e.State
	if flags&fAdmin == 0 && old&(NUDNoARP|NUDPermanent) != 0 {
		return updRefused
	}
	same := old&NUDValid != 0 && ll == e.LL
	switch p.Updated {
	case profile.UpdatedAlways:
		if nw&NUDConnected != 0 {
			e.Confirmed = v.now
		}
		e.Updated = v.now
		e.UpdBy = byARPIgnored
	case profile.UpdatedIfEffectiveConfirmedAlways:
		if nw&NUDConnected != 0 {
			e.Confirmed = v.now
		}
	}
	if old&NUDValid != 0 {
		if !same && flags&fOverride == 0 {
			return updIgnored
		}
		if same && nw == NUDStale {
			if keepStateOnSameLLStale(p) {
				if flags&fAdmin == 0 {
					nw = old
				}
			} else if old&NUDConnected != 0 {
				nw = old
			}
		}
	}
	if p.Updated == profile.UpdatedAlways {
		e.UpdBy = byARP
	} else if nw != old || !same {
		if p.Updated == profile.UpdatedIfEffective && nw&NUDConnected != 0 {
			e.Confirmed = v.now
		}
		e.Updated, e.UpdBy = v.now, byARP
	}
	if nw != old {
		e.Timer = noTimer
		if nw&NUDProbe != 0 {
			e.Probes = 0
		}
		if nw&NUDInTimer != 0 {
			d := int32(0)
			if nw&NUDReachable != 0 {
				d = v.s.Ifs[ifaceForParms].Reach
			}
			e.Timer = v.now + d
		}
		e.State = nw
	}
	if !same {
		e.LL = ll
		if nw&NUDConnected == 0 {
			e.Confirmed = v.now - 2*sys.BaseReachable
		}
	}
	if nw == old && same {
		return updSame
	}
	return updApplied
}

// arpAccept is the interface's arp_accept decision for creating entries:
// a boolean before 6.x; 6.x arp_accept() takes 0, 1 or 2 (2: only a
// sender in a subnet of the interface).
func (m *Model) arpAccept(rx int, sip int) bool {
	a := m.cfg.Ifaces[rx].Sysctl.ArpAccept
	if !m.cfg.Profile.ArpAcceptSubnet || a < 2 {
		return a != 0
	}
	if a > 2 || sip < 0 {
		return false
	}
	return m.cfg.Ifaces[rx].Prefix.Contains(m.cfg.IPs[sip])
}

func opName(op uint8) string {
	if op == OpReply {
		return "reply"
	}
	return "request"
}

// arpProcess is arp_process() (net/ipv4/arp.c) on interface rx.
func (m *Model) arpProcess(v *env, rx int, f frame, unicast bool) {
	p := m.cfg.Profile
	sys := &m.cfg.Ifaces[rx].Sysctl
	var text string
	if v.rec != nil {
		if f.op == OpReply {
			text = fmt.Sprintf("%s rx reply %s is-at %s", m.cfg.Ifaces[rx].Name, m.ipStr(f.sip), m.macStr(f.sha))
		} else {
			text = fmt.Sprintf("%s rx request who-has %s tell %s (%s)", m.cfg.Ifaces[rx].Name, m.ipStr(f.tip), m.ipStr(f.sip), m.macStr(f.sha))
		}
		if !unicast {
			text += " broadcast"
		}
	}
	// A request for one of our addresses: neigh_event_ns() then a reply.
	if f.op == OpRequest && f.tip >= 0 && f.tip != f.sip && int(v.s.Owner[f.tip]) == rx {
		if f.sip >= 0 {
			if sl := int(m.slotOf[rx][f.sip]); sl >= 0 {
				if v.s.Entries[sl].State == NUDNone {
					m.create(v, sl)
				}
				was := v.s.Entries[sl].State
				m.neighUpdate(v, sl, f.sha, NUDStale, fOverride, rx)
				if was&NUDValid == 0 {
					m.flushQueue(v, sl)
				}
			}
		}
		if v.rec != nil {
			m.record(v, rx, trace.LabelARP, trace.OpNone, text, "request for our address: neigh_event_ns() then reply")
		}
		req := int(f.sha) - 1
		reply := frame{op: OpReply, sha: uint8(rx + 1), sip: f.tip, tip: f.sip, tha: THASelf, thaIface: f.sha}
		m.arpProcess(v, req, reply, true)
		return
	}
	sl := int8(-1)
	if f.sip >= 0 {
		sl = m.slotOf[rx][f.sip]
	}
	exists := sl >= 0 && v.s.Entries[sl].State != NUDNone
	garp := f.tip == f.sip && f.sip >= 0
	garpReplyOK := f.op == OpRequest || (f.tha == THASelf && f.thaIface == f.sha)
	isGarp := false
	note := ""
	switch p.GARP {
	case profile.GARPNever:
		// 3.10 (RHEL 7.3): no gratuitous-ARP detection in arp_process().
		if garp && v.rec != nil {
			note = fmt.Sprintf("gratuitous %s: not recognised on %s", opName(f.op), p.Name)
		}
		if !exists && sl >= 0 && sys.ArpAccept != 0 && (f.op == OpReply || garp) {
			m.create(v, int(sl))
			exists = true
		}
	case profile.GARPRequestWithAccept:
		// 3.14..4.11 ("ipv4: arp: update neighbour address when a
		// gratuitous arp is received and arp_accept is set").
		if sys.ArpAccept != 0 {
			isGarp = garp && f.op == OpRequest
			if !exists && sl >= 0 && (f.op == OpReply || isGarp) {
				m.create(v, int(sl))
				exists = true
			}
		}
		if garp && v.rec != nil {
			switch {
			case isGarp:
				note = "gratuitous request: recognised (arp_accept=1), overrides locktime"
			case f.op == OpReply:
				note = fmt.Sprintf("gratuitous reply: not recognised on %s (requests only)", p.Name)
			default:
				note = fmt.Sprintf("gratuitous request: not recognised, arp_accept=%d", sys.ArpAccept)
			}
		}
	case profile.GARPAlways:
		// 4.12 on: arp_is_garp(); requests, and replies whose target MAC
		// is the sender's; always overrides an existing entry.
		acc := m.arpAccept(rx, f.sip)
		if exists || acc {
			isGarp = garp && garpReplyOK
		}
		if acc && !exists && sl >= 0 && (isGarp || f.op == OpReply) {
			m.create(v, int(sl))
			exists = true
		}
		if garp && v.rec != nil {
			switch {
			case isGarp:
				note = fmt.Sprintf("gratuitous %s: recognised, overrides locktime", opName(f.op))
			case !garpReplyOK:
				note = "reply with target MAC != sender MAC: not gratuitous (arp_is_garp)"
			default:
				note = "gratuitous, but no entry and arp_accept refuses creation"
			}
		}
	}
	if !exists {
		if v.rec != nil && sl >= 0 {
			r := "no entry for " + m.ipStr(f.sip) + ": nothing to update"
			if note != "" {
				r = "(" + note + ") " + r
			}
			m.record(v, rx, trace.LabelARP, trace.OpNone, text, r)
		}
		return
	}
	e := &v.s.Entries[sl]
	// override = time_after(jiffies, n->updated + locktime) || is_garp
	age := v.now - e.Updated
	lockPassed := v.now > e.Updated+sys.Locktime
	override := lockPassed || isGarp
	state := NUDStale
	if f.op == OpReply && unicast {
		state = NUDReachable
	}
	oldState, oldLL, oldBy := e.State, e.LL, e.UpdBy
	var flags uint8
	if override {
		flags = fOverride
	}
	res := m.neighUpdate(v, int(sl), f.sha, state, flags, rx)
	// neigh_update() sends the arp_queue once the entry became valid; the
	// story tells the ARP packet first.
	flush := oldState&NUDValid == 0 && e.State&NUDValid != 0
	if v.rec == nil {
		if flush {
			m.flushQueue(v, int(sl))
		}
		return
	}
	var r string
	switch res {
	case updIgnored:
		r = fmt.Sprintf("ignored: within locktime, updated %s s ago by %s", secs(age), causeText(oldBy))
		if p.Updated == profile.UpdatedAlways {
			r += fmt.Sprintf("; updated := %s (moving window)", secs(v.now))
		} else {
			r += "; updated unchanged (4.12: timestamps only on effective updates)"
		}
	case updRefused:
		r = "ignored: " + StateName(oldState) + " entries refuse non-admin updates"
	case updSame:
		r = "same lladdr, state kept " + StateName(e.State)
	default:
		why := fmt.Sprintf("locktime passed, updated %s s ago by %s", secs(age), causeText(oldBy))
		if !lockPassed {
			why = "gratuitous ARP overrides locktime"
		}
		if oldState&NUDValid == 0 {
			why = "entry had no valid lladdr"
		}
		if oldLL != e.LL {
			r = fmt.Sprintf("accepted (%s): lladdr %s -> %s", why, m.macStr(oldLL), m.macStr(e.LL))
		} else {
			r = fmt.Sprintf("accepted (%s): %s -> %s", why, StateName(oldState), StateName(e.State))
		}
	}
	if note != "" {
		r = "(" + note + ") " + r
	}
	m.record(v, rx, trace.LabelARP, trace.OpNone, text, r)
	if res == updApplied {
		m.record(v, rx, trace.LabelNeigh, trace.OpReplace, m.neighLine(int(sl), e), "")
	}
	if flush {
		m.flushQueue(v, int(sl))
	}
}

// create is __neigh_create()/neigh_alloc() (net/core/neighbour.c, 3.10
// and 6.x alike): a NONE entry with updated = used = now.
func (m *Model) create(v *env, sl int) {
	e := &v.s.Entries[sl]
	*e = Entry{Confirmed: v.now, Updated: v.now, Used: v.now, Timer: noTimer, UpdBy: byCreate}
}

// solicit is arp_solicit() (net/ipv4/arp.c, 3.10; same probe choice in
// 6.x) as called by neigh_probe():
// unicast to the cached lladdr while probes < ucast_solicit (the PROBE
// state starts at 0), then broadcast. The owner of the target answers at
// once with a unicast reply (LAN latency is below a jiffy).
func (m *Model) solicit(v *env, sl int) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	sys := &m.cfg.Ifaces[slot.Iface].Sysctl
	probes := int(e.Probes) - int(sys.UcastSolicit)
	e.Probes++
	own := int(v.s.Owner[slot.IP])
	myIP := m.ifaceIP[slot.Iface]
	req := frame{op: OpRequest, sha: uint8(slot.Iface + 1), sip: myIP, tip: slot.IP}
	if probes < 0 {
		dst := int(e.LL) - 1
		if v.rec != nil {
			r := "probe " + fmt.Sprint(e.Probes) + ": unicast to the cached lladdr (arp_solicit)"
			if dst != own {
				r += fmt.Sprintf("; %s does not own %s: no answer", m.hostName(dst), m.ipStr(slot.IP))
			}
			m.record(v, slot.Iface, trace.LabelARP, trace.OpNone,
				fmt.Sprintf("%s tx request who-has %s to %s", m.cfg.Ifaces[slot.Iface].Name, m.ipStr(slot.IP), m.macStr(e.LL)), r)
		}
		if dst >= 0 && dst != slot.Iface {
			m.arpProcess(v, dst, req, true)
		}
		return
	}
	if probes-int(sys.AppSolicit) < 0 {
		return // neigh_app_ns(): a user-space daemon would answer; none here
	}
	if v.rec != nil {
		r := fmt.Sprintf("probe %d: broadcast (arp_solicit)", e.Probes)
		if own < 0 {
			r += "; nobody owns it"
		}
		m.record(v, slot.Iface, trace.LabelARP, trace.OpNone,
			fmt.Sprintf("%s tx request who-has %s broadcast", m.cfg.Ifaces[slot.Iface].Name, m.ipStr(slot.IP)), r)
	}
	for i := range m.cfg.Ifaces {
		if i != slot.Iface {
			m.arpProcess(v, i, req, false)
		}
	}
}

func (m *Model) hostName(iface int) string {
	if iface < 0 || iface >= len(m.cfg.Ifaces) {
		return "nobody"
	}
	return m.hostOf(iface)
}

// maxProbes is neigh_max_probes() (net/core/neighbour.c): 3.10 ucast (+
// app) in PROBE, ucast + app + mcast otherwise; mcast_reprobes joins the
// PROBE sum from 4.4.
func (m *Model) maxProbes(e *Entry, sys *Sysctl) uint8 {
	if e.State&NUDProbe != 0 {
		n := sys.UcastSolicit + sys.AppSolicit
		if m.cfg.Profile.IPv6Cache != profile.CloneOnLookup {
			n += sys.McastReprobes // 4.4 on
		}
		return n
	}
	return sys.UcastSolicit + sys.AppSolicit + sys.McastSolicit
}

// timer is neigh_timer_handler() (net/core/neighbour.c, read at 3.10 and
// 6.x: same transitions; the minimum re-arm is HZ/2, HZ/100 in 6.x);
// every transition sets updated = now.
func (m *Model) timer(v *env, sl int) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	sys := &m.cfg.Ifaces[slot.Iface].Sysctl
	reach := v.s.Ifs[slot.Iface].Reach
	now := v.now
	next := now + 1000
	old := e.State
	e.Timer = noTimer
	var why string
	switch {
	case e.State&NUDInTimer == 0:
		return
	case e.State&NUDReachable != 0:
		if now <= e.Confirmed+reach {
			next = e.Confirmed + reach
			if v.rec != nil {
				why = fmt.Sprintf("still alive: confirmed %s s ago <= reachable_time %s", secs(now-e.Confirmed), dur(reach))
			}
		} else if now <= e.Used+sys.DelayFirstProbe {
			e.State, e.Updated, e.UpdBy = NUDDelay, now, byReachableDelay
			next = now + sys.DelayFirstProbe
			if v.rec != nil {
				why = fmt.Sprintf("confirmed %s s ago > reachable_time %s; used %s s ago: delay the probe", secs(now-e.Confirmed), dur(reach), secs(now-e.Used))
			}
		} else {
			e.State, e.Updated, e.UpdBy = NUDStale, now, byReachableStale
			if v.rec != nil {
				why = fmt.Sprintf("confirmed %s s ago > reachable_time %s; not used in the last %s", secs(now-e.Confirmed), dur(reach), dur(sys.DelayFirstProbe))
			}
		}
	case e.State&NUDDelay != 0:
		if now <= e.Confirmed+sys.DelayFirstProbe {
			e.State, e.Updated, e.UpdBy = NUDReachable, now, byDelayReachable
			next = e.Confirmed + reach
			if v.rec != nil {
				why = fmt.Sprintf("confirmed %s s ago (<= delay_first_probe_time %s): reachable again without a probe", secs(now-e.Confirmed), dur(sys.DelayFirstProbe))
			}
		} else {
			e.State, e.Updated, e.UpdBy, e.Probes = NUDProbe, now, byDelayProbe, 0
			next = now + max(sys.Retrans, minRearm(m.cfg.Profile))
			if v.rec != nil {
				why = fmt.Sprintf("no confirmation for %s s: probe", secs(now-e.Confirmed))
			}
		}
	default: // PROBE or INCOMPLETE
		next = now + max(sys.Retrans, minRearm(m.cfg.Profile))
	}
	if e.State&(NUDIncomplete|NUDProbe) != 0 && e.Probes >= m.maxProbes(e, sys) {
		e.State, e.Updated, e.UpdBy = NUDFailed, now, byFailed
		if v.rec != nil {
			m.record(v, slot.Iface, trace.LabelTimer, trace.OpNone,
				fmt.Sprintf("neigh %s dev %s: %s -> FAILED", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name, StateName(old)),
				fmt.Sprintf("%d probes unanswered", e.Probes))
			m.record(v, slot.Iface, trace.LabelNeigh, trace.OpReplace, m.neighLine(sl, e), "")
		}
		m.dropQueue(v, sl)
		return
	}
	if e.State&NUDInTimer != 0 {
		if next < now+minRearm(m.cfg.Profile) {
			next = now + minRearm(m.cfg.Profile)
		}
		e.Timer = next
	}
	if v.rec != nil && (old != e.State || why != "") {
		tr := fmt.Sprintf("%s -> %s", StateName(old), StateName(e.State))
		if old == e.State {
			tr = StateName(old) + ", timer re-armed"
		}
		m.record(v, slot.Iface, trace.LabelTimer, trace.OpNone,
			fmt.Sprintf("neigh %s dev %s: %s", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name, tr), why)
		if old != e.State {
			m.record(v, slot.Iface, trace.LabelNeigh, trace.OpReplace, m.neighLine(sl, e), "")
		}
	}
	if e.State&(NUDIncomplete|NUDProbe) != 0 {
		m.solicit(v, sl)
	}
}

// eventSend is neigh_event_send()/__neigh_event_send() (include/net/
// neighbour.h, net/core/neighbour.c; read at 3.10, 5.4 and 6.x) on the slow
// path (neigh_resolve_output); it returns true when the packet is queued.
func (m *Model) eventSend(v *env, sl int, fi int) bool {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	sys := &m.cfg.Ifaces[slot.Iface].Sysctl
	e.Used = v.now
	if e.State&(NUDConnected|NUDDelay|NUDProbe) != 0 {
		return false
	}
	old := e.State
	if e.State&(NUDStale|NUDIncomplete) == 0 { // NONE or FAILED
		if sys.McastSolicit+sys.AppSolicit == 0 {
			e.State, e.Updated, e.UpdBy = NUDFailed, v.now, byFailed
			return true
		}
		e.Probes = sys.UcastSolicit
		e.State, e.Updated, e.UpdBy = NUDIncomplete, v.now, byIncomplete
		e.Timer = v.now + max(sys.Retrans, minRearm(m.cfg.Profile))
		v.s.Flows[fi].Queued = 1
		if v.rec != nil {
			m.record(v, slot.Iface, trace.LabelNeigh, trace.OpReplace, m.neighLine(sl, e),
				StateName(old)+" -> INCOMPLETE on transmit (__neigh_event_send): packet queued, immediate probe")
		}
		m.solicit(v, sl) // may resolve at once and send the queue
		return true
	}
	if e.State&NUDStale != 0 {
		e.State, e.Updated, e.UpdBy = NUDDelay, v.now, byStaleDelay
		e.Timer = v.now + sys.DelayFirstProbe
		if v.rec != nil {
			m.record(v, slot.Iface, trace.LabelNeigh, trace.OpReplace, m.neighLine(sl, e),
				fmt.Sprintf("STALE -> DELAY on transmit (__neigh_event_send): updated := %s, probe decision in %s", secs(v.now), dur(sys.DelayFirstProbe)))
		}
		return false
	}
	v.s.Flows[fi].Queued = 1 // INCOMPLETE: queued behind the resolution
	return true
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
		m.deliver(v, fi, v.now, "queued packet sent after resolution")
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
		fs.Queued = 0
		m.account(v, fi, fs.LastTx, false)
	}
}
