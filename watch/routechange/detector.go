// Package routechange names the route changes that leave lookups
// without the route they need, from the records the watch engine
// applies to its view:
//
//   - non-atomic-route-change: a route deleted and added again with the
//     same (family, table, prefix, metric) within Config.Window: for that
//     gap lookups fall through to a less specific route (a default route
//     has none: they find no route), which on kernels before 4.2 can be
//     cloned into a sticky cache entry (seed 000). A change through a
//     retraction (delete, a reject route at a worse metric added,
//     deleted, the route added; babeld's way) is one such change, each
//     gap within the window, however long the retraction stood
//     (retraction.go).
//   - kernel-route-churn (info): routes the kernel removed itself, with a
//     link that went down, or its own (proto kernel) routes going and
//     coming back; never reported as a writer's non-atomic change
//     (churn.go).
//   - cache-contradicts-route: a route-cache entry whose type, gateway or
//     device disagrees with the longest-prefix route covering its
//     destination in the same table; Finding.Heal holds the entry to
//     delete (cache.go).
//   - cache-entry-as-route: a routing daemon's host route for a
//     destination the kernel had as a route-cache entry: the daemon read
//     the entry from a dump and took it for a route (exported.go).
package routechange

import (
	"net/netip"
	"time"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
	"raceroute/watch/watched"
)

// The names of the findings of this package (Finding.Detector).
const (
	NonAtomic   = "non-atomic-route-change"
	KernelChurn = "kernel-route-churn"
	Cache       = "cache-contradicts-route"
)

// lostChange says how lost events can make a change's finding wrong.
const lostChange = "a lost event may belong to this change (an add that closed the gap sooner, or a delete that was not this writer's)"

// Config tunes the detectors.
type Config struct {
	// Window is the longest gap between a route's delete and its re-add
	// that counts as one non-atomic change.
	Window time.Duration
	// Kernel is the watched host's kernel, for advice that depends on it.
	Kernel watched.Kernel
}

// Detector runs the route detectors over the records of one view. It is
// not safe for concurrent use.
type Detector struct {
	cfg  Config
	view *view.View

	// non-atomic change detection
	dels      pendingDels
	delQueue  []queuedDel            // a ring of the pending deletes in time order, for expiry; its length a power of two
	delHead   int                    // the first pending entry of delQueue
	delLen    int                    // the number of pending entries
	free      []*deletion            // deletions expired and referred to by nothing, for reuse
	zeroDel   *deletion              // the last delete of a trace without times
	zeroRun   []*deletion            // its run: the deletes since the last add
	routeSeq  uint64                 // counts non-cache route records
	retracted map[view.Key]*deletion // deletes waiting behind their retraction
	links     map[string]*linkChurn  // links that are down, with what went with them
	reported  map[view.Key]string    // cache entries reported, by what they contradicted

	// cache entries seen, for cache-entry-as-route (exported.go)
	sightings map[netip.Prefix]sighting
	cacheSeq  uint64
}

// New returns the route detectors over v.
func New(v *view.View, cfg Config) *Detector {
	return &Detector{
		cfg:       cfg,
		view:      v,
		dels:      newPendingDels(),
		retracted: map[view.Key]*deletion{},
		links:     map[string]*linkChurn{},
		reported:  map[view.Key]string{},
	}
}

// Kinds lists the findings the detectors report.
func (rc *Detector) Kinds() []finding.Kind {
	return []finding.Kind{
		{Name: NonAtomic, LostMeans: lostChange},
		{Name: KernelChurn, LostMeans: lostChange},
		{Name: Cache, LostMeans: "the covering route may have changed unseen: the entry may agree with the route the kernel really has, or contradict another one"},
		{Name: CacheAsRoute, LostMeans: "a lost event may be the daemon's route for this destination learnt from a peer, not from the kernel's cache entry"},
	}
}

// Observe looks at a record the view has just applied (ch: what else
// it did) and appends its findings to out.
func (rc *Detector) Observe(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	switch r.Kind {
	case trace.KindRoute:
		if r.Route.Cloned {
			rc.noteCache(r)
			return rc.observeCache(r, ch, out)
		}
		rc.routeSeq++
		return rc.observeRoute(r, ch, out)
	case trace.KindLink:
		rc.linkDown(ch)
		if ch.Gone {
			delete(rc.links, ch.Down)
			rc.sweepReported()
		}
		return rc.linkUp(r, ch, out)
	}
	return out
}

// Expire forgets the deletes older than the window at now; no finding
// comes of it.
func (rc *Detector) Expire(now time.Time, out []finding.Finding) []finding.Finding {
	for rc.delLen > 0 {
		q := &rc.delQueue[rc.delHead]
		if now.Sub(q.at) <= rc.cfg.Window {
			break
		}
		id, seq := q.id, q.seq
		rc.delHead = (rc.delHead + 1) & (len(rc.delQueue) - 1)
		rc.delLen--
		if cur, ok := rc.dels.get(id); ok && cur.seq == seq {
			rc.dels.del(id)
			rc.recycle(cur)
		}
	}
	if rc.delLen == 0 && len(rc.delQueue) > 1024 {
		rc.delQueue, rc.delHead = nil, 0 // let a storm's array go
	}
	return out
}

// queueDel appends to the expiry queue, a ring that doubles when full:
// a storm's steady stream of deletes reuses one array the size of the
// deletes of one window.
func (rc *Detector) queueDel(q queuedDel) {
	if rc.delLen == len(rc.delQueue) {
		ring := make([]queuedDel, max(16, 2*len(rc.delQueue)))
		n := copy(ring, rc.delQueue[rc.delHead:])
		copy(ring[n:], rc.delQueue[:rc.delHead])
		rc.delQueue, rc.delHead = ring, 0
	}
	rc.delQueue[(rc.delHead+rc.delLen)&(len(rc.delQueue)-1)] = q
	rc.delLen++
}

// maxFree bounds the deletions kept for reuse.
const maxFree = 1024

// newDeletion returns a zero deletion, a recycled one when there is one:
// a storm deletes thousands of routes a second, and each delete waits in
// rc.dels for the window.
func (rc *Detector) newDeletion() *deletion {
	if n := len(rc.free); n > 0 {
		d := rc.free[n-1]
		rc.free = rc.free[:n-1]
		return d
	}
	return &deletion{}
}

// recycle takes back a deletion just removed from rc.dels by expiry. One
// with a retraction may still be referred to by rc.retracted and is left
// to the collector; one without is referred to by nothing else (the
// expiry queue names deletions by key and sequence, and only deletions
// without times, which never expire, are kept in zeroDel and zeroRun).
func (rc *Detector) recycle(d *deletion) {
	if d.retr != nil || len(rc.free) >= maxFree {
		return
	}
	*d = deletion{}
	rc.free = append(rc.free, d)
}

// observeRoute looks at a non-cache route record.
func (rc *Detector) observeRoute(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	rt := r.Route
	pk := view.KeyOf(rt)
	k := keyOf(rt)
	change := view.IsChange(r)
	switch r.Action {
	case trace.ActionDel:
		if change && !r.Inferred && !rc.retractionDeleted(pk, r) {
			rc.noteDelete(k, r, ch.Left > 0)
		}
		rc.linkDown(ch)
	case trace.ActionNew:
		rc.zeroRun = rc.zeroRun[:0]
		if change && !rc.retractionAdded(pk, r) {
			if f, ok := rc.nonAtomic(k, r); ok {
				out = append(out, f)
			}
		}
		out = rc.linkUp(r, ch, out)
		out = rc.cacheAsRoute(r, out)
	}
	out = rc.checkCovered(rt, r.Time, out)
	rc.sweepReported()
	return out
}
