package routechange

import (
	"fmt"
	"net/netip"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
)

// CacheAsRoute names a route-cache (exception) entry that came back as
// a routing daemon's route: the same host prefix, added by a routing
// protocol after the kernel had it as a cache entry.
const CacheAsRoute = "cache-entry-as-route"

// cacheMemory is how long after it was last seen a cache entry is
// remembered for CacheAsRoute: the kernel keeps a PMTU exception for
// net.ipv6.route.mtu_expires (600 s by default), and a daemon that read
// it from a dump may re-install it as late as its next table scan.
const cacheMemory = 10 * time.Minute

// maxSightings bounds the cache entries remembered; past it the oldest
// beyond cacheMemory are forgotten, and then the oldest of all.
const maxSightings = 1 << 14

// sighting is the last time a cache entry for a destination was seen.
type sighting struct {
	at    time.Time
	entry trace.Route
	seq   uint64 // order seen, for a trace without times
}

// noteCache remembers a cache entry seen for CacheAsRoute.
func (rc *Detector) noteCache(r *trace.Record) {
	if r.Action != trace.ActionNew {
		return
	}
	if rc.sightings == nil {
		rc.sightings = map[netip.Prefix]sighting{}
	}
	rc.cacheSeq++
	rc.sightings[r.Route.Dst] = sighting{at: r.Time, entry: r.Route, seq: rc.cacheSeq}
	if len(rc.sightings) <= maxSightings {
		return
	}
	oldest, first := netip.Prefix{}, uint64(0)
	for p, s := range rc.sightings {
		if !r.Time.IsZero() && r.Time.Sub(s.at) > cacheMemory {
			delete(rc.sightings, p)
			continue
		}
		if first == 0 || s.seq < first {
			oldest, first = p, s.seq
		}
	}
	if len(rc.sightings) > maxSightings {
		delete(rc.sightings, oldest)
	}
}

// daemonProto reports whether routes of proto p come from a routing
// daemon: rtm_protocol values above RTPROT_STATIC are set by user space
// (include/uapi/linux/rtnetlink.h: "Values of protocol >= RTPROT_STATIC
// are not interpreted by kernel"), except RTPROT_RA, which the kernel
// itself uses for routes learnt from router advertisements
// (rt6_add_route_info(), net/ipv6/route.c).
func daemonProto(p kernel.Proto) bool {
	return p > kernel.ProtoStatic && p != kernel.ProtoRA
}

// cacheAsRoute checks a route add against the cache entries seen: a
// host route of a routing daemon for a destination the kernel had as a
// cache entry is that entry exported (read from a dump: kernels before
// 4.15 keep clones in the tree and list them in every route dump; later
// ones list exceptions in dumps that ask for RTM_F_CLONED, as `ip -6
// route show cache` does) and will be announced to the daemon's peers.
func (rc *Detector) cacheAsRoute(r *trace.Record, out []finding.Finding) []finding.Finding {
	rt := r.Route
	if r.Action != trace.ActionNew || !daemonProto(rt.Proto) || !rt.Dst.IsSingleIP() {
		return out
	}
	s, ok := rc.sightings[rt.Dst]
	if !ok {
		return out
	}
	gap := "later in the trace"
	if !r.Time.IsZero() && !s.at.IsZero() {
		g := r.Time.Sub(s.at)
		if g < 0 || g > cacheMemory {
			return out
		}
		gap = finding.FmtGap(g) + " after"
	}
	delete(rc.sightings, rt.Dst) // one finding per entry
	return append(out, finding.Finding{
		Detector: CacheAsRoute,
		Severity: finding.SeverityWarning,
		Time:     r.Time,
		Objects:  []string{finding.RouteObject(rt), finding.RouteObject(s.entry)},
		Evidence: fmt.Sprintf("%s, a proto %s route, was added %s the kernel had %s as a route-cache entry (seen %s): "+
			"the daemon took the cache entry for a route (kernels before 4.15 list clones in every route dump; later ones "+
			"list exceptions in dumps with RTM_F_CLONED) and may announce it to its peers", rt.Dst, rt.Proto, gap, rt.Dst.Addr(),
			finding.FmtTime(s.at)),
		Advice: fmt.Sprintf("make the daemon skip cache entries when it reads the kernel's table (RTM_F_CLONED in rtm_flags, "+
			"RTF_CACHE, `cache` in ip route output) and withdraw %s from its peers; check whether it was redistributed", rt.Dst),
	})
}
