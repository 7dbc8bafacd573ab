// Package apply holds the routes of one routing protocol at a desired
// state, the safe way: a Writer reads the kernel's tables, computes the
// difference from the desired routes (a Plan), writes it with
// NLM_F_REPLACE in batches of many messages a sendmsg with every
// acknowledgement checked by sequence number (the kernel's extended-ACK
// text kept in errors), and reads the tables back to check them. A second
// apply of the same state writes nothing. The writer owns the routes of
// its protocol in its tables, and no others: it never writes over,
// changes or deletes another protocol's route, and refuses a desired
// route whose key another's holds.
//
// Every change says which strategy writes it and why, chosen for the
// kernel profile (live/host detects the running one):
//
//   - Replace, where the kernel's replace is atomic;
//   - ReplaceDeleteOld, make before break where IPv6 replace of a gateway
//     route by a route that does not qualify for ECMP adds instead
//     (ipv6-replace=ecmp-quirk: 4.2 to 5.5 without the backport of
//     e404b8c7cfb3);
//   - AddDelete for a metric change (the replace key includes the metric);
//   - and, on kernels whose IPv6 lookups clone into the route cache
//     (ipv6-cache=clone-on-lookup, 3.x), a heal of the cache after the
//     change.
//
// Each choice cites the library scenarios (scenario/library/apply-*.yaml)
// that show it safe on the profile with the model, and a test fails if
// the evidence and the choice ever disagree.
//
// Where the kernel has nexthop objects (5.3 and later), routes with the
// same next hops share one object (RTM_NEWNEXTHOP), so that moving them
// all to another next hop is one nexthop replace, atomic for all of them
// (NexthopReplace: scenario/library/apply-nexthop-move.yaml shows with the
// model that no instant leaves the routes without their next hop, and
// that deleting and re-adding the object instead would); where it has
// none, each route is written with its own next hops, and the plan says
// so.
//
// The read-back checks what the plan changed. In general it dumps the
// tables again and checks every key the plan touched against what each
// change's outcome says it holds (Result.Checked: "the tables hold
// exactly what the outcomes say"): every route written is read back.
// When the plan's only writes are replaces of nexthop objects of ours,
// all acknowledged, and every change is a route moved by one (a move of
// many prefixes to another next hop), what was written is what those
// objects hold, and that is what is read back: each object must be
// there, of the writer's protocol, holding what was written (a group,
// its members). The routes that moved were not written: they name the
// object by id, and the kernel's replace changes the next hops of every
// route that names it at once, keeping the object and swapping what it
// holds (replace_nexthop_single(), replace_nexthop_grp(),
// net/ipv4/nexthop.c), so no route can have been left behind by the
// write, and a dump of 200,000 routes would check nothing the writer
// did. Which routes use the object was read when the plan was made;
// Options.ReadBackMoved also dumps the routes and checks that the routes
// of ours in its tables that use each object are still exactly those
// the plan expects on it (their number, and a sum of a 64-bit hash of
// their keys), which another writer's route moved off the object,
// deleted, or put on it since the plan was read breaks. Result.Checked
// names the objects, the number of routes, and which of the two was
// done.
//
// Writer.Prefetch reads the tables in the background while the caller
// reads its desired routes (raceroute apply reads its file meanwhile);
// the next Plan uses them when its routes name no table beyond the
// writer's. While they are still being read, Plan checks what needs no
// kernel state and, for a large plan, maps the memory the plan will
// fill; a large plan's outcomes are made while the kernel takes the
// writes.
//
// IPv4 and IPv6, every route type (unicast, reject types, local,
// broadcast, anycast, multicast, NAT) and ECMP routes (several weighted
// next hops) are written.
//
// This package is the writer: it sends a plan's requests phase by phase,
// turns the acknowledgements into outcomes, heals the route cache, reads
// the tables back and rolls back. The rest is in packages of one concern
// each, whose types it names as before (Route, Plan, Strategy, ...):
// apply/route holds the route values (defaults, validation, text);
// apply/internal/state reads what the kernel holds; apply/internal/plan
// plans the difference, nexthop objects included;
// apply/internal/strategy chooses each change's strategy from the
// library's evidence; apply/internal/rtnl is the rtnetlink socket;
// apply/internal/mem spreads a large apply's work over the CPUs and
// maps its memory ahead.
package apply
