// Package watch names the kernel failures of raceroute's seeds while they
// happen, from a stream of trace.Records: live from a netlink
// subscription and a frame sniffer, or offline from a parsed `ip monitor`
// log. It does no I/O.
//
// An Engine keeps a view of the routes, route-cache entries and
// neighbour entries the records describe and runs these detectors:
//
//   - non-atomic-route-change: a route deleted and added again with the
//     same (family, table, prefix, metric) within Config.NonAtomicWindow
//     (default 50 ms): for that gap lookups fall through to a less
//     specific route (a default route has none: they find no route),
//     which on kernels before 4.2 can be cloned into a sticky cache entry
//     (seed 000). A change through a retraction (delete, a reject route
//     at a worse metric added, deleted, the route added; babeld's way) is
//     one such change, each gap within the window, however long the
//     retraction stood (retraction.go).
//   - kernel-route-churn (info): routes the kernel removed itself, with a
//     link that went down, or its own (proto kernel) routes going and
//     coming back; never reported as a writer's non-atomic change
//     (churn.go).
//   - cache-contradicts-route: a route-cache entry whose type, gateway or
//     device disagrees with the longest-prefix route covering its
//     destination in the same table; Finding.Heal holds the entry to
//     delete.
//   - garp-ignored: a gratuitous ARP or unsolicited NA announced a MAC
//     that the existing neighbour entry for that address still has not
//     taken Config.Locktime + Config.GARPMargin later, with the likely
//     reason for Config.KernelRelease (seed 002).
//   - neigh-mac-change-unannounced: a neighbour entry changed its MAC on a
//     device where frames are being captured, but no ARP or NA frame from
//     that address carrying the new MAC was seen around the change.
//   - receive-overflow: the subscription lost events (ENOBUFS), and the
//     resynchronisation that followed; findings made in between carry a
//     caution, and a replay whose overflow no resync followed (ip monitor
//     never resyncs) ends with a finding naming them (overflow.go).
//
// Feed every record to Engine.Observe in order and call Engine.Tick
// periodically (live), or Engine.Finish once at the end (replay), so
// that time-based detectors can conclude.
package watch
