package neigh

import (
	"fmt"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// The names of the findings of the state detectors (Finding.Detector).
const (
	// StuckTransient: an entry still INCOMPLETE, DELAY or PROBE past the
	// longest time its device's timers allow.
	StuckTransient = "neigh-stuck-transient"
	// EvictedInUse: an entry deleted by the kernel (garbage collection)
	// and created again for the same address soon after: traffic was
	// using it.
	EvictedInUse = "neigh-evicted-in-use"
)

// StatesConfig tunes the state detectors.
type StatesConfig struct {
	// Timers gives each device's timer sysctls (nil: the defaults).
	Timers TimerSource
	// Slack is added to the timers' bound before an entry counts as
	// stuck: timer granularity, and how late a poll of the table may see
	// the change.
	Slack time.Duration
	// Live is set when watching a live host: the clock then goes on
	// without records. In a replay only the recording's own times count,
	// so that a check still pending at its end concludes nothing.
	Live bool
	// Recreate is how soon after a kernel delete a new entry for the
	// same address counts as traffic re-creating an evicted entry.
	Recreate time.Duration
}

// DefaultRecreate is StatesConfig.Recreate's default. Forced GC takes
// only entries without a running timer not updated for 5 s
// (neigh_forced_gc()): a STALE entry whose traffic paused, so the flow
// that used it comes back after its own interval, often some seconds.
const DefaultRecreate = 30 * time.Second

// transient is an entry being timed in a transient state.
type transient struct {
	state    kernel.NUD
	neigh    trace.Neigh
	since    time.Time // when the kernel put it in the state
	deadline time.Time
	bound    time.Duration
	how      string
	assumed  bool // the device's timers were unknown: the defaults were used
	reported bool
}

// evicted is a kernel delete of a valid entry awaiting a re-creation.
type evicted struct {
	neigh trace.Neigh
	at    time.Time
}

// States runs the state detectors over neighbour records. It is not safe
// for concurrent use.
type States struct {
	cfg      StatesConfig
	timing   map[view.NeighKey]*transient
	evicted  map[view.NeighKey]evicted
	lastSeen time.Time
}

// NewStates returns the state detectors.
func NewStates(cfg StatesConfig) *States {
	if cfg.Slack <= 0 {
		cfg.Slack = time.Second
	}
	if cfg.Recreate <= 0 {
		cfg.Recreate = DefaultRecreate
	}
	return &States{cfg: cfg, timing: map[view.NeighKey]*transient{}, evicted: map[view.NeighKey]evicted{}}
}

// Kinds lists the findings the state detectors report.
func (s *States) Kinds() []finding.Kind {
	return []finding.Kind{
		{Name: StuckTransient, LostMeans: "the event that took the entry out of its state may be among the lost ones (a resync or poll corrects the view)"},
		{Name: EvictedInUse, LostMeans: "an administrative delete or a link change between the two events may be among the lost ones"},
	}
}

// transientState reports whether the kernel's timers must move an entry
// out of state st (NUD_INCOMPLETE, NUD_DELAY, NUD_PROBE).
func transientState(st kernel.NUD) bool {
	return st == kernel.NUDIncomplete || st == kernel.NUDDelay || st == kernel.NUDProbe
}

// Observe times entries in transient states and pairs kernel deletes
// with re-creations.
func (s *States) Observe(r *trace.Record, _ *view.Change, out []finding.Finding) []finding.Finding {
	if r.Kind != trace.KindNeigh {
		return out
	}
	if r.Time.After(s.lastSeen) {
		s.lastSeen = r.Time
	}
	n := r.Neigh
	k := view.NeighKeyOf(n)
	if r.Action == trace.ActionDel {
		delete(s.timing, k)
		// A delete of a valid, non-permanent entry that nobody announced
		// as FAILED first: the kernel's garbage collection
		// (neigh_forced_gc(), neigh_periodic_work() remove it with
		// neigh_cleanup_and_release(), whose RTM_DELNEIGH carries the
		// state it had; `ip neigh del` first sets NUD_FAILED through
		// __neigh_update()). A link going down removes entries too, but
		// their re-creation waits for the link.
		if n.State&kernel.NUDValid != 0 && n.State&(kernel.NUDPermanent|kernel.NUDNoARP) == 0 && !r.Inferred && !r.Resync && !r.Time.IsZero() {
			s.evicted[k] = evicted{neigh: n, at: r.Time}
		}
		return out
	}
	if ev, ok := s.evicted[k]; ok {
		delete(s.evicted, k)
		if g := r.Time.Sub(ev.at); g >= 0 && g <= s.cfg.Recreate && view.IsChange(r) {
			out = append(out, s.evictedFinding(ev, r, g))
		}
	}
	if !transientState(n.State) {
		delete(s.timing, k)
		return out
	}
	since := r.Time
	if n.Updated > 0 {
		// NDA_CACHEINFO's ndm_updated: how long ago the kernel set the
		// state (neigh->updated, set at each transition).
		since = r.Time.Add(-n.Updated)
	}
	if t, ok := s.timing[k]; ok && t.state == n.State {
		if n.Updated > 0 && since.Before(t.since) {
			t.since, t.deadline = since, since.Add(t.bound+s.cfg.Slack)
		}
		t.neigh = n
		return out
	}
	tm, known := DefaultTimers(), false
	if s.cfg.Timers != nil {
		if t, ok := s.cfg.Timers.Timers(n.Family, view.Dev(n.Dev, n.Ifindex)); ok {
			tm, known = t, true
		}
	}
	bound, how := tm.Bound(n.State)
	s.timing[k] = &transient{state: n.State, neigh: n, since: since, bound: bound, how: how, assumed: !known,
		deadline: since.Add(bound + s.cfg.Slack)}
	return out
}

// Expire reports the entries still in a transient state past their
// deadline; in a replay, only deadlines the recording reached.
func (s *States) Expire(now time.Time, out []finding.Finding) []finding.Finding {
	if !s.cfg.Live && now.After(s.lastSeen) {
		now = s.lastSeen
	}
	// Every record expires the detectors: an empty map's range still
	// costs an iterator set-up, so skip them when empty (the storm's
	// case: 6 % of the engine's time on a quiet host).
	if len(s.timing) == 0 && len(s.evicted) == 0 {
		return out
	}
	for _, t := range s.timing {
		if t.reported || t.since.IsZero() || now.Before(t.deadline) {
			continue
		}
		t.reported = true
		out = append(out, s.stuckFinding(t, now))
	}
	for k, ev := range s.evicted {
		if now.Sub(ev.at) > s.cfg.Recreate {
			delete(s.evicted, k)
		}
	}
	return out
}

func neighObject(n trace.Neigh) string {
	return fmt.Sprintf("%s dev %s", n.Addr, view.Dev(n.Dev, n.Ifindex))
}

func (s *States) stuckFinding(t *transient, now time.Time) finding.Finding {
	assumed := ""
	if t.assumed {
		assumed = " (the device's sysctls were not known: the kernel's defaults assumed)"
	}
	sev, effect := finding.SeverityWarning, "its reachability is never confirmed or failed, so a dead neighbour is used as if it were alive"
	why := "a timer that is not running: an administrative write (`ip neigh add|replace ... nud " + stateWord(t.state) +
		"` reaches __neigh_update() with a state without NUD_VALID, which deletes the entry's timer and arms none) or a kernel bug"
	if t.state == kernel.NUDIncomplete {
		sev = finding.SeverityCritical
		effect = "packets to it are queued (unres_qlen) and dropped, and no solicitation will ever resolve it"
	}
	return finding.Finding{
		Detector: StuckTransient,
		Severity: sev,
		Time:     now,
		Objects:  []string{neighObject(t.neigh)},
		Evidence: fmt.Sprintf("%s has been %s for %s (since %s), beyond the longest its timers allow, %s = %s%s, after which "+
			"neigh_timer_handler() (net/core/neighbour.c) moves it on; the kernel announces nothing while it waits, so "+
			"the entry is held by %s: %s",
			neighObject(t.neigh), t.state, finding.FmtGap(now.Sub(t.since)), finding.FmtTime(t.since), t.how,
			finding.FmtGap(t.bound), assumed, why, effect),
		Advice: fmt.Sprintf("delete the entry (ip neigh del %s) or write a real state, and find the agent that wrote it", neighObject(t.neigh)),
	}
}

// stateWord is the `ip neigh` nud keyword of a state.
func stateWord(st kernel.NUD) string {
	switch st {
	case kernel.NUDIncomplete:
		return "incomplete"
	case kernel.NUDDelay:
		return "delay"
	case kernel.NUDProbe:
		return "probe"
	}
	return st.String()
}

func (s *States) evictedFinding(ev evicted, r *trace.Record, gap time.Duration) finding.Finding {
	ages := ""
	if ev.neigh.Used > 0 || ev.neigh.Confirmed > 0 {
		ages = fmt.Sprintf(" (used %s and confirmed %s before it went)", finding.FmtGap(ev.neigh.Used), finding.FmtGap(ev.neigh.Confirmed))
	}
	return finding.Finding{
		Detector: EvictedInUse,
		Severity: finding.SeverityWarning,
		Time:     r.Time,
		Objects:  []string{neighObject(ev.neigh)},
		Evidence: fmt.Sprintf("the kernel deleted %s while it was %s%s at %s, and traffic created it again %s later (%s): "+
			"garbage collection evicted an entry in use (neigh_forced_gc() once the table holds gc_thresh2 entries, "+
			"removing the oldest not updated for 5 s, whatever their traffic; neigh_periodic_work() above gc_thresh1), "+
			"so packets waited for a new resolution or were dropped",
			neighObject(ev.neigh), ev.neigh.State, ages, finding.FmtTime(ev.at), finding.FmtGap(gap), r.Neigh.State),
		Advice: "raise net.ipv4.neigh.default.gc_thresh1/2/3 (net.ipv6.neigh.default.* for IPv6; they exist in the initial namespace only and count every namespace's entries) " +
			"above the host's number of neighbours, or pin the entries traffic needs (extern_learn or permanent)",
	}
}
