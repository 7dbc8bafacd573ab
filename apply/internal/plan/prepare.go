package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"raceroute/apply/internal/mem"
	"raceroute/apply/internal/state"
	"raceroute/apply/route"
)

// Prepared is the part of a plan's validation that needs no kernel
// state: the desired routes normalised and checked (syntax, owned
// tables), with their keys, and for a large file the plan's memory,
// mapped. The writer prepares it while the kernel's tables are still
// being read (Writer.Prefetch), and Compute does it when not given one.
type Prepared struct {
	desired []route.Route
	owned   map[uint32]bool
	want    []route.Route
	keys    []state.Key
	// bad marks the routes with a problem found so far, msgs says what
	// it is (by index: a file's problems are few, its routes many).
	bad  []bool
	msgs map[int]string
	mu   sync.Mutex // for msgs, while Prepare's chunks run
	// specs are what the nexthop object of each route would hold, ""
	// for a route that can use none (canUseObject): the routes of a
	// plan with nexthop objects share one for each spec.
	specs []state.Spec
	// bufs are the plan's slices of a route each, made here for a large
	// file (nil otherwise) and taken by the first ComputePrepared.
	bufs *buffers
}

// buffers are the slices of a route each that ComputePrepared fills:
// for 200,000 routes some 40 MB (the changes 27 MB, the expectations
// 11 MB), all of it new memory, whose first write is a page fault that
// maps and clears a page. Prepare makes them and writes a word of each
// page, in its chunks, after the routes: it runs while the writer's
// prefetch is still dumping the tables (Writer.Prefetch), on a CPU the
// dump leaves partly idle, so that the faults are taken there rather
// than by the plan, which runs after the dump and before anything can
// be written (PrepareWhile stops once the dump is done).
type buffers struct {
	changes []Change
	expList []Expected
	held    []*state.Installed
}

// specKey is a single next hop's spec as Prepare caches it: the
// route's family and the hop.
type specKey struct {
	fam int
	h   route.Nexthop
}

// problem notes desired route i's problem (from any chunk).
func (p *Prepared) problem(i int, msg string) {
	p.bad[i] = true
	p.mu.Lock()
	p.msgs[i] = msg
	p.mu.Unlock()
}

// touchStep is how many routes' buffers touchWhile maps between two
// questions to busy (some 400 KB).
const touchStep = 2048

// touchWhile maps the pages of b's elements lo to hi, touchStep routes
// at a time, while busy (if not nil) says so.
func touchWhile(b *buffers, lo, hi int, busy func() bool) {
	for i := lo; i < hi; i += touchStep {
		if busy != nil && !busy() {
			return
		}
		j := min(i+touchStep, hi)
		mem.Touch(b.changes, i, j)
		mem.Touch(b.expList, i, j)
		mem.Touch(b.held, i, j)
	}
}

// newBuffers makes the buffers of a plan of n desired routes.
func newBuffers(n int) *buffers {
	return &buffers{changes: make([]Change, n), expList: make([]Expected, n, n+16), held: make([]*state.Installed, n)}
}

// prefaultMin is the fewest routes Prepare makes the plan's buffers
// for: below it the faults are a few milliseconds at most.
const prefaultMin = 2 * chunkMin

// take returns the buffers for ComputePrepared (nil when there are
// none), once: a second plan of the same Prepared makes its own.
func (p *Prepared) take() *buffers {
	b := p.bufs
	p.bufs = nil
	return b
}

// Prepare normalises and checks the desired routes for a writer owning
// the tables owned (Config.Owned).
func Prepare(desired []route.Route, owned map[uint32]bool) *Prepared {
	return PrepareWhile(desired, owned, nil)
}

// PrepareWhile is Prepare that maps the plan's memory (buffers) only
// while busy reports true (nil: throughout): the writer's busy says its
// prefetch is still dumping the tables, so that the mapping takes a CPU
// only while the plan could not start anyway. What is left unmapped the
// plan maps as it fills it, as it would without.
func PrepareWhile(desired []route.Route, owned map[uint32]bool, busy func() bool) *Prepared {
	p := &Prepared{desired: desired, owned: owned, want: make([]route.Route, len(desired)),
		keys: make([]state.Key, len(desired)), bad: make([]bool, len(desired)), msgs: map[int]string{}, specs: make([]state.Spec, len(desired))}
	ownedText := func() string {
		ts := slices.Sorted(maps.Keys(owned))
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = route.TableName(t)
		}
		return strings.Join(names, ", ")
	}
	n := len(desired)
	var b *buffers
	if n >= prefaultMin {
		b = newBuffers(n)
		p.bufs = b
	}
	inChunks(len(desired), func(lo, hi int) {
		if b != nil {
			defer touchWhile(b, lo, hi, busy)
		}
		// The routes of a large file mostly share a few single next
		// hops: one normalised slice for each (read only, as the routes
		// of a plan are), rather than a copy a route.
		oneHop := map[route.Nexthop][]route.Nexthop{}
		var lastHop route.Nexthop // and the one of the route before
		var lastHops []route.Nexthop
		// So do their specs (state.SpecFor formats one).
		specs := map[specKey]state.Spec{}
		var lastSpec struct {
			k  specKey
			s  state.Spec
			ok bool
		}
		for i := lo; i < hi; i++ {
			r := &desired[i]
			var n route.Route
			if len(r.Nexthops) == 1 {
				h := r.Nexthops[0]
				r1 := *r
				r1.Nexthops = nil
				n = r1.Normalise()
				if lastHops == nil || h != lastHop {
					hops, ok := oneHop[h]
					if !ok {
						hops = (&route.Route{Nexthops: r.Nexthops}).Normalise().Nexthops
						oneHop[h] = hops
					}
					lastHop, lastHops = h, hops
				}
				n.Nexthops = lastHops
			} else {
				n = r.Normalise()
			}
			switch msg := n.Check(); {
			case msg != "":
				p.problem(i, msg)
			case !owned[n.Table]:
				p.problem(i, fmt.Sprintf("table %s is not one this writer owns (its tables: %s)", route.TableName(n.Table), ownedText()))
			default:
				p.want[i] = n
				p.keys[i] = state.KeyOf(n.Key())
				switch {
				case !canUseObject(&n):
				case len(n.Nexthops) != 1:
					p.specs[i] = state.SpecFor(n.Family(), n.Nexthops)
				default:
					k := specKey{n.Family(), n.Nexthops[0]}
					if !lastSpec.ok || lastSpec.k != k {
						sp, ok := specs[k]
						if !ok {
							sp = state.SpecFor(k.fam, n.Nexthops)
							specs[k] = sp
						}
						lastSpec.k, lastSpec.s, lastSpec.ok = k, sp, true
					}
					p.specs[i] = lastSpec.s
				}
			}
		}
	})
	return p
}

// chunkMin is the fewest routes a chunk of inChunks gets.
const chunkMin = 16384

// inChunks calls fn on [0, n) cut into chunks, one a CPU, concurrently
// (fn must write only what belongs to its indices); one call for fewer
// than 2*chunkMin.
func inChunks(n int, fn func(lo, hi int)) { mem.Chunks(n, chunkMin, fn) }
