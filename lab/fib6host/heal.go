package fib6host

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"raceroute/lab/liverun"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// healSettle is how long the heal waits before each read of the route
// cache, for lookups in flight to insert their clones: apply's default
// Options.Settle.
const healSettle = 50 * time.Millisecond

// stale lists the route-cache entries of cache under prefix (in table)
// that contradict the route of routes covering them: the entries
// raceroute apply's heal deletes (apply/internal/state staleClones(),
// the same test as the clones-agree property's agrees()).
func stale(cache, routes []trace.Route, table uint32, prefix netip.Prefix) (under, bad []trace.Route) {
	for _, c := range cache {
		if c.Table != table || !prefix.Contains(c.Dst.Addr()) {
			continue
		}
		under = append(under, c)
		if cover, ok := covering(routes, c); !agrees(c, cover, ok) {
			bad = append(bad, c)
		}
	}
	return under, bad
}

// heal plays a route writer's `heal PREFIX` as raceroute apply's
// Writer.heal does it: twice at most, it waits healSettle, dumps the
// route cache (RTM_GETROUTE with RTM_F_CLONED) and the routes, and
// deletes (RTM_DELROUTE with RTM_F_CLONED: ip6_route_del() then removes
// the cache exception alone) every entry under the prefix that
// contradicts the route covering it; a pass that finds none ends it.
// Each pass is recorded: what it found and what it deleted.
func heal(ctx context.Context, t *Topology, w *write.RouteWriter, rec *liverun.Recorder, actor string, table uint32, prefix netip.Prefix) error {
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	for pass := 1; pass <= 2; pass++ {
		if err := liverun.SleepUntil(ctx, time.Now().Add(healSettle)); err != nil {
			return err
		}
		cache, err := dumpRoutes(t.Host, t.byIdx, true)
		if err != nil {
			return fmt.Errorf("heal %s: %w", prefix, err)
		}
		routes, err := dumpRoutes(t.Host, t.byIdx, false)
		if err != nil {
			return fmt.Errorf("heal %s: %w", prefix, err)
		}
		under, bad := stale(cache, routes, table, prefix)
		if len(bad) == 0 {
			rec.Act(time.Now(), actor, "[OP]", "heal %s, pass %d: %d route-cache entries under it, none contradicts its route: nothing deleted", prefix, pass, len(under))
			return nil
		}
		var done []string
		var acked []trace.Route
		for _, c := range bad {
			c.Cloned = true
			_, err := w.Write(ctx, write.OpDelete, []trace.Route{c})
			var re *write.RouteError
			switch {
			case errors.As(err, &re):
				done = append(done, fmt.Sprintf("`%s` refused: %s", c, errnoText(re.Err)))
			case err != nil:
				return fmt.Errorf("heal %s: delete `%s`: %w", prefix, c, err)
			default:
				acked = append(acked, c)
			}
		}
		after, err := dumpRoutes(t.Host, t.byIdx, true)
		if err != nil {
			return fmt.Errorf("heal %s: %w", prefix, err)
		}
		for _, c := range acked {
			if containsRoute(after, c) {
				// ip6_route_del() (6.x) looks for the exception at the
				// routes of the longest match of its destination, in
				// order, and ip6_del_cached_rt() answers 0, not -ESRCH,
				// at the first route that holds none: acknowledged,
				// nothing deleted (docs/kernel-notes-fib6.md).
				done = append(done, fmt.Sprintf("`%s` acknowledged, but the kernel still lists it", c))
				continue
			}
			done = append(done, fmt.Sprintf("`%s` deleted", c))
		}
		rec.Act(time.Now(), actor, "[OP]", "heal %s, pass %d: %d route-cache entries under it, %d contradict their route: %s", prefix, pass, len(under), len(bad), strings.Join(done, "; "))
	}
	return nil
}
