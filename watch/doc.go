// Package watch names the kernel failures of raceroute's seeds while they
// happen, from a stream of trace.Records: live from a netlink
// subscription and a frame sniffer, or offline from a parsed `ip monitor`
// log (Replay). It does no I/O of its own.
//
// An Engine keeps a view of the routes, route-cache entries, neighbour
// entries and links the records describe (package watch/view) and runs
// the detectors over it, each a Detector registered in detectors.go:
//
//   - watch/routechange: non-atomic-route-change (a route deleted and
//     added again within Config.NonAtomicWindow, also through a
//     retraction), kernel-route-churn (routes the kernel removed itself)
//     and cache-contradicts-route (a route-cache entry that disagrees
//     with the route covering it);
//   - watch/neigh: garp-ignored (a gratuitous ARP or unsolicited NA the
//     neighbour entry did not take within Config.Locktime +
//     Config.GARPMargin, with the likely reason for
//     Config.KernelRelease) and neigh-mac-change-unannounced;
//   - watch/overflow: receive-overflow, the events the subscription lost
//     and the resync that followed; findings made in between carry a
//     caution, and a replay whose overflow no resync followed (ip monitor
//     never resyncs) ends with a finding naming them.
//
// A Finding (package watch/finding) says what was seen, with numbers,
// and what to do. Feed every record to Engine.Observe in order and call
// Engine.Tick periodically (live), or Engine.Flush once at the end
// (replay), so that time-based detectors can conclude.
package watch
