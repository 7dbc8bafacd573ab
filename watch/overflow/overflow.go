// Package overflow tells of the events a watch lost: the receive
// overflow (ENOBUFS) of its netlink subscription, and the
// resynchronisation that followed. Findings made in between carry a
// caution, and a replay whose overflow no resync followed (ip monitor
// never resyncs) ends with a finding naming them.
package overflow

import (
	"fmt"
	"strings"
	"time"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// Name is the name of the findings of this package (Finding.Detector).
const Name = "receive-overflow"

// After a receive overflow (ENOBUFS) the kernel dropped events the
// watcher never sees, so its view of the tables is stale until they are
// dumped again: raceroute watch does so at once and emits the
// differences as Resync records; ip monitor never does, and prints only
// "netlink receive error No buffer space available (105)". Findings made
// while the view is stale carry a caution saying how a lost event could
// make them wrong, and Finish names them when no resync ever came.

// maxSuspects bounds the findings an unresolved overflow lists.
const maxSuspects = 20

// Detector follows overflows and resyncs. It is not safe for concurrent
// use.
type Detector struct {
	lostMeans func(detector string) string

	overflow      *trace.Record // the first overflow since the last resync
	overflowAfter time.Time     // the latest time seen before it
	suspect       []string      // findings made since, while the view was stale
	nsuspect      int           // their number (suspect keeps the first few)
	last          time.Time     // the latest record time seen
}

// New returns an overflow detector; lostMeans says, for the name of
// another detector, how lost events could make its findings wrong ("":
// it does not say).
func New(lostMeans func(detector string) string) *Detector {
	return &Detector{lostMeans: lostMeans}
}

// Kinds lists the findings the detector reports.
func (od *Detector) Kinds() []finding.Kind {
	return []finding.Kind{{Name: Name}} // its own findings carry no caution
}

// Observe looks at overflow and resync records, and notes the time of
// every record.
func (od *Detector) Observe(r *trace.Record, _ *view.Change, out []finding.Finding) []finding.Finding {
	if r.Time.After(od.last) {
		od.last = r.Time
	}
	switch r.Kind {
	case trace.KindOverflow:
		out = append(out, od.overflowFinding(r))
	case trace.KindResync:
		if f, ok := od.resyncFinding(r); ok {
			out = append(out, f)
		}
	}
	return out
}

// Expire concludes nothing: the detector keeps no deadline.
func (od *Detector) Expire(_ time.Time, out []finding.Finding) []finding.Finding { return out }

// overflowFinding reports a receive overflow.
func (od *Detector) overflowFinding(r *trace.Record) finding.Finding {
	if od.overflow == nil {
		rc := *r
		od.overflow, od.overflowAfter = &rc, od.last
		od.suspect, od.nsuspect = nil, 0
	}
	lost := "an unknown number of events"
	if r.Lost > 0 {
		lost = fmt.Sprintf("%d events", r.Lost)
	}
	return finding.Finding{
		Detector: Name,
		Severity: finding.SeverityWarning,
		Time:     r.Time,
		Objects:  []string{subscriptionObject(r.Netns)},
		Evidence: fmt.Sprintf("the kernel could not queue %s for this watcher (ENOBUFS on the netlink socket) %s: its view of the tables is stale from then until they are dumped again, "+
			"and every conclusion drawn meanwhile may be wrong (raceroute watch dumps them at once and prints the differences as Resync lines; ip monitor never does)", lost, where(r, od.last)),
		Advice: "raceroute dumps the tables again and applies the differences as Resync events (ip monitor silently carries on with a wrong view: record with raceroute watch, or at least give ip monitor a larger buffer, `ip -rcvbuf 4194304 monitor`). " +
			"If overflows repeat, give raceroute watch CAP_NET_ADMIN (or raise net.core.rmem_max) so its 32 MiB receive buffer can be set, or a larger one with --rcvbuf, or watch fewer event groups.",
	}
}

// resyncFinding reports the resynchronisation that followed an overflow.
func (od *Detector) resyncFinding(r *trace.Record) (finding.Finding, bool) {
	if od.overflow == nil {
		return finding.Finding{}, false
	}
	ov := od.overflow
	od.overflow = nil
	ev := fmt.Sprintf("after the overflow %s the tables were dumped again: %d differences from the watcher's view, applied as Resync events", where(ov, od.overflowAfter), r.Lost)
	if r.Lost == 0 {
		ev = fmt.Sprintf("after the overflow %s the tables were dumped again: no difference, nothing of the kernel's state was missed", where(ov, od.overflowAfter))
	}
	if !ov.Time.IsZero() && !r.Time.IsZero() {
		ev += fmt.Sprintf(" (%s after the overflow)", finding.FmtGap(r.Time.Sub(ov.Time)))
	}
	return finding.Finding{
		Detector: Name,
		Severity: finding.SeverityInfo,
		Time:     r.Time,
		Objects:  []string{subscriptionObject(r.Netns)},
		Evidence: ev,
		Advice:   "none needed: the view is in sync again; the Resync events show what changed while events were lost.",
	}, true
}

// Finish reports, at the end of a replay, an overflow no resync
// followed, with the findings made since.
func (od *Detector) Finish() (finding.Finding, bool) {
	ov := od.overflow
	if ov == nil {
		return finding.Finding{}, false
	}
	ev := fmt.Sprintf("events were lost %s (ENOBUFS) and the tables were never dumped again, so the view is stale from there to the end of the trace", where(ov, od.overflowAfter))
	switch {
	case od.nsuspect == 0:
		ev += "; no finding came after it, but a failure among the lost events would have gone unseen"
	case od.nsuspect == 1:
		ev += "; this later finding may be wrong: " + od.suspect[0]
	default:
		ev += fmt.Sprintf("; these %d later findings may be wrong: %s", od.nsuspect, strings.Join(od.suspect, "; "))
		if od.nsuspect > len(od.suspect) {
			ev += fmt.Sprintf("; and %d more", od.nsuspect-len(od.suspect))
		}
	}
	return finding.Finding{
		Detector: Name,
		Severity: finding.SeverityWarning,
		Objects:  []string{subscriptionObject(ov.Netns)},
		Evidence: ev,
		Advice: "Check the findings after the overflow against the live tables (`ip route`, `ip neigh`), and record with raceroute watch, which dumps the tables again after an overflow, " +
			"or give ip monitor a larger receive buffer (`ip -rcvbuf 4194304 monitor`).",
	}, true
}

// Caveat marks the findings made while the view is stale after an
// overflow: each says how a lost event could make it wrong, and the
// detector remembers them for Finish.
func (od *Detector) Caveat(fs []finding.Finding) {
	if od.overflow == nil {
		return
	}
	for i := range fs {
		f := &fs[i]
		if f.Detector == Name {
			continue
		}
		f.Evidence += fmt.Sprintf(". Caution: events were lost %s and the tables have not been dumped again since, so %s", where(od.overflow, od.overflowAfter), od.lostMeansOf(f.Detector))
		od.nsuspect++
		if len(od.suspect) < maxSuspects {
			s := f.Detector
			if len(f.Objects) > 0 {
				s += " " + f.Objects[0]
			}
			if !f.Time.IsZero() {
				s += " at " + finding.FmtTime(f.Time)
			}
			od.suspect = append(od.suspect, s)
		}
	}
}

// lostMeansOf says how lost events can make a detector's finding wrong.
func (od *Detector) lostMeansOf(detector string) string {
	if od.lostMeans != nil {
		if s := od.lostMeans(detector); s != "" {
			return s
		}
	}
	return "a lost event may change this conclusion"
}

// where names when (or where in the trace) a record was seen: "at
// 22:32:32.532758", "at line 57 (after 22:32:32.532758)", "at line 57";
// after is the latest time seen before it.
func where(r *trace.Record, after time.Time) string {
	switch {
	case !r.Time.IsZero():
		return "at " + finding.FmtTime(r.Time)
	case r.Line > 0 && !after.IsZero():
		return fmt.Sprintf("at line %d (after %s)", r.Line, finding.FmtTime(after))
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
