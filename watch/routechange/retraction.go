package routechange

import (
	"fmt"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// A routing daemon that loses a route may install a retraction for its
// prefix: a reject route at a worse metric than the route's (babeld:
// `unreachable PREFIX dev lo proto babel metric 4294967295`, see
// watch/testdata/babeld-retraction.log). Once it has a new route it deletes
// the retraction and adds the route. Each swap is a delete then an add,
// so the change from the old route to the new one is one non-atomic
// change in four steps:
//
//	delete R, add retraction X, ..., delete X, add R'
//
// with each delete-to-add gap within Config.NonAtomicWindow (or, in a
// trace without times, each add the next route event after its delete);
// the retraction itself may stay for as long as the daemon has no route.

// retraction is the reject route a writer installed for a prefix between
// a route's delete and the new route's add.
type retraction struct {
	route                  trace.Route
	added, deleted         time.Time
	addedLine, deletedLine int
}

// isRetraction reports whether a route type can be a retraction: one
// that drops what it matches.
func isRetraction(t kernel.RouteType) bool {
	switch t {
	case kernel.RouteUnreachable, kernel.RouteBlackhole, kernel.RouteProhibit:
		return true
	}
	return false
}

// retractionAdded notes a reject route added right after the delete of a
// better route of the same prefix: the first half of a change through a
// retraction. It reports whether r was such a retraction. A route added
// with the key of a delete waiting behind its retraction ends the wait:
// the writer added the new route before removing the retraction, so that
// side of the change left no gap.
func (rc *Detector) retractionAdded(pk view.Key, r *trace.Record) bool {
	rt := r.Route
	if !isRetraction(rt.Type) {
		if d := rc.retracted[pk]; d != nil && d.key == keyOf(rt) {
			delete(rc.retracted, pk)
		}
		return false
	}
	fits := func(c *deletion) bool {
		return c != nil && c.key.Key == pk && c.retr == nil && c.link == "" &&
			c.route.Metric < rt.Metric && !isReject(c.route.Type) && !view.KernelOwned(c.route)
	}
	var d *deletion
	if r.Time.IsZero() {
		if fits(rc.zeroDel) && rc.zeroDel.seq == rc.routeSeq-1 {
			d, rc.zeroDel = rc.zeroDel, nil
		}
	} else {
		for c := range rc.dels.all() {
			if !fits(c) {
				continue
			}
			if g := r.Time.Sub(c.at); g < 0 || g > rc.cfg.Window {
				continue
			}
			if d == nil || c.at.After(d.at) || c.at.Equal(d.at) && c.key.metric < d.key.metric {
				d = c
			}
		}
		if d != nil {
			rc.dels.del(d.key.id())
		}
	}
	if d == nil {
		return false
	}
	d.retr = &retraction{route: rt, added: r.Time, addedLine: r.Line}
	rc.retracted[pk] = d
	return true
}

// retractionDeleted notes the delete of a retraction that followed a
// route's delete: the change now waits for the new route, as a delete
// does. It reports whether r was such a retraction.
func (rc *Detector) retractionDeleted(pk view.Key, r *trace.Record) bool {
	d := rc.retracted[pk]
	if d == nil || d.retr.route.Type != r.Route.Type || !view.SameRoute(d.retr.route, r.Route) {
		return false
	}
	delete(rc.retracted, pk)
	d.retr.deleted, d.retr.deletedLine = r.Time, r.Line
	d.seq = rc.routeSeq
	if r.Time.IsZero() {
		rc.zeroDel = d
		return true
	}
	id := d.key.id()
	rc.dels.put(id, d)
	rc.queueDel(queuedDel{id, d.seq, r.Time})
	return true
}

// retractionFinding reports a change through a retraction, completed by
// the add r.
func (rc *Detector) retractionFinding(d *deletion, r *trace.Record) finding.Finding {
	x := d.retr
	old, retr, added := d.route, x.route, r.Route
	dst := d.key.Dst
	var ev string
	if !d.at.IsZero() && !x.added.IsZero() && !x.deleted.IsZero() && !r.Time.IsZero() {
		gap1, gap2 := finding.FmtGap(x.added.Sub(d.at)), finding.FmtGap(r.Time.Sub(x.deleted))
		ev = fmt.Sprintf("%s changed the route to %s through a retraction, each swap a delete then an add: "+
			"it deleted `%s` at %s, added the retraction `%s` %s later, deleted the retraction at %s and added `%s` %s later, at %s. "+
			"%s had no usable route for %s, from %s to %s: for %s the retraction %s, and %s",
			writerOf(added), dst, finding.RouteObject(old), finding.FmtTime(d.at), finding.RouteObject(retr), gap1,
			finding.FmtTime(x.deleted), finding.RouteObject(added), gap2, finding.FmtTime(r.Time),
			dst, finding.FmtGap(r.Time.Sub(d.at)), finding.FmtTime(d.at), finding.FmtTime(r.Time), finding.FmtGap(x.deleted.Sub(x.added)), rejectEffect(retr.Type),
			rc.duringGap(d, fmt.Sprintf("the two gaps (%s and %s)", gap1, gap2)))
	} else {
		ev = fmt.Sprintf("%s changed the route to %s through a retraction, each swap a delete then an add: "+
			"it deleted `%s`%s, added the retraction `%s` as the next route event%s, deleted the retraction%s and added `%s` as the next route event%s "+
			"(the trace has no timestamps). %s had no usable route from the delete to the add: meanwhile the retraction %s, and %s",
			writerOf(added), dst, finding.RouteObject(old), lineRef(d.line), finding.RouteObject(retr), lineRef(x.addedLine),
			lineRef(x.deletedLine), finding.RouteObject(added), lineRef(r.Line),
			dst, rejectEffect(retr.Type), rc.duringGap(d, "the gaps before and after it"))
	}
	advice := fmt.Sprintf("Keep %s routed through such a change: the retraction's metric (%d) differs from the route's (%d), so both can be in the table at once and the lower metric wins. "+
		"Add the retraction before deleting the old route, and add the new route before deleting the retraction: lookups then never find the prefix without a route. "+
		"(NLM_F_REPLACE cannot swap them: the metric is part of the replace key.)", dst, retr.Metric, old.Metric)
	if d.key.Family == 6 && rc.cfg.Kernel.ClonesOnLookup() {
		advice += " On kernels before 4.2 a lookup while the retraction is installed clones it into an unreachable cache entry, and one inserted after the new route's add outlives the change (seed 000): check `ip -6 route show cache` for " + dst.String() + "."
	}
	return finding.Finding{
		Detector: NonAtomic,
		Severity: finding.SeverityWarning,
		Time:     r.Time,
		Objects:  []string{finding.RouteObject(old), finding.RouteObject(retr), finding.RouteObject(added)},
		Evidence: ev,
		Advice:   advice,
	}
}

// rejectEffect says what a reject route does to the packets it matches.
func rejectEffect(t kernel.RouteType) string {
	switch t {
	case kernel.RouteBlackhole:
		return "dropped its packets silently (blackhole)"
	case kernel.RouteProhibit:
		return "rejected its packets as administratively prohibited"
	}
	return "dropped its packets as unreachable"
}

// lineRef renders " (line N)" for a record read from a log, "" otherwise.
func lineRef(line int) string {
	if line <= 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", line)
}
