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
//     specific route, which on kernels before 4.2 can be cloned into a
//     sticky cache entry (seed 000).
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
//     resynchronisation that followed.
//
// Feed every record to Engine.Observe in order and call Engine.Tick
// periodically (live) or once at the end (replay) so that time-based
// detectors can conclude.
package watch
