package nud

import "fmt"

// The words: each method below turns a step's decision into the reason a
// story prints, for ARP and neighbour discovery alike. Callers use them
// only when a story is recorded; exploration never runs them.

// Secs writes a time in milliseconds as seconds with three decimals. A
// negative time above -1 s loses its sign ("0.500" for -500): a known
// flaw, kept so that stories stay as they were.
func Secs(ms int32) string {
	frac := ms % 1000
	if frac < 0 {
		frac = -frac
	}
	return fmt.Sprintf("%d.%03d", ms/1000, frac)
}

// Dur writes a duration as a sysctl value reads: "5 s", "42.39 s".
func Dur(ms int32) string {
	if ms%1000 == 0 {
		return fmt.Sprintf("%d s", ms/1000)
	}
	return fmt.Sprintf("%.2f s", float64(ms)/1000)
}

var causes = [...]string{
	ByInit: "the initial table", ByCreate: "entry creation", ByStaleDelay: "STALE->DELAY (tx)",
	ByDelayReachable: "DELAY->REACHABLE", ByDelayProbe: "DELAY->PROBE", ByReachableDelay: "REACHABLE->DELAY",
	ByReachableStale: "REACHABLE->STALE", ByIncomplete: "NONE->INCOMPLETE (tx)", ByFailed: "->FAILED", ByAdmin: "an ip neigh change",
}

// Describe says what the cause was; proto names the packets whose
// updates moved it ("ARP").
func (c Cause) Describe(proto string) string {
	switch {
	case c == ByUpdate:
		return "an " + proto + " update"
	case c == ByIgnoredUpdate:
		return "an ignored " + proto + " packet"
	case int(c) < len(causes):
		return causes[c]
	}
	return causes[ByInit]
}

// Transition says how neigh_timer_handler() moved e: "DELAY -> PROBE", or
// "REACHABLE, timer re-armed".
func (w TimerWhy) Transition(e *Entry) string {
	if w.Old == e.State {
		return w.Old.String() + ", timer re-armed"
	}
	return w.Old.String() + " -> " + e.State.String()
}

// Reason says why neigh_timer_handler() did what it did to e; "" when
// there is nothing to tell (no timer state, or the next probe of PROBE
// and INCOMPLETE, which the probe tells).
func (w TimerWhy) Reason(d Dev, e *Entry) string {
	now, reach, delay := d.Now, d.Reach, d.Parms.DelayFirstProbe
	if w.Failed {
		return fmt.Sprintf("%d probes unanswered", e.Probes)
	}
	switch w.Rule {
	case StillReachable:
		return fmt.Sprintf("still alive: confirmed %s s ago <= reachable_time %s", Secs(now-e.Confirmed), Dur(reach))
	case ReachableToDelay:
		return fmt.Sprintf("confirmed %s s ago > reachable_time %s; used %s s ago: delay the probe", Secs(now-e.Confirmed), Dur(reach), Secs(now-e.Used))
	case ReachableToStale:
		return fmt.Sprintf("confirmed %s s ago > reachable_time %s; not used in the last %s", Secs(now-e.Confirmed), Dur(reach), Dur(delay))
	case DelayToReachable:
		return fmt.Sprintf("confirmed %s s ago (<= delay_first_probe_time %s): reachable again without a probe", Secs(now-e.Confirmed), Dur(delay))
	case DelayToProbe:
		return fmt.Sprintf("no confirmation for %s s: probe", Secs(now-e.Confirmed))
	}
	return ""
}

// Reason says what __neigh_event_send() did to the entry; "" when it
// changed nothing.
func (w SendWhy) Reason(d Dev) string {
	switch w.Rule {
	case SendResolve:
		return w.Old.String() + " -> INCOMPLETE on transmit (__neigh_event_send): packet queued, immediate probe"
	case SendNoProbes:
		return w.Old.String() + " on transmit (__neigh_event_send): mcast_solicit + app_solicit = 0, no resolution: FAILED, packet dropped"
	case SendStaleDelay:
		return fmt.Sprintf("STALE -> DELAY on transmit (__neigh_event_send): updated := %s, probe decision in %s", Secs(d.Now), Dur(d.Parms.DelayFirstProbe))
	}
	return ""
}
