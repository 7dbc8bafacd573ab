package watch

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"raceroute/trace"
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

// prefixKey identifies a FIB node: the routes of one prefix in one table.
type prefixKey struct {
	family int
	table  uint32
	dst    netip.Prefix
}

// routeEntry is a route in the view and when it was installed.
type routeEntry struct {
	route trace.Route
	since time.Time
}

// cacheEntry is a route-cache entry in the view.
type cacheEntry struct {
	rec trace.Record
	// reported is the covering route(s) the entry was last reported as
	// contradicting, so that one contradiction gives one finding.
	reported string
}

// neighKey identifies a neighbour entry: device and address.
type neighKey struct {
	dev  string
	addr netip.Addr
}

// neighEntry is a neighbour entry in the view.
type neighEntry struct {
	n       trace.Neigh
	since   time.Time // when its MAC was last set
	changed time.Time // when the kernel last announced a change of it
}

// Engine keeps the view of routes and neighbours built from the records
// it observes, and runs the detectors over them. It is not safe for
// concurrent use.
type Engine struct {
	cfg    Config
	kernel watchedKernel

	routes map[prefixKey][]routeEntry // non-cache routes, by FIB node
	lens   map[tableKey]*[129]int32   // FIB nodes holding routes, by prefix length
	cache  map[prefixKey]*cacheEntry  // route-cache entries, by destination
	neighs map[neighKey]*neighEntry

	// non-atomic change detection
	dels      map[routeKey]*deletion
	delQueue  []queuedDel             // in time order, for expiry
	zeroDel   *deletion               // the last delete of a trace without times
	zeroRun   []*deletion             // its run: the deletes since the last add
	routeSeq  uint64                  // counts non-cache route records
	retracted map[prefixKey]*deletion // deletes waiting behind their retraction
	links     map[string]*linkState   // links seen going down, by name

	// neighbour and frame detection
	frameDevs    map[string]int           // frames seen, by device
	frames       map[neighKey][]frameSeen // recent frames, by device and sender
	garps        map[garpKey]*garpPending
	garpReported map[neighKey]string // MAC already reported as ignored
	macChecks    []*macCheck
	next         time.Time // earliest deadline of garps and macChecks

	overflow      *trace.Record // the first overflow since the last resync
	overflowAfter time.Time     // the latest time seen before it
	suspect       []string      // findings made since, while the view was stale
	nsuspect      int           // their number (suspect keeps the first few)
	last          time.Time     // the latest record time seen
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
	return &Engine{
		cfg:          cfg,
		kernel:       kernelOf(cfg.KernelRelease),
		routes:       map[prefixKey][]routeEntry{},
		lens:         map[tableKey]*[129]int32{},
		cache:        map[prefixKey]*cacheEntry{},
		neighs:       map[neighKey]*neighEntry{},
		dels:         map[routeKey]*deletion{},
		retracted:    map[prefixKey]*deletion{},
		links:        map[string]*linkState{},
		frameDevs:    map[string]int{},
		frames:       map[neighKey][]frameSeen{},
		garps:        map[garpKey]*garpPending{},
		garpReported: map[neighKey]string{},
	}
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
	out = e.caveat(out)
	n := len(out)
	switch r.Kind {
	case trace.KindRoute:
		if r.Route.Cloned {
			out = e.observeCache(r, out)
		} else {
			e.routeSeq++
			out = e.observeRoute(r, out)
		}
	case trace.KindNeigh:
		out = e.observeNeigh(r, out)
	case trace.KindLink:
		out = e.observeLink(r, out)
	case trace.KindFrame:
		out = e.observeFrame(r, out)
	case trace.KindOverflow:
		out = append(out, e.overflowFinding(r))
	case trace.KindResync:
		if f, ok := e.resyncFinding(r); ok {
			out = append(out, f)
		}
	}
	e.caveat(out[n:])
	return out
}

// Tick concludes the time-based detectors whose deadline is before now.
// Call it periodically when watching live, and at the end of a replay
// with the last record's time plus Locktime + GARPMargin.
func (e *Engine) Tick(now time.Time) []Finding {
	return e.caveat(e.expire(now, nil))
}

// Finish ends a replay: it concludes the time-based detectors as Tick(end)
// does (end zero: a trace without times, nothing to conclude) and, if
// events were lost and the tables were never dumped again (ip monitor
// never does), adds a finding naming the conclusions that may be wrong.
func (e *Engine) Finish(end time.Time) []Finding {
	var out []Finding
	if !end.IsZero() {
		out = e.Tick(end)
	}
	if f, ok := e.unresolvedOverflow(); ok {
		out = append(out, f)
	}
	return out
}

// Routes returns the view's routes, route-cache entries (Cloned)
// included, sorted by family, table, destination, metric, cache flag,
// gateway and device.
func (e *Engine) Routes() []trace.Route {
	var out []trace.Route
	for _, es := range e.routes {
		for _, x := range es {
			out = append(out, x.route)
		}
	}
	for _, c := range e.cache {
		out = append(out, c.rec.Route)
	}
	slices.SortFunc(out, compareRoutes)
	return out
}

func compareRoutes(a, b trace.Route) int {
	if c := cmp.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Dst.Bits(), b.Dst.Bits()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Metric, b.Metric); c != 0 {
		return c
	}
	if a.Cloned != b.Cloned {
		if a.Cloned {
			return 1
		}
		return -1
	}
	if c := a.Gateway.Compare(b.Gateway); c != 0 {
		return c
	}
	return cmp.Compare(devOf(a.Dev, a.Ifindex), devOf(b.Dev, b.Ifindex))
}

// Neighs returns the view's neighbour entries sorted by device and
// address.
func (e *Engine) Neighs() []trace.Neigh {
	out := make([]trace.Neigh, 0, len(e.neighs))
	for _, x := range e.neighs {
		out = append(out, x.n)
	}
	slices.SortFunc(out, func(a, b trace.Neigh) int {
		if c := cmp.Compare(devOf(a.Dev, a.Ifindex), devOf(b.Dev, b.Ifindex)); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// devOf names a device by its name, or by its index when the name is
// unknown ("if7", as iproute2 does).
func devOf(name string, ifindex int) string {
	if name != "" || ifindex == 0 {
		return name
	}
	return fmt.Sprintf("if%d", ifindex)
}

// tableKey names one routing table of one family.
type tableKey struct {
	family int
	table  uint32
}

// setRoutes stores the routes of a FIB node, keeping the count of nodes
// by prefix length that lookup walks.
func (e *Engine) setRoutes(pk prefixKey, es []routeEntry) {
	had := len(e.routes[pk]) > 0
	if len(es) == 0 {
		delete(e.routes, pk)
	} else {
		e.routes[pk] = es
	}
	if had == (len(es) > 0) || !pk.dst.IsValid() {
		return
	}
	tk := tableKey{pk.family, pk.table}
	l := e.lens[tk]
	if l == nil {
		l = new([129]int32)
		e.lens[tk] = l
	}
	if had {
		l[pk.dst.Bits()]--
	} else {
		l[pk.dst.Bits()]++
	}
}

// linkGone drops what the kernel removes with a link without always
// announcing it: its routes, cache entries and neighbour entries.
func (e *Engine) linkGone(l trace.Link) {
	on := func(dev string, ifindex int) bool {
		return dev != "" && dev == l.Name || ifindex != 0 && ifindex == l.Index
	}
	for k, es := range e.routes {
		e.setRoutes(k, slices.DeleteFunc(es, func(x routeEntry) bool { return on(x.route.Dev, x.route.Ifindex) }))
	}
	for k, c := range e.cache {
		if on(c.rec.Route.Dev, c.rec.Route.Ifindex) {
			delete(e.cache, k)
		}
	}
	for k, n := range e.neighs {
		if on(n.n.Dev, n.n.Ifindex) {
			delete(e.neighs, k)
			delete(e.garpReported, k)
		}
	}
}

// expire concludes the time-based detectors due before now.
func (e *Engine) expire(now time.Time, out []Finding) []Finding {
	for len(e.delQueue) > 0 && now.Sub(e.delQueue[0].at) > e.cfg.NonAtomicWindow {
		d := e.delQueue[0]
		e.delQueue = e.delQueue[1:]
		if cur, ok := e.dels[d.key]; ok && cur.seq == d.seq {
			delete(e.dels, d.key)
		}
	}
	if len(e.delQueue) == 0 && cap(e.delQueue) > 1024 {
		e.delQueue = nil // let a storm's backing array go
	}
	if e.next.IsZero() || !now.After(e.next) {
		return out
	}
	out = e.expireGARPs(now, out)
	out = e.expireMACChecks(now, out)
	e.next = time.Time{}
	for _, p := range e.garps {
		e.noteDeadline(p.deadline)
	}
	for _, c := range e.macChecks {
		e.noteDeadline(c.deadline)
	}
	return out
}

// noteDeadline keeps e.next the earliest pending deadline.
func (e *Engine) noteDeadline(t time.Time) {
	if e.next.IsZero() || t.Before(e.next) {
		e.next = t
	}
}
