package routechange

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// observeCache checks a new route-cache entry against the route
// covering it. An entry that replaced one of the same type, gateway,
// device and error is the same entry seen again (a poll): reported once.
func (rc *Detector) observeCache(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	k := view.KeyOf(r.Route)
	if r.Action == trace.ActionDel || ch.PrevCache == nil || !sameCache(ch.PrevCache.Route, r.Route) {
		delete(rc.reported, k)
	}
	if r.Action == trace.ActionDel {
		return out
	}
	c, _ := rc.view.Cache(k)
	if f, ok := rc.checkCache(c, r.Time); ok {
		out = append(out, f)
	}
	return out
}

func sameCache(a, b trace.Route) bool {
	return a.Type == b.Type && a.Gateway == b.Gateway && view.RouteDev(a) == view.RouteDev(b) && a.Error == b.Error
}

// sweepReported forgets the reports of cache entries the view no longer
// has (pruned, or gone with their link): once the reports outnumber the
// entries, some of them must be such.
func (rc *Detector) sweepReported() {
	if len(rc.reported) <= rc.view.CacheLen() {
		return
	}
	for k := range rc.reported {
		if _, ok := rc.view.Cache(k); !ok {
			delete(rc.reported, k)
		}
	}
}

// checkCovered re-checks the cache entries under a changed prefix.
func (rc *Detector) checkCovered(changed trace.Route, at time.Time, out []finding.Finding) []finding.Finding {
	for _, c := range rc.view.CacheUnder(changed) {
		if f, ok := rc.checkCache(c, at); ok {
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
	cd, rd := view.Dev(c.Dev, c.Ifindex), view.Dev(r.Dev, r.Ifindex)
	return cd == "" || rd == "" || cd == rd
}

// checkCache compares a cache entry with the route covering its
// destination; a contradiction is reported once per covering route.
func (rc *Detector) checkCache(c *trace.Record, at time.Time) (finding.Finding, bool) {
	cr := c.Route
	k := view.KeyOf(cr)
	cover, ok := rc.view.Lookup(cr.Family, cr.Table, cr.Dst.Addr(), cr.Dst.Addr().BitLen())
	if !ok {
		delete(rc.reported, k)
		return finding.Finding{}, false // nothing known covers it: cannot judge
	}
	for _, x := range cover {
		if agrees(cr, x.Route) {
			delete(rc.reported, k)
			return finding.Finding{}, false
		}
	}
	var names []string
	for _, x := range cover {
		names = append(names, finding.RouteObject(x.Route))
	}
	key := strings.Join(names, " | ")
	if rc.reported[k] == key {
		return finding.Finding{}, false
	}
	rc.reported[k] = key
	best := cover[0]
	dst := cr.Dst.Addr()
	var effect string
	switch {
	case isReject(routeClass(cr.Type)):
		effect = fmt.Sprintf("every packet to %s is dropped", dst)
		if cr.Error != 0 {
			effect += " with error " + cr.Error.String()
		}
	case isReject(routeClass(best.Route.Type)):
		effect = fmt.Sprintf("packets to %s are forwarded although the route says %s", dst, best.Route.Type.String())
	default:
		effect = fmt.Sprintf("every packet to %s goes %s instead of %s", dst, nextHop(cr), nextHop(best.Route))
	}
	ev := fmt.Sprintf("cache entry `%s` contradicts `%s`: %s", finding.RouteObject(cr), key, effect)
	if !c.Time.IsZero() {
		ev += fmt.Sprintf("; the entry appeared at %s", finding.FmtTime(c.Time))
		if !best.Since.IsZero() {
			if d := c.Time.Sub(best.Since); d >= 0 {
				ev += fmt.Sprintf(", %s after the route was installed at %s", finding.FmtGap(d), finding.FmtTime(best.Since))
			} else {
				ev += fmt.Sprintf(", and the route was installed %s later at %s", finding.FmtGap(-d), finding.FmtTime(best.Since))
			}
		}
	}
	ev += "; the kernel uses the cache entry first and every use refreshes it, so it stays until the route to " +
		best.Route.Dst.String() + " changes again or the entry is deleted"
	advice := "Delete this cache entry alone (`raceroute watch --heal`), or flush the cache (`ip -" +
		fmt.Sprint(cr.Family) + " route flush cache`, every cached entry is re-created on demand). "
	if cr.Family == 6 && rc.cfg.Kernel.ClonesOnLookup() {
		advice += "The cause is a route changed as delete then add while traffic flowed, on a kernel before 4.2 that clones the route a lookup finds: " +
			"make the writer change routes atomically with NLM_F_REPLACE (before 4.2 this narrows the window to the lookup's allocate-and-insert gap but does not close it) or move to Linux 4.2 or later."
	} else {
		advice += "On this kernel cache entries come from PMTU updates and redirects: look for a redirect or PMTU exception that outlived the change of its route."
	}
	rec := *c
	return finding.Finding{
		Detector: Cache,
		Severity: finding.SeverityCritical,
		Time:     at,
		Objects:  []string{finding.RouteObject(cr), names[0]},
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
	if d := view.Dev(r.Dev, r.Ifindex); d != "" {
		fmt.Fprintf(&b, "dev %s", d)
	}
	return strings.TrimSpace(b.String())
}
