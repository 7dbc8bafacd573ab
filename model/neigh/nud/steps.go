package nud

import "raceroute/profile"

// Dev is what a step knows besides the entry: the kernel version's rules,
// the entry's device parameters, the device's drawn reachable_time and
// the time.
type Dev struct {
	Kernel *profile.Profile
	Parms  *Parms
	Reach  int32 // neigh_parms reachable_time, as drawn from BaseReachable
	Now    int32
}

// Create is __neigh_create()/neigh_alloc() (net/core/neighbour.c, 3.10
// and 6.x alike): a NONE entry with updated = used = now.
func Create(now int32) Entry {
	return Entry{Confirmed: now, Updated: now, Used: now, Timer: NoTimer, UpdBy: ByCreate, Flags: FlagLive}
}

// Confirm is neigh_confirm() and the confirmations of dst_neigh_output()
// (3.x) and sock_confirm_neigh() (4.11 on): confirmed = now.
func Confirm(e *Entry, now int32) { e.Confirmed = now }

// MinRearm is the shortest timer re-arm of neigh_timer_handler()
// (net/core/neighbour.c): HZ/2 up to 5.6, HZ/100 from 5.8 (the
// timer-min-rearm switch, profile/facts.yaml).
func MinRearm(k *profile.Profile) int32 { return k.TimerMinRearm }

// MaxProbes is neigh_max_probes() (net/core/neighbour.c): ucast + app
// in PROBE, ucast + app + mcast otherwise; mcast_resolicit joins the PROBE
// sum where the kernel has it (the mcast-reprobes switch: 4.2 read with
// it, 3.18 and RHEL 7 without).
func MaxProbes(k *profile.Profile, e *Entry, p *Parms) uint8 {
	if e.State&Probe != 0 {
		n := p.UcastSolicit + p.AppSolicit
		if k.McastReprobes {
			n += p.McastReprobes
		}
		return n
	}
	return p.UcastSolicit + p.AppSolicit + p.McastSolicit
}

// Flags are neigh_update()'s NEIGH_UPDATE_F_* (include/net/neighbour.h).
type Flags uint8

// Update flags.
const (
	Override Flags = 1 << iota // NEIGH_UPDATE_F_OVERRIDE
	Admin                      // NEIGH_UPDATE_F_ADMIN
	// WeakOverride is NEIGH_UPDATE_F_WEAK_OVERRIDE, which ndisc passes
	// for every NA and NS (ndisc_recv_na(), ndisc_recv_ns(); 3.10 to
	// 6.12 read): a different lladdr without Override turns a CONNECTED
	// entry STALE, its lladdr kept (RFC 4861 7.2.5).
	WeakOverride
)

// Result says what neigh_update() did.
type Result uint8

// Update results.
const (
	Applied Result = iota // the state or the lladdr changed
	Same                  // the same lladdr, the state kept
	Ignored               // a different lladdr without override
	Refused               // NOARP and PERMANENT entries take only admin updates
	// Weakened: a different lladdr without Override, WeakOverride and a
	// CONNECTED entry: STALE, the old lladdr kept.
	Weakened
	// NoAddr: no lladdr given and none cached: nothing to update
	// (neigh_update()'s -EINVAL).
	NoAddr
)

// UpdateWhy is what neigh_update() decided, and the entry it decided on.
type UpdateWhy struct {
	Res   Result
	Old   State // the state before
	OldLL uint8 // the lladdr before
	OldBy Cause // what had last moved updated
	Age   int32 // now - updated, before the update
}

// keepOldState reports whether neigh_update() keeps the old state old for
// a STALE update with an unchanged lladdr (the same-lladdr-stale switch):
// up to 4.4 and in RHEL 7 only with NEIGH_UPDATE_F_WEAK_OVERRIDE (which
// neighbour discovery sets) or a CONNECTED old state; 4.5 to 4.8 always;
// 4.9 on unless the update is administrative.
func keepOldState(k *profile.Profile, old State, flags Flags) bool {
	switch k.SameLLStale {
	case profile.SameLLKeepAlways:
		return true
	case profile.SameLLKeepUnlessAdmin:
		return flags&Admin == 0
	}
	return flags&WeakOverride != 0 || old&Connected != 0
}

// Update is neigh_update() (net/core/neighbour.c) for an lladdr ll
// proposed with state nw by ARP, a probe reply or neighbour discovery:
//   - 3.10..4.11: `if (new & NUD_CONNECTED) confirmed = now; updated = now;`
//     before the override check (the moving window);
//   - 4.12 ("neighbour: update neigh timestamps iff update is
//     effective"): both only when state or lladdr change;
//   - 4.19 on ("neighbour: confirm neigh entries when ARP packet is
//     received"): confirmed for a CONNECTED update always, updated only
//     when effective (the neigh-updated switch, profile/facts.yaml).
//
// The arp_queue flush at its end is the caller's: it knows the queue.
// An ll of 0 is an update without an lladdr (an NA without the target
// link-layer option): the cached one is kept, and without one the update
// does nothing.
func Update(d Dev, e *Entry, ll uint8, nw State, flags Flags) UpdateWhy {
	w := UpdateWhy{Old: e.State, OldLL: e.LL, OldBy: e.UpdBy, Age: d.Now - e.Updated}
	k := d.Kernel
	old := e.State
	if flags&Admin == 0 && old&(NoARP|Permanent) != 0 {
		w.Res = Refused
		return w
	}
	if ll == 0 {
		if old&Valid == 0 {
			w.Res = NoAddr
			return w
		}
		ll = e.LL
	}
	same := old&Valid != 0 && ll == e.LL
	switch k.Updated {
	case profile.UpdatedAlways:
		if nw&Connected != 0 {
			e.Confirmed = d.Now
		}
		e.Updated = d.Now
		e.UpdBy = ByIgnoredUpdate
	case profile.UpdatedIfEffectiveConfirmedAlways:
		if nw&Connected != 0 {
			e.Confirmed = d.Now
		}
	}
	weak := false
	if old&Valid != 0 {
		if !same && flags&Override == 0 {
			if flags&WeakOverride == 0 || old&Connected == 0 {
				w.Res = Ignored
				return w
			}
			// lladdr = neigh->ha; new = NUD_STALE;
			weak, same, ll, nw = true, true, e.LL, Stale
		}
		if same && nw == Stale && !weak && keepOldState(k, old, flags) {
			nw = old
		}
	}
	if k.Updated == profile.UpdatedAlways {
		e.UpdBy = ByUpdate
	} else if nw != old || !same {
		if k.Updated == profile.UpdatedIfEffective && nw&Connected != 0 {
			e.Confirmed = d.Now
		}
		e.Updated, e.UpdBy = d.Now, ByUpdate
	}
	if nw != old {
		e.Timer = NoTimer
		if nw&Probe != 0 {
			e.Probes = 0
		}
		if nw&InTimer != 0 {
			t := int32(0)
			if nw&Reachable != 0 {
				t = d.Reach
			}
			e.Timer = d.Now + t
			// neigh_add_timer() (6.2/6.3, and the stable lines: the
			// timer-raises-used switch): if (time_before(n->used,
			// n->confirmed)) n->used = n->confirmed.
			if k.TimerRaisesUsed && e.Used < e.Confirmed {
				e.Used = e.Confirmed
			}
		}
		e.State = nw
	}
	if !same {
		e.LL = ll
		if nw&Connected == 0 {
			e.Confirmed = d.Now - 2*d.Parms.BaseReachable
		}
	}
	if nw == old && same {
		w.Res = Same
	}
	if weak {
		w.Res = Weakened
	}
	return w
}

// TimerRule names the branch neigh_timer_handler() took.
type TimerRule uint8

// Timer branches.
const (
	TimerIdle        TimerRule = iota // not in a timer state: nothing to do
	StillReachable                    // REACHABLE, confirmed within reachable_time: re-armed
	ReachableToDelay                  // REACHABLE expired, used within delay_first_probe_time
	ReachableToStale                  // REACHABLE expired, unused
	DelayToReachable                  // DELAY, confirmed meanwhile: REACHABLE without a probe
	DelayToProbe                      // DELAY, unconfirmed: probe
	Retransmit                        // PROBE or INCOMPLETE: the next probe
)

// TimerWhy is what neigh_timer_handler() decided.
type TimerWhy struct {
	Rule TimerRule
	Old  State // the state before
	// Failed: the probes ran out, the entry is FAILED and
	// neigh_invalidate() drops its queue (the caller's).
	Failed bool
	// Solicit: the caller sends a probe (neigh_probe()).
	Solicit bool
}

// Timer is neigh_timer_handler() (net/core/neighbour.c, read at 3.10 and
// 6.x: same transitions; the minimum re-arm is HZ/2, HZ/100 in 6.x);
// every transition sets updated = now.
func Timer(d Dev, e *Entry) TimerWhy {
	p, now, reach := d.Parms, d.Now, d.Reach
	next := now + 1000
	w := TimerWhy{Old: e.State}
	e.Timer = NoTimer
	switch {
	case e.State&InTimer == 0:
		return w
	case e.State&Reachable != 0:
		switch {
		case now <= e.Confirmed+reach:
			w.Rule, next = StillReachable, e.Confirmed+reach
		case now <= e.Used+p.DelayFirstProbe:
			w.Rule = ReachableToDelay
			e.State, e.Updated, e.UpdBy = Delay, now, ByReachableDelay
			next = now + p.DelayFirstProbe
		default:
			w.Rule = ReachableToStale
			e.State, e.Updated, e.UpdBy = Stale, now, ByReachableStale
		}
	case e.State&Delay != 0:
		if now <= e.Confirmed+p.DelayFirstProbe {
			w.Rule = DelayToReachable
			e.State, e.Updated, e.UpdBy = Reachable, now, ByDelayReachable
			next = e.Confirmed + reach
		} else {
			w.Rule = DelayToProbe
			e.State, e.Updated, e.UpdBy, e.Probes = Probe, now, ByDelayProbe, 0
			next = now + max(p.Retrans, MinRearm(d.Kernel))
		}
	default: // PROBE or INCOMPLETE
		w.Rule = Retransmit
		next = now + max(p.Retrans, MinRearm(d.Kernel))
	}
	if e.State&(Incomplete|Probe) != 0 && e.Probes >= MaxProbes(d.Kernel, e, p) {
		e.State, e.Updated, e.UpdBy = Failed, now, ByFailed
		w.Failed = true
		return w
	}
	if e.State&InTimer != 0 {
		e.Timer = max(next, now+MinRearm(d.Kernel))
	}
	w.Solicit = e.State&(Incomplete|Probe) != 0
	return w
}

// SendRule names what __neigh_event_send() did with a packet.
type SendRule uint8

// Transmit outcomes.
const (
	SendNow        SendRule = iota // CONNECTED, DELAY or PROBE: sent with the cached lladdr
	SendStaleDelay                 // STALE -> DELAY: sent with the cached lladdr
	SendResolve                    // NONE/FAILED -> INCOMPLETE: queued, probe at once
	SendNoProbes                   // NONE/FAILED without mcast or app probes: FAILED, dropped
	SendQueued                     // INCOMPLETE: queued behind the resolution
)

// SendWhy is what __neigh_event_send() decided.
type SendWhy struct {
	Rule SendRule
	Old  State // the state before
}

// Held reports whether the packet did not leave now (neigh_event_send()
// returned 1): queued on the entry or dropped.
func (w SendWhy) Held() bool { return w.Rule >= SendResolve }

// EventSend is neigh_event_send()/__neigh_event_send() (include/net/
// neighbour.h, net/core/neighbour.c; read at 3.10, 5.4 and 6.x) on the
// slow path (neigh_resolve_output). Queueing the packet and the immediate
// probe of SendResolve are the caller's.
func EventSend(d Dev, e *Entry) SendWhy {
	p := d.Parms
	w := SendWhy{Old: e.State}
	e.Used = d.Now
	switch {
	case e.State&(Connected|Delay|Probe) != 0:
		w.Rule = SendNow
	case e.State&(Stale|Incomplete) == 0: // NONE or FAILED
		if p.McastSolicit+p.AppSolicit == 0 {
			w.Rule = SendNoProbes
			e.State, e.Updated, e.UpdBy = Failed, d.Now, ByFailed
			break
		}
		w.Rule = SendResolve
		e.Probes = p.UcastSolicit
		e.State, e.Updated, e.UpdBy = Incomplete, d.Now, ByIncomplete
		e.Timer = d.Now + max(p.Retrans, MinRearm(d.Kernel))
	case e.State&Stale != 0:
		w.Rule = SendStaleDelay
		e.State, e.Updated, e.UpdBy = Delay, d.Now, ByStaleDelay
		e.Timer = d.Now + p.DelayFirstProbe
	default:
		w.Rule = SendQueued
	}
	return w
}

// ProbeKind is how a probe asks.
type ProbeKind uint8

// Probe kinds.
const (
	ProbeUnicast   ProbeKind = iota // to the cached lladdr
	ProbeApp                        // neigh_app_ns(): a user-space daemon asks
	ProbeMulticast                  // broadcast (ARP) or solicited-node multicast (ND)
)

// ProbeNext is neigh_probe() (net/core/neighbour.c) with the choice
// arp_solicit() (net/ipv4/arp.c) and ndisc_solicit() (net/ipv6/ndisc.c)
// share, read at 3.10 and 6.x: unicast to the cached lladdr while probes
// < ucast_solicit (the PROBE state starts at 0), then app_solicit probes
// to user space, then multicast; probes counts one more.
func ProbeNext(p *Parms, e *Entry) ProbeKind {
	probes := int(e.Probes) - int(p.UcastSolicit)
	e.Probes++
	switch {
	case probes < 0:
		return ProbeUnicast
	case probes-int(p.AppSolicit) < 0:
		return ProbeApp
	}
	return ProbeMulticast
}

// ReachDraws is how many distinct reachable_time values the explorer may
// choose for base: want when it is in [1, base], else one per millisecond.
func ReachDraws(base int32, want int) int {
	if want <= 0 || want > int(base) {
		want = int(base)
	}
	return max(want, 1)
}

// RandReach is neigh_parms_alloc()'s draw (net/core/neighbour.c, 3.10 to
// 6.x): reachable_time = neigh_rand_reach_time(base) = base/2 + prandom %
// base, the outcome-th of n evenly spaced values. The 300 s re-draw of
// neigh_periodic_work() is skipped in tables smaller than gc_thresh1
// (3.10), so one draw per device is the whole story.
func RandReach(base int32, n, outcome int) int32 {
	switch {
	case n == 1:
		return base
	case n >= int(base):
		return base/2 + int32(outcome)
	}
	return base/2 + int32(int64(outcome)*int64(base-1)/int64(n-1))
}
