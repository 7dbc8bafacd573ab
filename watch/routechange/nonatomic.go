package routechange

import (
	"fmt"
	"time"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// routeKey is a route's identity for the non-atomic detector: the key
// of the kernel's replace, (family, table, prefix, metric)
// (fib6_add_rt2node() for IPv6, fib_table_insert() for IPv4 where the
// TOS, which trace.Route does not carry, is also part of it).
type routeKey struct {
	view.Key
	metric uint32
}

func keyOf(r trace.Route) routeKey {
	return routeKey{view.KeyOf(r), r.Metric}
}

// delKey is a routeKey as Detector.dels holds it, without pointers: a
// storm puts every delete into dels for the window.
type delKey struct {
	node   view.NodeKey
	metric uint32
}

func (k routeKey) id() delKey { return delKey{k.Node(), k.metric} }

// deletion is a route delete awaiting a re-add.
type deletion struct {
	key    routeKey
	seq    uint64 // routeSeq of the delete, or of the retraction's delete
	at     time.Time
	line   int
	route  trace.Route
	others bool // other routes for the prefix stayed in the table
	// link names the device whose going down removed the route: the
	// kernel deleted it, not a writer ("" otherwise).
	link string
	// retr is the retraction a writer installed for the prefix after
	// the delete, once seen (retraction.go).
	retr *retraction
}

// lastStep is when the last step of the change so far happened: the
// delete, or the retraction's delete.
func (d *deletion) lastStep() time.Time {
	if d.retr != nil {
		return d.retr.deleted
	}
	return d.at
}

// queuedDel is a deletion in the expiry queue.
type queuedDel struct {
	id  delKey
	seq uint64
	at  time.Time
}

// noteDelete remembers a delete for the non-atomic detector; a delete
// through a link that was already down is the kernel's.
func (rc *Detector) noteDelete(k routeKey, r *trace.Record, others bool) {
	d := rc.newDeletion()
	*d = deletion{key: k, seq: rc.routeSeq, at: r.Time, line: r.Line, route: r.Route, others: others}
	if len(rc.links) > 0 { // links down: none in a storm, and the lookup hashes a name
		if st := rc.links[view.RouteDev(r.Route)]; st != nil {
			d.link = view.RouteDev(r.Route)
			st.removed = append(st.removed, r.Route)
		}
	}
	if r.Time.IsZero() {
		rc.zeroDel = d
		if len(rc.zeroRun) < maxZeroRun {
			rc.zeroRun = append(rc.zeroRun, d)
		}
		return
	}
	id := k.id()
	rc.dels.put(id, d)
	rc.queueDel(queuedDel{id, d.seq, d.at})
}

// maxZeroRun bounds the run of deletes kept for a trace without times.
const maxZeroRun = 256

// nonAtomic checks an add against a recent delete of the same key. A
// delete the kernel made because the route's link went down is no
// writer's change (the link's kernel-route-churn finding tells of it);
// the kernel's own routes deleted and re-added give an info finding of
// their own; a change through a retraction gives one finding for its
// four steps (retraction.go).
func (rc *Detector) nonAtomic(k routeKey, r *trace.Record) (finding.Finding, bool) {
	var d *deletion
	gap := "an unknown time"
	switch {
	case r.Time.IsZero():
		// No times: only a delete immediately followed by the add (no
		// route event between them) counts.
		if rc.zeroDel == nil || rc.zeroDel.key != k || rc.zeroDel.seq != rc.routeSeq-1 {
			return finding.Finding{}, false
		}
		d = rc.zeroDel
		rc.zeroDel = nil
		gap = "an unknown time (the trace has no timestamps; the add was the next route event)"
	default:
		var ok bool
		if rc.dels.n == 0 {
			return finding.Finding{}, false
		}
		id := k.id()
		d, ok = rc.dels.get(id)
		if !ok {
			return finding.Finding{}, false
		}
		g := r.Time.Sub(d.lastStep())
		if g < 0 || g > rc.cfg.Window {
			return finding.Finding{}, false
		}
		rc.dels.del(id)
		gap = finding.FmtGap(g)
	}
	switch {
	case d.link != "":
		return finding.Finding{}, false
	case d.retr != nil:
		return rc.retractionFinding(d, r), true
	case view.KernelOwned(d.route) && view.KernelOwned(r.Route):
		return rc.kernelRouteChurn(d, r, gap), true
	}
	old, added := d.route, r.Route
	writer := writerOf(added)
	ev := fmt.Sprintf("%s deleted `%s` at %s and added `%s` %s later",
		writer, finding.RouteObject(old), finding.FmtTime(d.at), finding.RouteObject(added), gap)
	if !r.Time.IsZero() {
		ev = fmt.Sprintf("%s deleted `%s` at %s and added `%s` at %s, %s later",
			writer, finding.RouteObject(old), finding.FmtTime(d.at), finding.RouteObject(added), finding.FmtTime(r.Time), gap)
	}
	ev += "; " + rc.duringGap(d, "the gap")
	advice := "Make the change one RTM_NEWROUTE with NLM_F_REPLACE where the kernel's replace is correct " +
		"(IPv4 always; IPv6 from 5.6, or on older kernels when the new route has a gateway like the old: before 5.6 replacing a gateway route by a device-only or unreachable one adds a second route; see docs/kernel-notes.md)."
	if k.Family == 6 && rc.cfg.Kernel.ClonesOnLookup() {
		advice += " On kernels before 4.2 a lookup during the gap can clone the fall-through route into a cache entry that outlives the change (replace narrows that window to the lookup's allocate-and-insert gap but does not close it): check `ip -6 route show cache` for " + k.Dst.String() + "."
	}
	return finding.Finding{
		Detector: NonAtomic,
		Severity: finding.SeverityWarning,
		Time:     r.Time,
		Objects:  []string{finding.RouteObject(old), finding.RouteObject(added)},
		Evidence: ev,
		Advice:   advice,
	}, true
}

// writerOf names the writer of a route by its protocol: "proto babel
// (42)", or "an unknown writer".
func writerOf(r trace.Route) string {
	if r.Proto == 0 {
		return "an unknown writer"
	}
	return fmt.Sprintf("proto %s (%d)", r.Proto.String(), r.Proto)
}

// duringGap says what lookups for the deleted route's prefix met while
// the table had no route for it (gap names the interval): other routes
// of the prefix, the less specific route in the view now (routes of
// other prefixes rarely change within the window), or, for a default
// route, which nothing is less specific than, no route at all.
func (rc *Detector) duringGap(d *deletion, gap string) string {
	k := d.key
	if d.others {
		return fmt.Sprintf("other routes for %s stayed in the table during %s", k.Dst, gap)
	}
	if k.Dst.Bits() == 0 {
		return defaultGap(k, gap)
	}
	if fallback, _ := rc.view.Lookup(k.Family, k.Table, k.Dst.Addr(), k.Dst.Bits()-1); len(fallback) > 0 {
		return fmt.Sprintf("during %s the table had no route for %s and lookups fell through to `%s`", gap, k.Dst, finding.RouteObject(fallback[0].Route))
	}
	return fmt.Sprintf("during %s the table had no route for %s and lookups fell through to a less specific route (none in this trace; with none at all packets were dropped as unreachable)", gap, k.Dst)
}

// defaultGap says what a lookup met while table k.Table had no default
// route. fib6_rule_action() (net/ipv6/fib6_rules.c) and the IPv4 rules
// (fib_rules_lookup(), net/core/fib_rules.c) go on to the next rule when
// a table has no route for the destination (-EAGAIN); with no rule left
// the lookup fails with -ENETUNREACH.
func defaultGap(k routeKey, gap string) string {
	rest := "no rule follows main"
	if k.Family == 4 {
		rest = "only table default follows main, usually empty"
	}
	ev := fmt.Sprintf("during %s table %s had no default route, and nothing is less specific than a default route: a lookup that no more specific route of table %s matched found no route there and went on to the next routing rule; ",
		gap, trace.TableName(k.Table), trace.TableName(k.Table))
	if k.Table == trace.TableMain {
		return ev + fmt.Sprintf("with the default rules (%s) it found none and failed, so packets were dropped as unreachable (ENETUNREACH, \"Network is unreachable\")", rest)
	}
	return ev + "with the default rules that is table main: packets went by a route of main if one matched, else they were dropped as unreachable (ENETUNREACH, \"Network is unreachable\")"
}
