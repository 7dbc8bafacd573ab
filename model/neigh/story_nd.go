package neigh

import (
	"fmt"
	"strings"

	"raceroute/model/neigh/ndisc"
	"raceroute/model/neigh/nud"
	"raceroute/trace"
)

// The words of neighbour discovery's steps (nd.go); as story.go, only
// when a story is recorded.

// naFlags writes an NA's flags as tcpdump does ("O", "RSO", "none").
func naFlags(f ndisc.Flags) string {
	var b strings.Builder
	for _, x := range []struct {
		f ndisc.Flags
		c byte
	}{{ndisc.Router, 'R'}, {ndisc.Solicited, 'S'}, {ndisc.Override, 'O'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// solicitedNode is ip's solicited-node multicast address
// (ff02::1:ffXX:XXXX), the destination of a multicast NS.
func (m *Model) solicitedNode(ip int) string {
	a := m.cfg.IPs[ip].As16()
	return fmt.Sprintf("ff02::1:ff%02x:%02x%02x", a[13], a[14], a[15])
}

// naUpdateReason says what neigh_update() did with an NA's lladdr.
func (m *Model) naUpdateReason(w *ndisc.Why, e *Entry) string {
	u := &w.Update
	o := "O clear: no NEIGH_UPDATE_F_OVERRIDE"
	if w.Flags&nud.Override != 0 {
		o = "O set: NEIGH_UPDATE_F_OVERRIDE"
	}
	switch u.Res {
	case nud.Ignored:
		return fmt.Sprintf("ignored (%s, and WEAK_OVERRIDE acts only on a REACHABLE entry): entry stays %s %s", o, m.macStr(e.LL), e.State)
	case nud.Weakened:
		return fmt.Sprintf("%s, lladdr differs: NEIGH_UPDATE_F_WEAK_OVERRIDE makes the %s entry STALE and keeps %s (RFC 4861 7.2.5)", o, u.Old, m.macStr(e.LL))
	case nud.Refused:
		return "ignored: " + u.Old.String() + " entries refuse non-admin updates"
	case nud.Same:
		return "same lladdr, state kept " + e.State.String()
	case nud.NoAddr:
		return "no target link-layer option and no cached lladdr: nothing to update"
	}
	why := o + "; no locktime on NA (only arp_process() reads it)"
	if u.Old&NUDValid != 0 && u.OldLL == e.LL {
		why = "the cached lladdr confirmed"
		if w.State == NUDReachable {
			why = "solicited NA: REACHABLE"
		}
	}
	if u.Old&NUDValid == 0 {
		why = "entry had no valid lladdr"
	}
	if w.Created {
		why = fmt.Sprintf("accept_untracked_na=%d on a forwarding interface: entry created STALE (RFC 9131)", w.Untracked)
	}
	if u.OldLL != e.LL && u.Old&NUDValid != 0 {
		return fmt.Sprintf("accepted (%s): lladdr %s -> %s", why, m.macStr(u.OldLL), m.macStr(e.LL))
	}
	return fmt.Sprintf("accepted (%s): %s -> %s", why, u.Old, e.State)
}

// describeNA tells ndisc_recv_na()'s decision w on NA in at interface rx
// (entry slot sl, or -1).
func (m *Model) describeNA(v *env, rx int, in *ndisc.In, w *ndisc.Why, sl int) {
	na := &in.NA
	text := fmt.Sprintf("%s rx NA %s [%s]", m.cfg.Ifaces[rx].Name, m.ipStr(na.Target), naFlags(na.Flags))
	if na.TLL != 0 {
		text = fmt.Sprintf("%s rx NA %s is-at %s [%s]", m.cfg.Ifaces[rx].Name, m.ipStr(na.Target), m.macStr(na.TLL), naFlags(na.Flags))
	}
	if in.Multicast {
		text += " to ff02::1"
	}
	var r string
	out := trace.OutcomeNone
	switch w.Rule {
	case ndisc.McastSolicited:
		r, out = "dropped: a solicited NA sent to a multicast address", trace.OutcomeIgnored
	case ndisc.Dropped:
		r, out = "dropped: drop_unsolicited_na=1 and S clear (ndisc_recv_na(), 4.6 on)", trace.OutcomeIgnored
	case ndisc.OwnAddress:
		r, out = "the target is our own address: no entry changes (\"someone advertises our address\"; a tentative one fails DAD)", trace.OutcomeIgnored
	case ndisc.NoEntry:
		if sl < 0 && in.AcceptUntracked == 0 {
			return
		}
		r = "no entry for " + m.ipStr(na.Target) + ": nothing to update"
		switch {
		case w.NoUntrackedSysctl:
			r += fmt.Sprintf(" (accept_untracked_na=%d: not in this kernel (5.19 on; 2 from 6.0))", in.AcceptUntracked)
		case in.AcceptUntracked != 0 && in.Forwarding == 0:
			r += " (accept_untracked_na creates entries only on a forwarding interface)"
		case in.AcceptUntracked == 2:
			r += " (accept_untracked_na=2: the source is in no prefix of the interface)"
		}
	case ndisc.FailedEntry:
		r, out = "the entry is FAILED: ndisc_recv_na() leaves it (the next packet resolves it anew)", trace.OutcomeIgnored
	default:
		r = m.naUpdateReason(w, &v.s.Entries[sl])
		if w.Update.Res == nud.Ignored || w.Update.Res == nud.Refused {
			out = trace.OutcomeIgnored
		}
	}
	if w.NoDropSysctl {
		r = "(drop_unsolicited_na=1 has no effect: not in this kernel, 4.6 on) " + r
	}
	m.recordOn(v, rx, sl, trace.LabelNDisc, text, r, out)
	if w.Rule == ndisc.Updated && (w.Update.Res == nud.Applied || w.Update.Res == nud.Weakened) {
		m.recordEntry(v, sl, "")
	}
}

// describeNS tells a probe (NS) of entry sl.
func (m *Model) describeNS(v *env, sl int, kind nud.ProbeKind) {
	e := &v.s.Entries[sl]
	slot := m.cfg.Slots[sl]
	own := int(v.s.Owner[slot.IP])
	dev := m.cfg.Ifaces[slot.Iface].Name
	if kind == nud.ProbeUnicast {
		r := fmt.Sprintf("probe %d: unicast to the cached lladdr (ndisc_solicit)", e.Probes)
		if dst := int(e.LL) - 1; dst != own {
			r += fmt.Sprintf("; %s does not own %s: no answer", m.hostName(dst), m.ipStr(slot.IP))
		}
		m.recordOn(v, slot.Iface, sl, trace.LabelNDisc, fmt.Sprintf("%s tx NS who-has %s to %s", dev, m.ipStr(slot.IP), m.macStr(e.LL)), r, trace.OutcomeNone)
		return
	}
	r := fmt.Sprintf("probe %d: multicast to the solicited-node address (ndisc_solicit)", e.Probes)
	if own < 0 {
		r += "; nobody owns it"
	}
	m.recordOn(v, slot.Iface, sl, trace.LabelNDisc, fmt.Sprintf("%s tx NS who-has %s to %s", dev, m.ipStr(slot.IP), m.solicitedNode(slot.IP)), r, trace.OutcomeNone)
}

// describeRecvNS tells ndisc_recv_ns() on the owner rx of entry sl's
// target (its entry for the prober: slot rsl, or -1).
func (m *Model) describeRecvNS(v *env, rx, sl int, w *ndisc.NSWhy, rsl int) {
	slot := m.cfg.Slots[sl]
	r := fmt.Sprintf("an address of ours: solicited NA [%s] to the prober", naFlags(w.Answer))
	if w.Answer&ndisc.Override == 0 {
		r += " (O clear for a unicast NS: override = ifp && inc)"
	}
	if rsl >= 0 {
		r += "; the prober's entry updated STALE with WEAK_OVERRIDE|OVERRIDE"
	}
	m.recordOn(v, rx, rsl, trace.LabelNDisc,
		fmt.Sprintf("%s rx NS who-has %s from %s", m.cfg.Ifaces[rx].Name, m.ipStr(slot.IP), m.macStr(uint8(slot.Iface+1))), r, trace.OutcomeNone)
	if rsl >= 0 && w.Update.Res == nud.Applied {
		m.recordEntry(v, rsl, "")
	}
}
