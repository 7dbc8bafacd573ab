package watch

import (
	"time"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/neigh"
	"raceroute/watch/overflow"
	"raceroute/watch/view"
)

// Config tunes the detectors.
type Config struct {
	// NonAtomicWindow is the longest gap between a route's delete and its
	// re-add that counts as one non-atomic change (default 50 ms).
	NonAtomicWindow time.Duration
	// GARPMargin is waited beyond Locktime before concluding that a
	// gratuitous ARP was ignored (default 500 ms); it is also the grace
	// for a frame to show up after the neighbour change it caused.
	GARPMargin time.Duration
	// Locktime is the watched host's neighbour locktime (default 1 s,
	// net.ipv4.neigh.DEV.locktime).
	Locktime time.Duration
	// KernelRelease is `uname -r` of the watched host, for the likely
	// reason of an ignored gratuitous ARP ("" when unknown).
	KernelRelease string
	// FrameWindow is how long before a neighbour's MAC change an ARP or NA
	// frame announcing the new MAC may have been seen for the change to
	// count as announced (default 1 s).
	FrameWindow time.Duration
	// NeighTimers gives the watched host's neighbour timer sysctls per
	// device, for how long an entry may stay in a transient state (nil:
	// the kernel's defaults).
	NeighTimers neigh.TimerSource
	// Live is set when the records come from a live host: time-based
	// checks then conclude on the clock; in a replay, only on the
	// recording's own times where waiting longer would make a finding
	// (an entry stuck in a state).
	Live bool
}

// DefaultConfig returns the defaults: 50 ms non-atomic window, 1 s
// locktime, 500 ms margin, 1 s frame window, unknown kernel.
func DefaultConfig() Config {
	return Config{
		NonAtomicWindow: 50 * time.Millisecond,
		GARPMargin:      500 * time.Millisecond,
		Locktime:        time.Second,
		FrameWindow:     time.Second,
	}
}

// horizon is how long after its last record a recording must be taken
// to go on for every time-based check to conclude: a gratuitous ARP's
// locktime and margin, a delete's window. A detector that waits longer
// adds its wait here.
func (c Config) horizon() time.Duration {
	return c.Locktime + c.GARPMargin + c.NonAtomicWindow + time.Nanosecond
}

// Detector is what an Engine runs over the records it observes: one
// detector, or a group of detectors of one subject (packages
// routechange, neigh, overflow). A new detector is a type with these
// methods and one entry in newDetectors (detectors.go).
type Detector interface {
	// Kinds lists the findings it reports (their Finding.Detector), and
	// for each how lost events could make it wrong.
	Kinds() []finding.Kind
	// Observe looks at a record the view has just applied (ch: what else
	// the record did to the view) and appends its findings to out. It
	// must not keep r or ch.
	Observe(r *trace.Record, ch *view.Change, out []Finding) []Finding
	// Expire appends the conclusions of its time-based checks due
	// before now.
	Expire(now time.Time, out []Finding) []Finding
}

// Engine keeps the view of routes, route-cache entries, neighbours and
// links built from the records it observes, and runs the detectors over
// them. It is not safe for concurrent use.
type Engine struct {
	cfg       Config
	view      *view.View
	detectors []Detector
	stale     *overflow.Detector // among detectors: cautions what the others find after an overflow
	rec       trace.Record       // the record being observed, for the detectors
	last      time.Time          // the latest record time seen
}

// NewEngine returns an engine with an empty view. Zero fields of cfg
// take their DefaultConfig values.
func NewEngine(cfg Config) *Engine {
	def := DefaultConfig()
	if cfg.NonAtomicWindow <= 0 {
		cfg.NonAtomicWindow = def.NonAtomicWindow
	}
	if cfg.GARPMargin <= 0 {
		cfg.GARPMargin = def.GARPMargin
	}
	if cfg.Locktime <= 0 {
		cfg.Locktime = def.Locktime
	}
	if cfg.FrameWindow <= 0 {
		cfg.FrameWindow = def.FrameWindow
	}
	e := &Engine{cfg: cfg, view: view.New()}
	e.detectors, e.stale = newDetectors(cfg, e.view)
	return e
}

// Observe applies one record to the view and returns what the detectors
// found, including time-based conclusions due before the record's time.
// Feed every record, in order.
func (e *Engine) Observe(r trace.Record) []Finding {
	var out []Finding
	if !r.Time.IsZero() {
		out = e.expire(r.Time, out)
		if r.Time.After(e.last) {
			e.last = r.Time
		}
	}
	e.stale.Caveat(out)
	n := len(out)
	e.rec = r
	ch := e.view.Apply(&e.rec)
	for _, d := range e.detectors {
		out = d.Observe(&e.rec, ch, out)
	}
	e.stale.Caveat(out[n:])
	return out
}

// Tick concludes the time-based detectors whose deadline is before now.
// Call it periodically when watching live.
func (e *Engine) Tick(now time.Time) []Finding {
	out := e.expire(now, nil)
	e.stale.Caveat(out)
	return out
}

// Finish ends a replay at end: it concludes the time-based detectors as
// Tick(end) does (end zero: a trace without times, nothing to conclude)
// and, if events were lost and the tables were never dumped again (ip
// monitor never does), adds a finding naming the conclusions that may
// be wrong.
func (e *Engine) Finish(end time.Time) []Finding {
	var out []Finding
	if !end.IsZero() {
		out = e.Tick(end)
	}
	if f, ok := e.stale.Finish(); ok {
		out = append(out, f)
	}
	return out
}

// Flush ends a replay as if the recording had gone on long enough after
// its last record for every pending check to conclude: Finish at that
// time.
func (e *Engine) Flush() []Finding {
	var end time.Time
	if !e.last.IsZero() {
		end = e.last.Add(e.cfg.horizon())
	}
	return e.Finish(end)
}

// Routes returns the view's routes, route-cache entries (Cloned)
// included, sorted by family, table, destination, metric, cache flag,
// gateway and device.
func (e *Engine) Routes() []trace.Route { return e.view.Routes() }

// RoutesOn returns the view's routes, route-cache entries excepted,
// whose Ifindex is ifindex, or all of them for ifindex 0, in no
// particular order: what a subscription that leaves the routes to its
// consumer asks for (monitor.RouteKeeper).
func (e *Engine) RoutesOn(ifindex int) []trace.Route { return e.view.RoutesOn(ifindex) }

// Neighs returns the view's neighbour entries sorted by device and
// address.
func (e *Engine) Neighs() []trace.Neigh { return e.view.Neighs() }

// expire concludes the time-based detectors due before now.
func (e *Engine) expire(now time.Time, out []Finding) []Finding {
	for _, d := range e.detectors {
		out = d.Expire(now, out)
	}
	return out
}
