package watch

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// routeKey is a route's identity for the non-atomic detector: the key
// of the kernel's replace, (family, table, prefix, metric)
// (fib6_add_rt2node() for IPv6, fib_table_insert() for IPv4 where the
// TOS, which trace.Route does not carry, is also part of it).
type routeKey struct {
	prefixKey
	metric uint32
}

func keyOf(r trace.Route) routeKey {
	return routeKey{prefixKey{r.Family, r.Table, r.Dst}, r.Metric}
}

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
	key routeKey
	seq uint64
	at  time.Time
}

// sameRoute reports whether a and b are the same route of one FIB node:
// same metric, gateway and device (IPv6 keeps such routes side by side).
func sameRoute(a, b trace.Route) bool {
	return a.Metric == b.Metric && a.Gateway == b.Gateway &&
		devOf(a.Dev, a.Ifindex) == devOf(b.Dev, b.Ifindex)
}

// observeRoute applies a non-cache route record.
func (e *Engine) observeRoute(r trace.Record, out []Finding) []Finding {
	rt := r.Route
	pk := prefixKey{rt.Family, rt.Table, rt.Dst}
	k := keyOf(rt)
	change := !r.Initial && !r.Resync && !r.Polled // a change seen as it happened
	switch r.Action {
	case trace.ActionDel:
		es := e.routes[pk]
		i := slices.IndexFunc(es, func(x routeEntry) bool { return sameRoute(x.route, rt) })
		if i < 0 && rt.Family == 4 {
			i = slices.IndexFunc(es, func(x routeEntry) bool { return x.route.Metric == rt.Metric })
		}
		if i >= 0 {
			es = slices.Delete(es, i, i+1)
		}
		e.setRoutes(pk, es)
		if change && !r.Inferred && !e.retractionDeleted(pk, r) {
			e.noteDelete(k, r, len(es) > 0)
			out = e.linkMarkerSeen(r, out)
		}
		e.pruneClones(rt)
	case trace.ActionNew:
		e.zeroRun = e.zeroRun[:0]
		if change && !e.retractionAdded(pk, r) {
			if f, ok := e.nonAtomic(k, r); ok {
				out = append(out, f)
			}
		}
		e.addRoute(pk, r)
		if change {
			e.pruneClones(rt)
			out = e.linkMarkerSeen(r, out)
		}
	}
	return e.checkCovered(rt, r.Time, out)
}

// addRoute puts a route into its FIB node as the kernel would: an IPv4
// route replaces the one with its key; an IPv6 route replaces one with
// the same metric, gateway and device, or all of its metric on
// NLM_F_REPLACE, and otherwise joins them (fib6_add_rt2node()).
func (e *Engine) addRoute(pk prefixKey, r trace.Record) {
	rt := r.Route
	entry := routeEntry{route: rt, since: r.Time}
	es := e.routes[pk]
	switch {
	case rt.Family == 4 || r.Replace:
		es = slices.DeleteFunc(es, func(x routeEntry) bool { return x.route.Metric == rt.Metric })
	default:
		if i := slices.IndexFunc(es, func(x routeEntry) bool { return sameRoute(x.route, rt) }); i >= 0 {
			entry.since = es[i].since
			es[i] = entry
			return
		}
	}
	e.setRoutes(pk, append(es, entry))
}

// noteDelete remembers a delete for the non-atomic detector.
func (e *Engine) noteDelete(k routeKey, r trace.Record, others bool) {
	d := &deletion{key: k, seq: e.routeSeq, at: r.Time, line: r.Line, route: r.Route, others: others}
	if st := e.links[routeDev(r.Route)]; st != nil && st.down {
		d.link = routeDev(r.Route)
		st.removed = append(st.removed, r.Route)
	}
	if r.Time.IsZero() {
		e.zeroDel = d
		if len(e.zeroRun) < maxZeroRun {
			e.zeroRun = append(e.zeroRun, d)
		}
		return
	}
	e.dels[k] = d
	e.delQueue = append(e.delQueue, queuedDel{k, d.seq, d.at})
}

// maxZeroRun bounds the run of deletes kept for a trace without times.
const maxZeroRun = 256

// nonAtomic checks an add against a recent delete of the same key. A
// delete the kernel made because the route's link went down is no
// writer's change (the link's kernel-route-churn finding tells of it);
// the kernel's own routes deleted and re-added give an info finding of
// their own; a change through a retraction gives one finding for its
// four steps (retraction.go).
func (e *Engine) nonAtomic(k routeKey, r trace.Record) (Finding, bool) {
	var d *deletion
	gap := "an unknown time"
	switch {
	case r.Time.IsZero():
		// No times: only a delete immediately followed by the add (no
		// route event between them) counts.
		if e.zeroDel == nil || e.zeroDel.key != k || e.zeroDel.seq != e.routeSeq-1 {
			return Finding{}, false
		}
		d = e.zeroDel
		e.zeroDel = nil
		gap = "an unknown time (the trace has no timestamps; the add was the next route event)"
	default:
		var ok bool
		d, ok = e.dels[k]
		if !ok {
			return Finding{}, false
		}
		g := r.Time.Sub(d.lastStep())
		if g < 0 || g > e.cfg.NonAtomicWindow {
			return Finding{}, false
		}
		delete(e.dels, k)
		gap = fmtGap(g)
	}
	switch {
	case d.link != "":
		return Finding{}, false
	case d.retr != nil:
		return e.retractionFinding(d, r), true
	case kernelOwned(d.route) && kernelOwned(r.Route):
		return e.kernelRouteChurn(d, r, gap), true
	}
	old, added := d.route, r.Route
	writer := writerOf(added)
	ev := fmt.Sprintf("%s deleted `%s` at %s and added `%s` %s later",
		writer, routeObject(old), fmtTime(d.at), routeObject(added), gap)
	if !r.Time.IsZero() {
		ev = fmt.Sprintf("%s deleted `%s` at %s and added `%s` at %s, %s later",
			writer, routeObject(old), fmtTime(d.at), routeObject(added), fmtTime(r.Time), gap)
	}
	ev += "; " + e.duringGap(d, "the gap")
	advice := "Make the change one RTM_NEWROUTE with NLM_F_REPLACE where the kernel's replace is correct " +
		"(IPv4 always; IPv6 from 5.6, or on older kernels when the new route has a gateway like the old: before 5.6 replacing a gateway route by a device-only or unreachable one adds a second route; see docs/kernel-notes.md)."
	if k.family == 6 && e.kernel.ClonesOnLookup() {
		advice += " On kernels before 4.2 a lookup during the gap can clone the fall-through route into a cache entry that outlives the change (replace narrows that window to the lookup's allocate-and-insert gap but does not close it): check `ip -6 route show cache` for " + k.dst.String() + "."
	}
	return Finding{
		Detector: DetectorNonAtomic,
		Severity: SeverityWarning,
		Time:     r.Time,
		Objects:  []string{routeObject(old), routeObject(added)},
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
func (e *Engine) duringGap(d *deletion, gap string) string {
	k := d.key
	if d.others {
		return fmt.Sprintf("other routes for %s stayed in the table during %s", k.dst, gap)
	}
	if k.dst.Bits() == 0 {
		return defaultGap(k, gap)
	}
	if fallback, _ := e.lookup(k.family, k.table, k.dst.Addr(), k.dst.Bits()-1); len(fallback) > 0 {
		return fmt.Sprintf("during %s the table had no route for %s and lookups fell through to `%s`", gap, k.dst, routeObject(fallback[0].route))
	}
	return fmt.Sprintf("during %s the table had no route for %s and lookups fell through to a less specific route (none in this trace; with none at all packets were dropped as unreachable)", gap, k.dst)
}

// defaultGap says what a lookup met while table k.table had no default
// route. fib6_rule_action() (net/ipv6/fib6_rules.c) and the IPv4 rules
// (fib_rules_lookup(), net/core/fib_rules.c) go on to the next rule when
// a table has no route for the destination (-EAGAIN); with no rule left
// the lookup fails with -ENETUNREACH.
func defaultGap(k routeKey, gap string) string {
	rest := "no rule follows main"
	if k.family == 4 {
		rest = "only table default follows main, usually empty"
	}
	ev := fmt.Sprintf("during %s table %s had no default route, and nothing is less specific than a default route: a lookup that no more specific route of table %s matched found no route there and went on to the next routing rule; ",
		gap, trace.TableName(k.table), trace.TableName(k.table))
	if k.table == trace.TableMain {
		return ev + fmt.Sprintf("with the default rules (%s) it found none and failed, so packets were dropped as unreachable (ENETUNREACH, \"Network is unreachable\")", rest)
	}
	return ev + "with the default rules that is table main: packets went by a route of main if one matched, else they were dropped as unreachable (ENETUNREACH, \"Network is unreachable\")"
}

// lookup returns the best routes for addr among prefixes of at most
// maxBits bits in a table: the longest prefix holding routes, and of its
// routes those of the lowest metric (fib6_lookup() then rt6_select()).
func (e *Engine) lookup(family int, table uint32, addr netip.Addr, maxBits int) ([]routeEntry, bool) {
	lens := e.lens[tableKey{family, table}]
	if lens == nil {
		return nil, false
	}
	for bits := min(maxBits, addr.BitLen()); bits >= 0; bits-- {
		if lens[bits] == 0 {
			continue
		}
		p, err := addr.Prefix(bits)
		if err != nil {
			return nil, false
		}
		es := e.routes[prefixKey{family, table, p}]
		if len(es) == 0 {
			continue
		}
		best := es[0].route.Metric
		for _, x := range es[1:] {
			best = min(best, x.route.Metric)
		}
		var out []routeEntry
		for _, x := range es {
			if x.route.Metric == best {
				out = append(out, x)
			}
		}
		return out, true
	}
	return nil, false
}

// pruneClones drops the cache entries the kernel removes when a route of
// prefix changed.Dst is added or deleted. IPv6 (before 4.2): fib6_add()
// and fib6_del() call fib6_prune_clones() on the route's node, a walk
// with prune set that removes every RTF_CACHE entry below the node but
// does not descend below a nearer node that holds routes of its own
// (fib6_walk_continue(), net/ipv6/ip6_fib.c). IPv4: any change flushes
// the whole route cache (rt_cache_flush() from fib_table_insert() and
// fib_table_delete()).
func (e *Engine) pruneClones(changed trace.Route) {
	if len(e.cache) == 0 {
		return
	}
	for k, c := range e.cache {
		cr := c.rec.Route
		if cr.Family != changed.Family {
			continue
		}
		if changed.Family == 4 {
			delete(e.cache, k)
			continue
		}
		if cr.Table != changed.Table || !covers(changed.Dst, cr.Dst) {
			continue
		}
		if near, ok := e.lookup(cr.Family, cr.Table, cr.Dst.Addr(), cr.Dst.Bits()-1); ok && near[0].route.Dst.Bits() > changed.Dst.Bits() {
			continue // a nearer node with routes stops the walk
		}
		delete(e.cache, k)
	}
}

// covers reports whether prefix p contains every address of q.
func covers(p, q netip.Prefix) bool {
	return p.Bits() <= q.Bits() && p.Contains(q.Addr())
}

// observeCache applies a route-cache record and checks a new entry
// against the route covering it.
func (e *Engine) observeCache(r trace.Record, out []Finding) []Finding {
	rt := r.Route
	k := prefixKey{rt.Family, rt.Table, rt.Dst}
	if r.Action == trace.ActionDel {
		delete(e.cache, k)
		return out
	}
	c := &cacheEntry{rec: r}
	if old, ok := e.cache[k]; ok && sameCache(old.rec.Route, rt) {
		c.reported = old.reported
	}
	e.cache[k] = c
	if f, ok := e.checkCache(c, r.Time); ok {
		out = append(out, f)
	}
	return out
}

func sameCache(a, b trace.Route) bool {
	return a.Type == b.Type && a.Gateway == b.Gateway && devOf(a.Dev, a.Ifindex) == devOf(b.Dev, b.Ifindex) && a.Error == b.Error
}

// checkCovered re-checks the cache entries under a changed prefix.
func (e *Engine) checkCovered(changed trace.Route, at time.Time, out []Finding) []Finding {
	if len(e.cache) == 0 {
		return out
	}
	var hit []*cacheEntry
	for _, c := range e.cache {
		cr := c.rec.Route
		if cr.Family == changed.Family && cr.Table == changed.Table && covers(changed.Dst, cr.Dst) {
			hit = append(hit, c)
		}
	}
	slices.SortFunc(hit, func(a, b *cacheEntry) int { return compareRoutes(a.rec.Route, b.rec.Route) })
	for _, c := range hit {
		if f, ok := e.checkCache(c, at); ok {
			out = append(out, f)
		}
	}
	return out
}

// routeClass groups route types by what a packet meets: forwarding
// (unicast), local delivery, or a reject.
func routeClass(t kernel.RouteType) kernel.RouteType {
	if t == 0 {
		return kernel.RouteUnicast
	}
	return t
}

func isReject(t kernel.RouteType) bool {
	switch t {
	case kernel.RouteUnreachable, kernel.RouteBlackhole, kernel.RouteProhibit, kernel.RouteThrow:
		return true
	}
	return false
}

// agrees reports whether cache entry c is what a lookup through route r
// would produce: same type and, for forwarding routes, the same gateway
// (a clone of a device route may carry its destination as gateway) and
// device.
func agrees(c, r trace.Route) bool {
	if routeClass(c.Type) != routeClass(r.Type) {
		return false
	}
	if isReject(routeClass(c.Type)) {
		return true
	}
	switch {
	case r.Gateway.IsValid() && c.Gateway != r.Gateway:
		return false
	case !r.Gateway.IsValid() && c.Gateway.IsValid() && c.Gateway != c.Dst.Addr():
		return false
	}
	cd, rd := devOf(c.Dev, c.Ifindex), devOf(r.Dev, r.Ifindex)
	return cd == "" || rd == "" || cd == rd
}

// checkCache compares a cache entry with the route covering its
// destination; a contradiction is reported once per covering route.
func (e *Engine) checkCache(c *cacheEntry, at time.Time) (Finding, bool) {
	cr := c.rec.Route
	cover, ok := e.lookup(cr.Family, cr.Table, cr.Dst.Addr(), cr.Dst.Addr().BitLen())
	if !ok {
		c.reported = ""
		return Finding{}, false // nothing known covers it: cannot judge
	}
	for _, x := range cover {
		if agrees(cr, x.route) {
			c.reported = ""
			return Finding{}, false
		}
	}
	var names []string
	for _, x := range cover {
		names = append(names, routeObject(x.route))
	}
	key := strings.Join(names, " | ")
	if c.reported == key {
		return Finding{}, false
	}
	c.reported = key
	best := cover[0]
	dst := cr.Dst.Addr()
	var effect string
	switch {
	case isReject(routeClass(cr.Type)):
		effect = fmt.Sprintf("every packet to %s is dropped", dst)
		if cr.Error != 0 {
			effect += " with error " + cr.Error.String()
		}
	case isReject(routeClass(best.route.Type)):
		effect = fmt.Sprintf("packets to %s are forwarded although the route says %s", dst, best.route.Type.String())
	default:
		effect = fmt.Sprintf("every packet to %s goes %s instead of %s", dst, nextHop(cr), nextHop(best.route))
	}
	ev := fmt.Sprintf("cache entry `%s` contradicts `%s`: %s", routeObject(cr), key, effect)
	if !c.rec.Time.IsZero() {
		ev += fmt.Sprintf("; the entry appeared at %s", fmtTime(c.rec.Time))
		if !best.since.IsZero() {
			if d := c.rec.Time.Sub(best.since); d >= 0 {
				ev += fmt.Sprintf(", %s after the route was installed at %s", fmtGap(d), fmtTime(best.since))
			} else {
				ev += fmt.Sprintf(", and the route was installed %s later at %s", fmtGap(-d), fmtTime(best.since))
			}
		}
	}
	ev += "; the kernel uses the cache entry first and every use refreshes it, so it stays until the route to " +
		best.route.Dst.String() + " changes again or the entry is deleted"
	advice := "Delete this cache entry alone (`raceroute watch --heal`), or flush the cache (`ip -" +
		fmt.Sprint(cr.Family) + " route flush cache`, every cached entry is re-created on demand). "
	if cr.Family == 6 && e.kernel.ClonesOnLookup() {
		advice += "The cause is a route changed as delete then add while traffic flowed, on a kernel before 4.2 that clones the route a lookup finds: " +
			"make the writer change routes atomically with NLM_F_REPLACE (before 4.2 this narrows the window to the lookup's allocate-and-insert gap but does not close it) or move to Linux 4.2 or later."
	} else {
		advice += "On this kernel cache entries come from PMTU updates and redirects: look for a redirect or PMTU exception that outlived the change of its route."
	}
	rec := c.rec
	return Finding{
		Detector: DetectorCache,
		Severity: SeverityCritical,
		Time:     at,
		Objects:  []string{routeObject(cr), names[0]},
		Evidence: ev,
		Advice:   advice,
		Heal:     &rec,
	}, true
}

// nextHop says where a route sends packets: "via GW dev DEV" or "dev DEV".
func nextHop(r trace.Route) string {
	var b bytes.Buffer
	if r.Gateway.IsValid() {
		fmt.Fprintf(&b, "via %s ", r.Gateway)
	}
	if d := devOf(r.Dev, r.Ifindex); d != "" {
		fmt.Fprintf(&b, "dev %s", d)
	}
	return strings.TrimSpace(b.String())
}
