// Package exception holds the kernel's rules for IPv6 route-cache
// entries made by ICMPv6 Packet Too Big and Redirect messages, per
// kernel profile: where an entry lives (a route of the fib6 tree up to
// 4.14, an entry of its route's exception table from 4.15), what a route
// dump shows of it, what a delete or replace of its route does to it,
// when a flushed table refuses a late insert, and when the garbage
// collector removes it. Each rule names the kernel function and the
// versions it was read at (docs/kernel-notes-fib6.md, section 6).
// model/fib6 applies these rules to its state; this package knows
// nothing of that state.
package exception

import (
	"fmt"
	"time"

	"raceroute/profile"
)

// Home is where a kernel keeps PMTU and redirect entries.
type Home uint8

// Where the entries live.
const (
	// InTree: up to 4.14 an entry is an RTF_CACHE /128 route inserted into
	// the fib6 tree: ip6_ins_rt() -> fib6_add() (__ip6_rt_update_pmtu()
	// and rt6_do_redirect() at 4.9 and 4.14.325; on 3.10.108 the lookup of
	// ip6_update_pmtu() inserts the clone and ip6_rt_update_pmtu() sets
	// its mtu).
	InTree Home = iota + 1
	// InExceptionTable: from 4.15 (2b760fcf5cfb) rt6_insert_exception()
	// hangs it off its route (the fib6_info, later its fib6_nh): not a
	// route of the tree.
	InExceptionTable
)

// Where says where profile p keeps the entries.
func Where(p profile.Profile) Home {
	if p.IPv6Cache == profile.ExceptionTable {
		return InExceptionTable
	}
	return InTree
}

// Dump is the kind of route dump a reader sends.
type Dump uint8

// Route dumps.
const (
	// Legacy is an RTM_GETROUTE dump on a socket without
	// NETLINK_GET_STRICT_CHK, as routing daemons send it.
	Legacy Dump = iota + 1
	// Strict is a dump with strict checking and no RTM_F_CLONED, as
	// iproute2's `ip -6 route show` sends it.
	Strict
	// Cloned is a strict dump with RTM_F_CLONED: `ip -6 route show cache`.
	Cloned
)

func (d Dump) String() string {
	return [...]string{"?", "legacy dump", "strict dump", "RTM_F_CLONED dump"}[d]
}

// InDump reports whether a dump of kind d lists a PMTU or redirect
// entry on profile p, and why.
//
//   - In the tree (to 4.14), inet6_dump_fib() walks every route of the
//     tree and rt6_fill_node() marks an RTF_CACHE one RTM_F_CLONED: every
//     dump lists it (iproute2 hides it client-side unless asked for
//     `cache`; /proc/net/ipv6_route lists it too).
//   - 4.15 to 5.2: the exception table is not dumped at all (read at
//     4.15 and 4.19; 1e47b4837f3b says 2b760fcf5cfb broke it).
//   - 5.3 on (1e47b4837f3b): rt6_dump_route() dumps a route's exceptions
//     after it when filter->dump_exceptions is set. inet6_dump_fib() sets
//     both dump_routes and dump_exceptions; only a strict dump request
//     (ip_valid_fib_dump_req()) clears one of them: dump_routes with
//     RTM_F_CLONED, dump_exceptions without. So a legacy dump lists the
//     exceptions with the routes (read at 5.4.6 and 6.12).
func InDump(p profile.Profile, d Dump) (bool, string) {
	switch p.ExceptionsInDump {
	case profile.DumpInTree:
		return true, "RTF_CACHE routes sit in the fib6 tree, and inet6_dump_fib() walks every route of it (flagged RTM_F_CLONED)"
	case profile.DumpHidden:
		return false, "4.15 to 5.2 dump no exception table (1e47b4837f3b restored it in 5.3)"
	}
	if d == Strict {
		return false, "a strict dump without RTM_F_CLONED clears filter->dump_exceptions (ip_valid_fib_dump_req)"
	}
	if d == Cloned {
		return true, "a dump with RTM_F_CLONED lists the exceptions alone (ip_valid_fib_dump_req clears dump_routes)"
	}
	return true, "a legacy (non-strict) dump keeps filter->dump_exceptions, so rt6_dump_route() lists each route's exceptions after it (5.3+, 1e47b4837f3b)"
}

// Flush is what a change of its route does to an entry's table (4.15 on).
type Flush struct {
	// Flush: rt6_flush_exceptions() runs and frees the route's entries.
	Flush bool
	// Mark: the flush marks the bucket flushed, so a later
	// rt6_insert_exception() for the route returns -EINVAL.
	Mark bool
	// Why names the kernel path.
	Why string
}

// OnDelete is what a delete of the route does to its exceptions:
// fib6_del_route() (4.15 to 5.10) or fib6_purge_rt() (5.11 on, and the
// stable lines that took d8f5c29653c3) runs rt6_flush_exceptions(rt);
// up to 5.2 that sets rt->exception_bucket_flushed (read at 4.15 and
// 4.19), from 5.3 (cc5c073a693f) fib6_nh_flush_exceptions(nh, from)
// marks the bucket only for a whole nexthop's teardown (from == NULL,
// read at 5.4.6 and 6.12), not for a route's delete.
func OnDelete(p profile.Profile) Flush {
	return Flush{Flush: true, Mark: p.ExceptionGuard == profile.GuardPerRoute, Why: "the delete flushes the route's exceptions (rt6_flush_exceptions)"}
}

// OnReplace is what an NLM_F_REPLACE of the route does to its exceptions:
// fib6_add_rt2node() unlinks the old route with fib6_purge_rt(), which
// flushes only from d8f5c29653c3 (5.11, and its stable backports); before
// it the old route keeps its exceptions, out of the tree: nothing
// reaches them (no lookup, dump or GC), and each holds a reference to the
// route and its device until the route goes (the leak d8f5c29653c3 fixed;
// its companion "tools: selftests: add test for changing routes with PTMU
// exceptions" tests it).
func OnReplace(p profile.Profile) Flush {
	if p.FlushExceptionsOnReplace {
		return Flush{Flush: true, Mark: p.ExceptionGuard == profile.GuardPerRoute, Why: "the replace flushes the old route's exceptions (fib6_purge_rt -> rt6_flush_exceptions, d8f5c29653c3)"}
	}
	return Flush{Why: "fib6_purge_rt() does not flush the old route's exceptions before d8f5c29653c3: they stay with the unlinked route"}
}

// Sysctls are the net.ipv6.route settings the garbage collector reads.
// gc_timeout, gc_elasticity, gc_min_interval and gc_thresh steer only
// ip6_dst_gc(), the collection under memory pressure (more entries than
// gc_thresh), which the model does not reach.
type Sysctls struct {
	// MTUExpires is net.ipv6.route.mtu_expires: a PMTU entry expires this
	// long after its Packet Too Big (rt6_update_expires()).
	MTUExpires time.Duration
	// GCInterval is net.ipv6.route.gc_interval: the period of the GC timer
	// (fib6_gc_timer_cb -> fib6_run_gc(0, ...)), which is also the idle
	// time after which it removes an entry that does not expire
	// (gc_args.timeout = gc_interval).
	GCInterval time.Duration
}

// DefaultSysctls are the defaults of ip6_route_net_init() (read at
// 3.10.108 and 6.12): mtu_expires 10*60*HZ, gc_interval 30*HZ.
func DefaultSysctls() Sysctls {
	return Sysctls{MTUExpires: 600 * time.Second, GCInterval: 30 * time.Second}
}

// Aged reports whether a GC run after (time since the entry was made or
// last used, nothing using it since) removes an entry: fib6_age()
// (entries in the tree, 3.10.108 and 4.14.325) and
// rt6_age_examine_exception() (4.15 and 6.12) remove an entry with
// RTF_EXPIRES (a PMTU entry) once time_after(now, expires), whether in
// use or not, and one without (a redirect, or a 3.x lookup clone) once
// time_after_eq(now, lastuse + gc_args->timeout), the periodic run's
// timeout being gc_interval. (3.10 also wants the entry unreferenced, 4.14
// referenced by the tree alone: the model assumes no socket holds it.)
func Aged(s Sysctls, expires bool, after time.Duration) bool {
	if expires {
		return after > s.MTUExpires
	}
	return after >= s.GCInterval
}

// AgedWhy says why Aged decided as it did.
func AgedWhy(s Sysctls, expires bool, after time.Duration) string {
	gone := Aged(s, expires, after)
	switch {
	case expires && gone:
		return fmt.Sprintf("expired: %s after its Packet Too Big, past mtu_expires %s", after, s.MTUExpires)
	case expires:
		return fmt.Sprintf("not expired: %s after its Packet Too Big, within mtu_expires %s", after, s.MTUExpires)
	case gone:
		return fmt.Sprintf("aged: idle %s, at least gc_interval %s (the periodic GC's timeout)", after, s.GCInterval)
	}
	return fmt.Sprintf("kept: idle %s, less than gc_interval %s", after, s.GCInterval)
}
