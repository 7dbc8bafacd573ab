package neigh

import (
	"fmt"
	"time"

	"raceroute/kernel"
)

// Timers are the neighbour timer sysctls of one device
// (net.ipv4.neigh.DEV.* or net.ipv6.neigh.DEV.*) that bound how long
// the kernel keeps an entry in a transient state.
type Timers struct {
	MCastProbes   int           // mcast_solicit
	UCastProbes   int           // ucast_solicit
	AppProbes     int           // app_solicit
	MCastReprobes int           // mcast_resolicit
	Retrans       time.Duration // retrans_time_ms
	DelayFirst    time.Duration // delay_first_probe_time
}

// DefaultTimers are the kernel's defaults for both families (arp_tbl in
// net/ipv4/arp.c and nd_tbl in net/ipv6/ndisc.c, 6.12: MCAST_PROBES 3,
// UCAST_PROBES 3, APP_PROBES 0, MCAST_REPROBES 0, RETRANS_TIME 1 s,
// DELAY_PROBE_TIME 5 s).
func DefaultTimers() Timers {
	return Timers{MCastProbes: 3, UCastProbes: 3, Retrans: time.Second, DelayFirst: 5 * time.Second}
}

// TimerSource gives the timers of a device of the watched host; ok is
// false when they are unknown (the defaults are then assumed).
type TimerSource interface {
	Timers(family int, dev string) (t Timers, ok bool)
}

// retrans is the probe interval: neigh_timer_handler() re-arms at
// max(RETRANS_TIME, HZ/100).
func (t Timers) retrans() time.Duration { return max(t.Retrans, 10*time.Millisecond) }

// Bound returns the longest the kernel's timers keep an entry in state
// s (0 for a state they do not bound), and how it is made, in words.
// From net/core/neighbour.c (6.12, the same since 3.x):
//   - INCOMPLETE: __neigh_event_send() enters it with probes set to
//     UCAST_PROBES and the timer due at once; neigh_timer_handler() sends
//     a probe every max(RETRANS_TIME, HZ/100) and, once probes reach
//     neigh_max_probes() (UCAST + APP + MCAST_PROBES), sets FAILED: so
//     (MCAST_PROBES + APP_PROBES) intervals.
//   - DELAY: DELAY_PROBE_TIME, then PROBE (or REACHABLE if confirmed).
//   - PROBE: probes start at 0 and FAILED comes at neigh_max_probes()
//     (UCAST + APP + MCAST_REPROBES) intervals.
func (t Timers) Bound(s kernel.NUD) (time.Duration, string) {
	r := t.retrans()
	probe := time.Duration(t.UCastProbes+t.AppProbes+t.MCastReprobes) * r
	probeWords := fmt.Sprintf("(ucast_solicit %d + app_solicit %d + mcast_resolicit %d) × retrans_time %s",
		t.UCastProbes, t.AppProbes, t.MCastReprobes, r)
	switch s {
	case kernel.NUDIncomplete:
		return time.Duration(t.MCastProbes+t.AppProbes) * r,
			fmt.Sprintf("(mcast_solicit %d + app_solicit %d) × retrans_time %s", t.MCastProbes, t.AppProbes, r)
	case kernel.NUDDelay:
		return t.DelayFirst + probe, fmt.Sprintf("delay_first_probe_time %s + %s", t.DelayFirst, probeWords)
	case kernel.NUDProbe:
		return probe, probeWords
	}
	return 0, ""
}
