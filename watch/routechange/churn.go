package routechange

import (
	"fmt"
	"slices"
	"strings"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// The kernel removes routes itself, and no writer can change those
// atomically: every route through a link that goes down or away (the
// view follows links and drops what the kernel removes unannounced,
// view/links.go), and its own routes (proto kernel: prefix, local,
// anycast, multicast ff00::/8, broadcast), which come and go with links
// and addresses. When the link comes back up the kernel adds its own
// routes again; other writers' routes stay gone until their writer adds
// them. Such churn is reported as kernel-route-churn (info), never as a
// non-atomic change (recorded on Linux 6.18 in
// watch/testdata/link-flap.log).

// maxChurnObjects bounds the routes a kernel-route-churn finding lists.
const maxChurnObjects = 12

// linkChurn is what went with a link that is down: the routes the
// kernel removed with it since.
type linkChurn struct {
	removed []trace.Route
	silent  int // of removed, the IPv4 routes the kernel removed unannounced
}

// linkDown starts the churn of the link that went down with a record
// (ch.Down). The deletes of its routes already seen are the kernel's (it
// announces some before the link's message; in a trace without times,
// those since the last add count), and so are the IPv4 routes the view
// dropped with it.
func (rc *Detector) linkDown(ch *view.Change) {
	name := ch.Down
	if name == "" {
		return
	}
	st := &linkChurn{}
	rc.links[name] = st
	mark := func(d *deletion) {
		if d != nil && d.link == "" && d.retr == nil && view.RouteDev(d.route) == name {
			d.link = name
			st.removed = append(st.removed, d.route)
		}
	}
	for d := range rc.dels.all() {
		mark(d)
	}
	for _, d := range rc.zeroRun {
		mark(d)
	}
	st.removed = append(st.removed, ch.Silent...)
	st.silent = len(ch.Silent)
}

// linkUp reports the routes the kernel removed with the link that came
// back up with r (ch.Up), if any.
func (rc *Detector) linkUp(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	if ch.Up == "" {
		return out
	}
	st := rc.links[ch.Up]
	delete(rc.links, ch.Up)
	if st == nil || len(st.removed) == 0 || r.Initial {
		return out
	}
	return append(out, rc.linkChurn(ch.Up, ch.UpFrom, st, r))
}

// linkChurn reports the routes the kernel removed with a link that went
// down and came back up (r).
func (rc *Detector) linkChurn(name string, down view.Link, st *linkChurn, r *trace.Record) finding.Finding {
	rs := slices.Clone(st.removed)
	slices.SortFunc(rs, view.CompareRoutes)
	var own, others []string
	for _, x := range rs {
		if view.KernelOwned(x) {
			own = append(own, finding.RouteObject(x))
		} else {
			others = append(others, finding.RouteObject(x))
		}
	}
	var when string
	switch {
	case !down.At.IsZero() && !r.Time.IsZero():
		when = fmt.Sprintf("went down at %s and came back up at %s, %s later", finding.FmtTime(down.At), finding.FmtTime(r.Time), finding.FmtGap(r.Time.Sub(down.At)))
	default:
		when = fmt.Sprintf("went down%s and came back up%s", lineRef(down.Line), lineRef(r.Line))
	}
	if down.Inferred {
		when += " (the trace shows no link events: the kernel's fe80::/64 and ff00::/8 routes of the link went and came back with it)"
	}
	ev := fmt.Sprintf("%s %s; with it the kernel removed %d route(s) through it", name, when, len(rs))
	if st.silent > 0 {
		ev += fmt.Sprintf(" (%d of them IPv4 routes, removed without a message)", st.silent)
	}
	if len(own) > 0 {
		ev += fmt.Sprintf("; its own (proto kernel) routes, which it adds again as the link and its addresses come back: %s", quoteList(own))
	}
	if len(others) > 0 {
		ev += fmt.Sprintf("; routes of other writers, gone until their writer adds them again: %s", quoteList(others))
	}
	objs := []string{"dev " + name}
	for _, x := range rs {
		if len(objs) > maxChurnObjects {
			objs = append(objs, fmt.Sprintf("... and %d more", len(rs)-maxChurnObjects))
			break
		}
		objs = append(objs, finding.RouteObject(x))
	}
	return finding.Finding{
		Detector: KernelChurn,
		Severity: finding.SeverityInfo,
		Time:     r.Time,
		Objects:  objs,
		Evidence: ev,
		Advice: "Nothing for a writer to change: the kernel removed these routes because the link went down, and no writer can replace them atomically; this is not a non-atomic route change. " +
			"If the link should not flap, find out why it went down (`ip -s link show dev " + name + "`, the peer, the driver's log); a daemon whose routes went with the link adds them again when it sees the link back.",
	}
}

// kernelRouteChurn reports one of the kernel's own routes deleted and
// added again (d, r) with no link seen going down around it.
func (rc *Detector) kernelRouteChurn(d *deletion, r *trace.Record, gap string) finding.Finding {
	ev := fmt.Sprintf("the kernel deleted its own route `%s` at %s and added it again %s later", finding.RouteObject(d.route), finding.FmtTime(d.at), gap)
	if r.Time.IsZero() {
		ev = fmt.Sprintf("the kernel deleted its own route `%s`%s and added it again as the next route event%s (the trace has no timestamps)",
			finding.RouteObject(d.route), lineRef(d.line), lineRef(r.Line))
	}
	ev += fmt.Sprintf(": it makes such routes for links and addresses, and removes and re-adds them when a link or an address of %s goes down and comes back "+
		"(no link event shows %s going down, so likely one of its addresses went and came back; a recording of `ip monitor route` alone shows neither)", view.RouteDev(d.route), view.RouteDev(d.route))
	return finding.Finding{
		Detector: KernelChurn,
		Severity: finding.SeverityInfo,
		Time:     r.Time,
		Objects:  []string{finding.RouteObject(r.Route)},
		Evidence: ev,
		Advice: "Nothing for a writer to change: no writer made this change, and NLM_F_REPLACE does not apply to the kernel's own routes. " +
			"To see what went down, record links and addresses too (`ip -ts monitor label`, or `raceroute watch`).",
	}
}

// quoteList renders objects as "`a`, `b`".
func quoteList(objs []string) string {
	return "`" + strings.Join(objs, "`, `") + "`"
}
