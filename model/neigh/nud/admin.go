package nud

import "raceroute/profile"

// This file is the administrative side of the state machine: what
// `ip neigh add | replace | change | del` (RTM_NEWNEIGH / RTM_DELNEIGH,
// neigh_add() and neigh_delete() in net/core/neighbour.c) do to an
// entry, and what the garbage collectors may remove.

// AdminWhy is what an administrative __neigh_update() decided.
type AdminWhy struct {
	Old   State // the state before
	OldLL uint8 // the lladdr before
	// Invalid: the new state is not valid (NONE, INCOMPLETE, FAILED):
	// the !(new & NUD_VALID) branch, which sets the state and nothing else.
	Invalid bool
	// TimerDeleted: neigh_del_timer() stopped an armed timer.
	TimerDeleted bool
	// Invalidated: INCOMPLETE or PROBE set FAILED: neigh_invalidate()
	// drops the queue (the caller's).
	Invalidated bool
	// NoLL: -EINVAL, no lladdr given and none known ("No link layer
	// address given").
	NoLL bool
	// Flush: the entry became valid: its queue leaves (the caller's).
	Flush bool
	// ExtChanged: NTF_EXT_LEARNED was set or cleared
	// (neigh_update_ext_learned(), neigh_update_flags() in 6.x).
	ExtChanged bool
	// ManagedCleared: NTF_MANAGED was cleared (neigh_update_flags()).
	ManagedCleared bool
	// Update is neigh_update()'s decision for a valid new state.
	Update UpdateWhy
}

// AdminUpdate is neigh_add()'s __neigh_update(neigh, lladdr, ndm_state,
// NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE [| EXT_LEARNED]) for an
// existing entry (ll 0: no lladdr given), read at 3.10.108, 4.19.1 and
// 6.12:
//   - admin updates pass the NOARP/PERMANENT guard;
//   - with neigh-ext-learned, the flag is set or cleared to what the
//     request carries, before the state branch;
//   - a state that is not valid: neigh_del_timer(), state := new, and
//     from INCOMPLETE or PROBE to FAILED neigh_invalidate(); nothing
//     else: no timer is armed, so an INCOMPLETE written this way stays
//     INCOMPLETE (no probe is ever sent) until the next change;
//   - a valid state is Update's path with OVERRIDE and ADMIN: a new
//     state deletes the timer and arms a new one for the IN_TIMER states
//     (REACHABLE: reachable_time, DELAY and PROBE: now), the queue leaves
//     if the entry was not valid.
func AdminUpdate(d Dev, e *Entry, ll uint8, nw State, ext bool) AdminWhy {
	w := AdminWhy{Old: e.State, OldLL: e.LL}
	if d.Kernel.NeighExtLearned {
		has := e.Flags&FlagExtLearned != 0
		if has != ext {
			e.Flags ^= FlagExtLearned
			w.ExtChanged = true
		}
	}
	// neigh_update_flags() (6.12): an admin update without the managed
	// flag clears NTF_MANAGED (neigh_update_managed_list()).
	w.ManagedCleared = SetManaged(d.Kernel, e, false)
	if nw&Valid == 0 {
		w.Invalid = true
		w.TimerDeleted = e.Timer != NoTimer
		e.Timer = NoTimer
		e.State = nw
		if w.Old&(Incomplete|Probe) != 0 && nw&Failed != 0 {
			w.Invalidated = true
		}
		return w
	}
	if ll == 0 {
		if w.Old&Valid == 0 {
			w.NoLL = true
			return w
		}
		ll = e.LL
	}
	armed := e.Timer != NoTimer
	w.Update = Update(d, e, ll, nw, Override|Admin)
	if w.Update.Res == Applied && e.UpdBy == ByUpdate {
		e.UpdBy = ByAdmin
	}
	w.TimerDeleted = armed && w.Update.Old != e.State
	w.Flush = w.Old&Valid == 0 && e.State&Valid != 0
	return w
}

// Use is what NTF_USE does before neigh_event_send(): with the
// neigh-use-update switch (5.16), __neigh_update() with
// NEIGH_UPDATE_F_USE sets the admin flags and state := old &
// ~NUD_PERMANENT (so a PERMANENT entry becomes NONE, and the
// neigh_event_send() that follows resolves it); before, nothing. It
// reports whether it demoted a PERMANENT entry.
func Use(k *profile.Profile, e *Entry, ext bool) bool {
	if !k.NeighUseUpdate {
		return false
	}
	if k.NeighExtLearned && (e.Flags&FlagExtLearned != 0) != ext {
		e.Flags ^= FlagExtLearned
	}
	SetManaged(k, e, false)
	demoted := e.State&Permanent != 0
	e.State &^= Permanent
	return demoted
}

// Referenced reports whether something holds a reference to e besides
// the table, which keeps both collectors off it: the model's only such
// holder is the entry's own armed timer (neigh_add_timer() takes a
// reference, neigh_del_timer() drops it). IPv4 routes hold no neighbour
// reference since 3.6, and packets waiting in the arp_queue hold none.
func Referenced(e *Entry) bool { return e.Timer != NoTimer }

// GCExempt reports whether e is off the collectors' lists: PERMANENT,
// and NTF_EXT_LEARNED where the kernel has it.
func GCExempt(k *profile.Profile, e *Entry) bool {
	return e.State&Permanent != 0 || (k.NeighExtLearned && e.Flags&FlagExtLearned != 0)
}

// Counted reports whether e counts against gc_thresh2/3 in neigh_alloc():
// every entry up to 4.19.y (tbl->entries), only those on the gc list
// from 5.0 (tbl->gc_entries).
func Counted(k *profile.Profile, e *Entry) bool {
	if !e.Exists() {
		return false
	}
	return k.NeighGC == profile.GCTableWalk || !GCExempt(k, e)
}

// GCRule names why a collector removed an entry, or kept it.
type GCRule uint8

// Collector decisions.
const (
	GCKeep       GCRule = iota // not removable
	GCFailed                   // FAILED
	GCStale                    // periodic: unused for gc_stale_time
	GCUnref                    // forced, table walk: unreferenced and not PERMANENT
	GCOld                      // forced, gc list: not updated for 5 s
	GCNoARP                    // forced, gc list: NOARP (gc-list-noarp)
	GCKeepRecent               // forced, gc list: updated within 5 s
)

// Periodic is neigh_periodic_work()'s decision for one entry (read at
// 3.10.108, 4.19.1, 6.12; run only when the table holds gc_thresh1
// entries or more, the caller's): PERMANENT and IN_TIMER entries (and
// NTF_EXT_LEARNED ones where the kernel has it) are skipped; used is
// raised to confirmed; an unreferenced entry is removed when FAILED or
// when used + gc_stale_time is past.
func Periodic(d Dev, e *Entry) GCRule {
	if !e.Exists() || e.State&(Permanent|InTimer) != 0 || (d.Kernel.NeighExtLearned && e.Flags&FlagExtLearned != 0) {
		return GCKeep
	}
	if e.Used < e.Confirmed {
		e.Used = e.Confirmed
	}
	if Referenced(e) {
		return GCKeep
	}
	switch {
	case e.State == Failed:
		return GCFailed
	case d.Now > e.Used+d.Parms.GcStale:
		return GCStale
	}
	return GCKeep
}

// Forced is neigh_forced_gc()'s decision for one entry: up to 4.19.y
// every unreferenced entry but PERMANENT (and NTF_EXT_LEARNED where the
// kernel has it) goes; from 5.0 only one on the gc list that is FAILED
// (NOARP too with gc-list-noarp) or not updated in the last 5 s
// (time_after(jiffies - 5 * HZ, n->updated)). The walk order and the
// gc_thresh2 stop are the caller's.
func Forced(d Dev, e *Entry) GCRule {
	k := d.Kernel
	if !e.Exists() || Referenced(e) || GCExempt(k, e) {
		return GCKeep
	}
	if k.NeighGC == profile.GCTableWalk {
		return GCUnref
	}
	switch {
	case e.State == Failed:
		return GCFailed
	case e.State == NoARP && k.NeighGC == profile.GCListNoARP:
		return GCNoARP
	case d.Now-5000 > e.Updated:
		return GCOld
	}
	return GCKeepRecent
}
