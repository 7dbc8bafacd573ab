package timeline

import (
	"sort"
	"strings"

	"raceroute/kernel"
	"raceroute/trace"
)

// Layout at zoom 1, in CSS pixels.
const (
	// stepWidth separates the events of an untimed story (the models'
	// fib6 stories: every step is atomic, time does not pass).
	stepWidth = 120
	// minGap is the least space between two events of a timed story:
	// events closer in time than that are pushed apart, so that every
	// event can be told from its neighbours; longer gaps keep their
	// length at timedScale.
	minGap = 16
	// timedWidth is what a timed story's duration spans at zoom 1,
	// before events are pushed apart.
	timedWidth = 1600
	// margin is left before the first event; tail after the last, for
	// the objects' final states.
	margin = 40
	tail   = 180
)

// Lane kinds.
const (
	laneActor   = "actor"
	laneObject  = "object"
	laneFinding = "finding"
)

// lane is one row of the timeline.
type lane struct {
	name string
	kind string
}

// placed is an event at its x position, with the lanes it is drawn on
// (obj and rel are -1 when none).
type placed struct {
	e              trace.Event
	x              float64
	lane, obj, rel int
}

// span is a window drawn on a lane from x0 to x1 (t0, t1 its times in
// ms, in timed stories). open: no event closed it before the story
// ended; cut: a later window of the same name on the same lane replaced
// it before its end (a moving window).
type span struct {
	lane      int
	name      string
	x0, x1    float64
	t0, t1    int64
	open, cut bool
}

// band is an object's state from x0 to x1; class colours it.
type band struct {
	lane   int
	x0, x1 float64
	text   string
	class  string
}

// drawing is a story laid out at zoom 1.
type drawing struct {
	timed   bool
	width   float64
	lanes   []lane
	events  []placed
	windows []span
	bands   []band
}

// layout places a story's events: one lane per actor (in order of first
// appearance), then one per kernel object; x by time, or by step when no
// event has a time (all T equal).
func layout(events []trace.Event) drawing {
	d := drawing{}
	laneOf := map[string]int{}
	add := func(name, kind string) int {
		key := kind + "\x00" + name
		if i, ok := laneOf[key]; ok {
			return i
		}
		laneOf[key] = len(d.lanes)
		d.lanes = append(d.lanes, lane{name: name, kind: kind})
		return len(d.lanes) - 1
	}
	for _, e := range events {
		kind := laneActor
		if e.Label == labelFinding {
			kind = laneFinding
		}
		add(e.Actor, kind)
	}
	for _, e := range events {
		if e.Object != "" {
			add(e.Object, laneObject)
		}
		if e.Related != "" {
			add(e.Related, laneObject)
		}
	}
	for i := 1; i < len(events) && !d.timed; i++ {
		d.timed = events[i].T != events[0].T
	}
	scale := 0.0
	if d.timed {
		lo, hi := events[0].T, events[0].T
		for _, e := range events {
			lo, hi = min(lo, e.T), max(hi, e.T)
		}
		scale = timedWidth / float64(max(hi-lo, 1))
	}
	x := float64(margin)
	for i, e := range events {
		if i > 0 {
			if d.timed {
				x += max(minGap, scale*float64(e.T-events[i-1].T))
			} else {
				x += stepWidth
			}
		}
		kind := laneActor
		if e.Label == labelFinding {
			kind = laneFinding
		}
		p := placed{e: e, x: x, lane: laneOf[kind+"\x00"+e.Actor], obj: -1, rel: -1}
		if e.Object != "" {
			p.obj = laneOf[laneObject+"\x00"+e.Object]
		}
		if e.Related != "" {
			p.rel = laneOf[laneObject+"\x00"+e.Related]
		}
		d.events = append(d.events, p)
	}
	d.width = x + tail
	if len(events) == 0 {
		d.width = margin + tail
	}
	xt := timeAxis{events: d.events, scale: scale}
	d.windows = windows(d.events, xt, d.width)
	d.bands = bands(d.events, d.width)
	return d
}

// timeAxis maps a time to x on a timed story's axis, where the events
// are the anchors: between two events, linearly; at an event's time, the
// first event at that time; before the first and after the last, at the
// story's scale.
type timeAxis struct {
	events []placed
	scale  float64
}

func (a timeAxis) x(t int64) float64 {
	ev := a.events
	i := sort.Search(len(ev), func(i int) bool { return ev[i].e.T >= t })
	switch {
	case i == len(ev):
		last := ev[len(ev)-1]
		return last.x + a.scale*float64(t-last.e.T)
	case ev[i].e.T == t:
		return ev[i].x
	case i == 0:
		return ev[0].x - a.scale*float64(ev[0].e.T-t)
	}
	prev, next := ev[i-1], ev[i]
	return prev.x + (next.x-prev.x)*float64(t-prev.e.T)/float64(next.e.T-prev.e.T)
}

// windows pairs the windows the events open and close on their actors'
// lanes, and lays out the spans they state on their objects' lanes: a
// span ends where the next one of the same name on the same object
// starts, if that is not later than its end (the window moved).
func windows(events []placed, axis timeAxis, width float64) []span {
	var out []span
	type key struct {
		lane int
		name string
	}
	opened := map[key]int{} // -> index into events
	var openOrder []key
	stated := map[key][]trace.Window{}
	var statedOrder []key
	for i, p := range events {
		w := p.e.Window
		switch w.Edge {
		case trace.WindowOpen:
			k := key{p.lane, w.Name}
			if _, ok := opened[k]; !ok {
				openOrder = append(openOrder, k)
			}
			opened[k] = i
		case trace.WindowClose:
			k := key{p.lane, w.Name}
			if j, ok := opened[k]; ok && j >= 0 {
				out = append(out, span{lane: p.lane, name: w.Name, x0: events[j].x, x1: p.x, t0: events[j].e.T, t1: p.e.T})
				opened[k] = -1
			}
		case trace.WindowSpan:
			if p.obj < 0 || w.Len <= 0 {
				continue
			}
			k := key{p.obj, w.Name}
			ws := stated[k]
			if len(ws) > 0 && ws[len(ws)-1].Start == w.Start {
				continue
			}
			if ws == nil {
				statedOrder = append(statedOrder, k)
			}
			stated[k] = append(ws, w)
		}
	}
	for _, k := range openOrder {
		if j := opened[k]; j >= 0 {
			out = append(out, span{lane: k.lane, name: k.name, x0: events[j].x, x1: width - tail/2, t0: events[j].e.T, t1: -1, open: true})
		}
	}
	for _, k := range statedOrder {
		ws := stated[k]
		for i, w := range ws {
			s := span{lane: k.lane, name: k.name, t0: w.Start, t1: w.Start + w.Len}
			// The window is closed at its end: time_after() is strict.
			if i+1 < len(ws) && ws[i+1].Start > w.Start && ws[i+1].Start <= s.t1 {
				s.t1, s.cut = ws[i+1].Start, true
			}
			s.x0, s.x1 = axis.x(s.t0), axis.x(s.t1)
			if s.x0 < 0 {
				s.x0 = 0
			}
			if s.x1 > width {
				s.x1, s.open = width, true
			}
			if s.x1 > s.x0 {
				out = append(out, s)
			}
		}
	}
	return out
}

// bands lays out each object's states along its lane: a band from each
// event whose State differs from the one before to the next such event.
func bands(events []placed, width float64) []band {
	var out []band
	last := map[int]int{} // lane -> index into out
	for _, p := range events {
		if p.obj < 0 || p.e.State == "" {
			continue
		}
		if i, ok := last[p.obj]; ok {
			if out[i].text == p.e.State {
				continue
			}
			out[i].x1 = p.x
		}
		last[p.obj] = len(out)
		out = append(out, band{lane: p.obj, x0: p.x, x1: width, text: p.e.State, class: stateClass(p.e.State)})
	}
	return out
}

// stateClass colours a state band: a neighbour entry's NUD state (the
// first word of its State), an empty FIB node, a node whose first route
// rejects, or routes.
func stateClass(state string) string {
	first, _, _ := strings.Cut(state, " ")
	if n, ok := kernel.ParseNUD(first); ok {
		return "nud-" + strings.ToLower(n.String())
	}
	switch first {
	case "none":
		return "nud-none"
	case "no":
		if state == "no route" {
			return "empty"
		}
	case "unreachable", "prohibit", "blackhole", "throw":
		return "reject"
	}
	return "routes"
}
