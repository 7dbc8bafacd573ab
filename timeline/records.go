package timeline

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"raceroute/trace"
	"raceroute/watch"
)

// labelFinding labels a detector's finding on a recorded trace's
// timeline; findings get lanes of their own, one per detector.
const labelFinding trace.Label = "FINDING"

// Recording collects a recorded trace (the records of `ip monitor` or of
// a watch) and the findings the detectors made of it, in the order they
// came, and tells them as a story: one lane per object (a prefix, a
// route-cache entry, a neighbour entry, a link), the state of each along
// its lane, and each finding at its time on its detector's lane, joined
// to the objects it names. The zero Recording is ready to use.
type Recording struct {
	events []trace.Event
	start  time.Time
	lastT  int64
	// routes holds each prefix lane's routes, by (table, metric, type),
	// for its state.
	routes map[string][]trace.Route
	lanes  map[string]bool
}

// Record adds one record.
func (r *Recording) Record(rec trace.Record) {
	if r.routes == nil {
		r.routes, r.lanes = map[string][]trace.Route{}, map[string]bool{}
	}
	e := trace.Event{T: r.at(rec.Time), Actor: source(rec), Op: trace.OpAdd}
	if rec.Action == trace.ActionDel {
		e.Op = trace.OpDel
	}
	var notes []string
	for _, n := range []struct {
		on   bool
		what string
	}{{rec.Replace, "replaced (NLM_F_REPLACE)"}, {rec.Resync, "found by a resynchronisation dump"},
		{rec.Inferred, "inferred: the kernel sends no deletion for it"}, {rec.Initial, "in the initial dump"},
		{rec.Polled, "found by polling the route cache"}} {
		if n.on {
			notes = append(notes, n.what)
		}
	}
	if rec.Line > 0 {
		notes = append(notes, fmt.Sprintf("line %d", rec.Line))
	}
	e.Reason = strings.Join(notes, "; ")
	switch rec.Kind {
	case trace.KindRoute:
		e.Label, e.Text = trace.LabelRoute, rec.Route.String()
		if rec.Route.Cloned {
			e.Label = trace.LabelCache
		}
		if rec.Replace {
			e.Op = trace.OpReplace
		}
		e.Object = routeLane(rec.Route)
		e.State = r.routeState(e.Object, rec)
	case trace.KindNeigh:
		e.Label, e.Text, e.Op = trace.LabelNeigh, rec.Neigh.String(), trace.OpReplace
		if rec.Action == trace.ActionDel {
			e.Op = trace.OpDel
		}
		e.Object = neighLane(rec.Neigh.Addr, rec.Neigh.Dev)
		e.State = "none"
		if rec.Action != trace.ActionDel {
			e.State = rec.Neigh.State.String()
			if rec.Neigh.LLAddr.IsValid() {
				e.State += " " + rec.Neigh.LLAddr.String()
			}
		}
	case trace.KindLink:
		e.Label, e.Text = trace.LabelNote, "link "+rec.Link.String()
		e.Object = "link " + rec.Link.Name
		e.State = "down"
		if rec.Link.Up && rec.Action != trace.ActionDel {
			e.State = "up"
		}
		if rec.Action == trace.ActionDel {
			e.State = "gone"
		}
	case trace.KindAddr:
		e.Label, e.Text = trace.LabelNote, "addr "+rec.Addr.String()
	case trace.KindFrame:
		e.Label, e.Text, e.Op = trace.Label(strings.Trim(trace.FrameLabel(rec.Frame.Op), "[]")), rec.Frame.String(), trace.OpNone
		if n := neighLane(rec.Frame.SenderIP, rec.Frame.Dev); r.lanes[n] {
			e.Related = n
		}
	case trace.KindOverflow:
		e.Label, e.Op, e.Outcome = trace.LabelNote, trace.OpNone, trace.OutcomeLost
		e.Text = "receive overflow (ENOBUFS): events lost"
		if rec.Lost > 0 {
			e.Text = fmt.Sprintf("receive overflow (ENOBUFS): %d events lost", rec.Lost)
		}
	case trace.KindResync:
		e.Label, e.Op = trace.LabelNote, trace.OpNone
		e.Text = fmt.Sprintf("resynchronised: %d differences", rec.Lost)
	default:
		return
	}
	if e.Object != "" {
		r.lanes[e.Object] = true
	}
	r.events = append(r.events, e)
}

// Findings adds what the detectors found after the last record: each at
// its time when it has one, else at the last record's. A critical finding
// is drawn as a loss, a warning as an ignored decision.
func (r *Recording) Findings(fs []watch.Finding) {
	for _, f := range fs {
		e := trace.Event{T: r.lastT, Actor: "watch: " + f.Detector, Label: labelFinding, Op: trace.OpNone,
			Text: f.Severity.String() + " " + f.Detector + ": " + strings.Join(f.Objects, "; ")}
		if !f.Time.IsZero() {
			e.T = r.at(f.Time)
		}
		var why []string
		if f.Evidence != "" {
			why = append(why, "evidence: "+f.Evidence)
		}
		if f.Advice != "" {
			why = append(why, "advice: "+f.Advice)
		}
		e.Reason = strings.Join(why, "\n")
		switch f.Severity {
		case watch.SeverityCritical:
			e.Outcome = trace.OutcomeLost
		case watch.SeverityWarning:
			e.Outcome = trace.OutcomeIgnored
		}
		for _, o := range f.Objects {
			l := r.laneNamed(o)
			switch {
			case l == "" || l == e.Object:
			case e.Object == "":
				e.Object = l
			case e.Related == "":
				e.Related = l
			}
		}
		r.events = append(r.events, e)
	}
}

// Story is what was recorded, in time order (records and findings at
// the same time keep the order they came in).
func (r *Recording) Story() []trace.Event {
	out := slices.Clone(r.events)
	slices.SortStableFunc(out, func(a, b trace.Event) int { return cmp.Compare(a.T, b.T) })
	return out
}

// Report is the recording as a page's report titled title; the
// properties' place holds the findings' count.
func (r *Recording) Report(title string) Report {
	n := 0
	for _, e := range r.events {
		if e.Label == labelFinding {
			n++
		}
	}
	verdict, headline := "holds", "no finding"
	if n > 0 {
		verdict, headline = "violated", fmt.Sprintf("%d finding(s)", n)
	}
	return Report{Title: title, Verdict: verdict, Headline: headline, Match: true,
		Scope:      fmt.Sprintf("%d records and findings", len(r.events)),
		Properties: []Property{{Name: "findings", Kind: "watch", Verdict: verdict, Explanation: headline, Story: r.Story()}}}
}

// at is t in ms since the first timed record (0 for untimed logs).
func (r *Recording) at(t time.Time) int64 {
	if t.IsZero() {
		return r.lastT
	}
	if r.start.IsZero() {
		r.start = t
	}
	ms := t.Sub(r.start).Milliseconds()
	r.lastT = max(r.lastT, ms)
	return ms
}

// source is the actor lane of a record: the stream it came from.
func source(rec trace.Record) string {
	s := "kernel"
	if rec.Kind == trace.KindFrame {
		s = "wire " + rec.Frame.Dev
	}
	if rec.Netns != "" {
		s += " [" + rec.Netns + "]"
	}
	return s
}

func routeLane(rt trace.Route) string {
	kind := "route "
	if rt.Cloned {
		kind = "cache "
	}
	l := kind + rt.Dst.String()
	if rt.Table != trace.TableMain && rt.Table != trace.TableUnspec {
		l += " table " + trace.TableName(rt.Table)
	}
	return l
}

func neighLane(a netip.Addr, dev string) string {
	return "neigh " + a.String() + " dev " + dev
}

// routeState keeps lane's routes as rec leaves them, and says them.
func (r *Recording) routeState(lane string, rec trace.Record) string {
	rs := r.routes[lane]
	same := func(o trace.Route) bool {
		return o.Metric == rec.Route.Metric && o.Type == rec.Route.Type && o.Table == rec.Route.Table
	}
	if i := slices.IndexFunc(rs, same); i >= 0 {
		rs = slices.Delete(rs, i, i+1)
	}
	if rec.Action != trace.ActionDel {
		rs = append(rs, rec.Route)
		slices.SortStableFunc(rs, func(a, b trace.Route) int { return cmp.Compare(a.Metric, b.Metric) })
	}
	r.routes[lane] = rs
	if len(rs) == 0 {
		return "no route"
	}
	parts := make([]string, len(rs))
	for i, rt := range rs {
		parts[i] = rt.String()
	}
	return strings.Join(parts, "; ")
}

// laneNamed finds the lane of an object a finding names in iproute2
// syntax: the cache entry, route or neighbour entry of its first address
// (and device), if the trace has that lane.
func (r *Recording) laneNamed(obj string) string {
	fields := strings.Fields(obj)
	var dst, dev string
	for i, f := range fields {
		if f == "dev" && i+1 < len(fields) {
			dev = fields[i+1]
			break
		}
		if dst != "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			dst = p.String()
		} else if a, err := netip.ParseAddr(f); err == nil {
			dst = netip.PrefixFrom(a, a.BitLen()).String()
		}
	}
	if dst == "" {
		return ""
	}
	cands := []string{"route " + dst}
	if strings.Contains(obj, " cache") {
		cands = []string{"cache " + dst}
	}
	if a, err := netip.ParsePrefix(dst); err == nil && a.IsSingleIP() && dev != "" {
		cands = append(cands, neighLane(a.Addr(), dev))
	}
	for _, c := range cands {
		if r.lanes[c] {
			return c
		}
	}
	return ""
}
