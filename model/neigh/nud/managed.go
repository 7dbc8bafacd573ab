package nud

import "raceroute/profile"

// This file is NTF_MANAGED (`ip neigh add|replace ... managed`, the
// neigh-managed switch): net/core/neighbour.c from 5.16 (commit
// 7482e3841d52), read at 6.6.9, 6.8 and 6.12.

// SetManaged sets NTF_MANAGED on e to on where the kernel has it
// (neigh_update_flags(), the NTF_MANAGED half: an admin update carries
// the flag or clears it), and reports whether it changed.
func SetManaged(k *profile.Profile, e *Entry, on bool) bool {
	if !k.NeighManaged || (e.Flags&FlagManaged != 0) == on {
		return false
	}
	e.Flags ^= FlagManaged
	return true
}

// Managed is what neigh_add() does for a request with NTF_MANAGED
// before its neigh_event_send() (6.12): __neigh_update() with
// NEIGH_UPDATE_F_MANAGED applies the admin flags (extern_learn, managed)
// and then takes the NEIGH_UPDATE_F_USE | NEIGH_UPDATE_F_MANAGED branch:
// state := old & ~NUD_PERMANENT and return, so the request's lladdr and
// ndm_state are never looked at and the timer is not touched. It
// reports whether it demoted a PERMANENT entry (to NONE).
func Managed(k *profile.Profile, e *Entry, ext bool) bool {
	if k.NeighExtLearned && (e.Flags&FlagExtLearned != 0) != ext {
		e.Flags ^= FlagExtLearned
	}
	SetManaged(k, e, true)
	demoted := e.State&Permanent != 0
	e.State &^= Permanent
	return demoted
}

// ManagedProbe is neigh_managed_work()'s neigh_event_send_probe(n,
// NULL, false) on one managed entry (include/net/neighbour.h and
// __neigh_event_send(), 6.12): used := now; a CONNECTED, DELAY or PROBE
// entry is left alone; STALE goes to DELAY (delay_first_probe_time);
// NONE or FAILED starts a resolution, INCOMPLETE with probes :=
// ucast_probes, but with immediate_ok false no probe is sent now: the
// timer is armed for the next jiffy (now + 1), and neigh_timer_handler()
// sends the first probe then. The rule is EventSend's (SendResolve then
// means the deferred probe).
func ManagedProbe(d Dev, e *Entry) SendWhy {
	if e.State&(Connected|Delay|Probe) != 0 {
		e.Used = d.Now
		return SendWhy{Rule: SendNow, Old: e.State}
	}
	w := EventSend(d, e)
	if w.Rule == SendResolve {
		e.Timer = d.Now + 1
	}
	return w
}
