package watch

import (
	"fmt"
	"strings"
	"time"

	"raceroute/trace"
)

// After a receive overflow (ENOBUFS) the kernel dropped events the
// watcher never sees, so its view of the tables is stale until they are
// dumped again: raceroute watch does so at once and emits the
// differences as Resync records; ip monitor never does, and prints only
// "netlink receive error No buffer space available (105)". Findings made
// while the view is stale carry a caution saying how a lost event could
// make them wrong, and Finish names them when no resync ever came.

// maxSuspects bounds the findings an unresolved overflow lists.
const maxSuspects = 20

// overflowFinding reports a receive overflow.
func (e *Engine) overflowFinding(r trace.Record) Finding {
	if e.overflow == nil {
		rc := r
		e.overflow, e.overflowAfter = &rc, e.last
		e.suspect, e.nsuspect = nil, 0
	}
	lost := "an unknown number of events"
	if r.Lost > 0 {
		lost = fmt.Sprintf("%d events", r.Lost)
	}
	return Finding{
		Detector: DetectorOverflow,
		Severity: SeverityWarning,
		Time:     r.Time,
		Objects:  []string{subscriptionObject(r.Netns)},
		Evidence: fmt.Sprintf("the kernel could not queue %s for this watcher (ENOBUFS on the netlink socket) %s: its view of the tables is stale from then until they are dumped again, "+
			"and every conclusion drawn meanwhile may be wrong (raceroute watch dumps them at once and prints the differences as Resync lines; ip monitor never does)", lost, where(r, e.last)),
		Advice: "raceroute dumps the tables again and applies the differences as Resync events (ip monitor silently carries on with a wrong view: record with raceroute watch, or at least give ip monitor a larger buffer, `ip -rcvbuf 4194304 monitor`). " +
			"If overflows repeat, raise net.core.rmem_max so the 4 MiB receive buffer can be set, or watch fewer event groups.",
	}
}

// resyncFinding reports the resynchronisation that followed an overflow.
func (e *Engine) resyncFinding(r trace.Record) (Finding, bool) {
	if e.overflow == nil {
		return Finding{}, false
	}
	ov := e.overflow
	e.overflow = nil
	ev := fmt.Sprintf("after the overflow %s the tables were dumped again: %d differences from the watcher's view, applied as Resync events", where(*ov, e.overflowAfter), r.Lost)
	if r.Lost == 0 {
		ev = fmt.Sprintf("after the overflow %s the tables were dumped again: no difference, nothing of the kernel's state was missed", where(*ov, e.overflowAfter))
	}
	if !ov.Time.IsZero() && !r.Time.IsZero() {
		ev += fmt.Sprintf(" (%s after the overflow)", fmtGap(r.Time.Sub(ov.Time)))
	}
	return Finding{
		Detector: DetectorOverflow,
		Severity: SeverityInfo,
		Time:     r.Time,
		Objects:  []string{subscriptionObject(r.Netns)},
		Evidence: ev,
		Advice:   "none needed: the view is in sync again; the Resync events show what changed while events were lost.",
	}, true
}

// unresolvedOverflow reports, at the end of a replay, an overflow no
// resync followed, with the findings made since.
func (e *Engine) unresolvedOverflow() (Finding, bool) {
	ov := e.overflow
	if ov == nil {
		return Finding{}, false
	}
	ev := fmt.Sprintf("events were lost %s (ENOBUFS) and the tables were never dumped again, so the view is stale from there to the end of the trace", where(*ov, e.overflowAfter))
	switch {
	case e.nsuspect == 0:
		ev += "; no finding came after it, but a failure among the lost events would have gone unseen"
	case e.nsuspect == 1:
		ev += "; this later finding may be wrong: " + e.suspect[0]
	default:
		ev += fmt.Sprintf("; these %d later findings may be wrong: %s", e.nsuspect, strings.Join(e.suspect, "; "))
		if e.nsuspect > len(e.suspect) {
			ev += fmt.Sprintf("; and %d more", e.nsuspect-len(e.suspect))
		}
	}
	return Finding{
		Detector: DetectorOverflow,
		Severity: SeverityWarning,
		Objects:  []string{subscriptionObject(ov.Netns)},
		Evidence: ev,
		Advice: "Check the findings after the overflow against the live tables (`ip route`, `ip neigh`), and record with raceroute watch, which dumps the tables again after an overflow, " +
			"or give ip monitor a larger receive buffer (`ip -rcvbuf 4194304 monitor`).",
	}, true
}

// caveat marks the findings made while the view is stale after an
// overflow: each says how a lost event could make it wrong, and the
// engine remembers them for unresolvedOverflow. It returns fs.
func (e *Engine) caveat(fs []Finding) []Finding {
	if e.overflow == nil {
		return fs
	}
	for i := range fs {
		f := &fs[i]
		if f.Detector == DetectorOverflow {
			continue
		}
		f.Evidence += fmt.Sprintf(". Caution: events were lost %s and the tables have not been dumped again since, so %s", where(*e.overflow, e.overflowAfter), lostMeans(f.Detector))
		e.nsuspect++
		if len(e.suspect) < maxSuspects {
			s := f.Detector
			if len(f.Objects) > 0 {
				s += " " + f.Objects[0]
			}
			if !f.Time.IsZero() {
				s += " at " + fmtTime(f.Time)
			}
			e.suspect = append(e.suspect, s)
		}
	}
	return fs
}

// lostMeans says how lost events can make a detector's finding wrong.
func lostMeans(detector string) string {
	switch detector {
	case DetectorNonAtomic, DetectorKernelChurn:
		return "a lost event may belong to this change (an add that closed the gap sooner, or a delete that was not this writer's)"
	case DetectorCache:
		return "the covering route may have changed unseen: the entry may agree with the route the kernel really has, or contradict another one"
	case DetectorGARPIgnored:
		return "the neighbour update that took the new MAC may be among the lost events: the gratuitous ARP may have been honoured"
	case DetectorMACChange:
		return "the neighbour events around the change may be among the lost ones"
	}
	return "a lost event may change this conclusion"
}

// where names when (or where in the trace) a record was seen: "at
// 22:32:32.532758", "at line 57 (after 22:32:32.532758)", "at line 57";
// after is the latest time seen before it.
func where(r trace.Record, after time.Time) string {
	switch {
	case !r.Time.IsZero():
		return "at " + fmtTime(r.Time)
	case r.Line > 0 && !after.IsZero():
		return fmt.Sprintf("at line %d (after %s)", r.Line, fmtTime(after))
	case r.Line > 0:
		return fmt.Sprintf("at line %d", r.Line)
	}
	return "at an unknown time"
}

func subscriptionObject(netns string) string {
	if netns == "" {
		return "rtnetlink subscription"
	}
	return "rtnetlink subscription in netns " + netns
}
