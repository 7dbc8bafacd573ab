package monitor

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl"
	"raceroute/trace"
)

// linkDownSettle is how long after a link went down the subscription
// re-dumps that link's routes and neighbours to infer silent removals.
const linkDownSettle = 100 * time.Millisecond

// process decodes, applies and emits; it owns s.view.
func (s *Subscription) process(ctx context.Context) {
	defer s.wg.Done()
	if s.out != nil {
		defer close(s.out)
	}
	if s.opts.EmitInitial {
		now := time.Now()
		for _, r := range s.view.Records() {
			r.Time, r.Initial = now, true
			if !s.emit(ctx, &r) {
				return
			}
		}
	}
	if s.opts.Routes != nil {
		// The consumer has them now.
		s.view.DeleteRoutes(isRoute)
	}
	var poll <-chan time.Time
	if s.opts.CachePoll > 0 && s.opts.Wants(6) {
		t := time.NewTicker(s.opts.CachePoll)
		defer t.Stop()
		poll = t.C
	}
	var neighPoll <-chan time.Time
	if s.opts.NeighPoll > 0 {
		t := time.NewTicker(s.opts.NeighPoll)
		defer t.Stop()
		neighPoll = t.C
	}
	verify := time.NewTimer(time.Hour)
	verify.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case rq := <-s.snap:
			rq <- s.view.Clone()
		case <-poll:
			if err := s.pollCache(ctx); err != nil {
				s.fail(err)
				return
			}
		case <-neighPoll:
			if err := s.pollNeighs(ctx); err != nil {
				s.fail(err)
				return
			}
		case <-verify.C:
			if err := s.verifyLinks(ctx); err != nil {
				s.fail(err)
				return
			}
		case b := <-s.queue:
			if !s.handle(ctx, b, verify) {
				return
			}
			if b.done != nil {
				select {
				case s.chunks <- b.done:
				default:
				}
			}
			if cap(b.dgrams) > 0 {
				clear(b.dgrams) // no hold on the chunks they point into
				select {
				case s.lists <- b.dgrams[:0]:
				default:
				}
			}
			if b.err != nil {
				s.fail(b.err)
				return
			}
			if b.overflow {
				s.resyncDue = true
				if !s.emit(ctx, &trace.Record{Time: b.overflowT, Kind: trace.KindOverflow}) {
					return
				}
				s.stats.drops.Add(1)
			}
			if b.drained && s.resyncDue {
				s.resyncDue = false
				if err := s.resync(ctx); err != nil {
					s.fail(err)
					return
				}
			}
		}
		if s.opts.Idle != nil && len(s.queue) == 0 {
			s.opts.Idle()
		}
	}
}

// emit delivers one record (its Netns set) and counts it; false, the record neither
// delivered nor counted, when the subscription is ending.
func (s *Subscription) emit(ctx context.Context, r *trace.Record) bool {
	r.Netns = s.opts.Netns
	if s.opts.Handler != nil {
		if ctx.Err() != nil {
			return false
		}
		s.opts.Handler(*r)
	} else {
		select {
		case s.out <- *r:
		case <-ctx.Done():
			return false
		}
	}
	s.stats.records.Add(1)
	return true
}

// handle applies the messages of a batch's datagrams.
func (s *Subscription) handle(ctx context.Context, b batch, verify *time.Timer) bool {
	for _, d := range b.dgrams {
		if !s.handleDgram(ctx, d, verify) {
			return false
		}
	}
	return true
}

// handleDgram applies the messages of one datagram.
func (s *Subscription) handleDgram(ctx context.Context, d dgram, verify *time.Timer) bool {
	for data := d.b; len(data) >= unix.NLMSG_HDRLEN; {
		l := int(binary.NativeEndian.Uint32(data[0:4]))
		if l < unix.NLMSG_HDRLEN || l > len(data) {
			s.log.Warn("skipping truncated rtnetlink datagram", "len", l, "left", len(data))
			return true
		}
		typ := binary.NativeEndian.Uint16(data[4:6])
		flags := netlink.HeaderFlags(binary.NativeEndian.Uint16(data[6:8]))
		body := data[unix.NLMSG_HDRLEN:l]
		data = data[min((l+3)&^3, len(data)):]
		r, ok, err := nl.Decode(typ, body)
		if err != nil {
			s.log.Warn("skipping undecodable rtnetlink message", "type", typ, "err", err)
			continue
		}
		if !ok || !s.wanted(&r) {
			continue
		}
		s.stats.events.Add(1)
		r.Time = d.t
		if r.Kind == trace.KindRoute && r.Action == trace.ActionNew && flags&netlink.Replace != 0 {
			r.Replace = true
		}
		var wentDown bool
		if r.Kind == trace.KindLink && r.Action == trace.ActionNew {
			old, known := s.view.Link(r.Link.Index)
			wentDown = known && old.Up && !r.Link.Up
			if known && old.Name != r.Link.Name {
				s.view.RenameDev(r.Link.Index, r.Link.Name)
			}
		}
		s.view.FillDev(&r)
		if r.Kind == trace.KindLink && r.Action == trace.ActionDel {
			// The kernel announces RTM_DELLINK after its NETDEV_UNREGISTER
			// clean-up (unregister_netdevice_many_notify): whatever is
			// still known on this link was removed without a message.
			// A RouteKeeper is asked for the link's routes before it
			// drops them with the link.
			kept := s.keptOn(r.Link.Index)
			if !s.emit(ctx, &r) {
				return false
			}
			s.apply(&r)
			if !s.inferGone(ctx, r.Link.Index, r.Time, nil, kept) {
				return false
			}
			delete(s.pending, r.Link.Index)
			continue
		}
		if wentDown {
			// Before the consumer sees it go down and drops what it
			// expects the kernel to flush silently.
			s.pending[r.Link.Index] = s.keptOn(r.Link.Index)
			verify.Reset(linkDownSettle)
		}
		s.apply(&r)
		if !s.emit(ctx, &r) {
			return false
		}
	}
	return true
}

// isRoute reports whether r is a route, not a route-cache entry.
func isRoute(r *trace.Route) bool { return !r.Cloned }

// apply folds a record into the subscription's view; with a
// RouteKeeper, a route's record only into the routes remembered for
// the links pending (the keeper keeps the routes).
func (s *Subscription) apply(r *trace.Record) {
	if s.opts.Routes == nil || r.Kind != trace.KindRoute || r.Route.Cloned {
		s.view.Apply(r)
		return
	}
	for idx, kept := range s.pending {
		// A route on the link, or one that was and has changed (moved
		// off it, gone).
		if r.Route.Ifindex == idx || kept.Has(r) {
			kept.Apply(r)
		}
	}
}

// keptOn returns, with a RouteKeeper, the routes known on ifindex as a
// view of them alone: the keeper's, and those remembered from when the
// link went down; nil without a keeper (the subscription's view holds
// them). The routes take the link names the subscription knows.
func (s *Subscription) keptOn(ifindex int) *nl.View {
	if s.opts.Routes == nil {
		return nil
	}
	v := nl.ViewOf(nil)
	if p := s.pending[ifindex]; p != nil {
		v = p.Clone()
	}
	for _, rt := range s.opts.Routes.RoutesOn(ifindex) {
		r := s.keptRecord(rt)
		v.Apply(&r)
	}
	return v
}

// keptRecord is a RouteKeeper's route as an ActionNew record, its
// device named from the links the subscription knows (the keeper's
// name may be from before a rename).
func (s *Subscription) keptRecord(rt trace.Route) trace.Record {
	r := trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: rt}
	s.view.FillDev(&r)
	return r
}

// wanted applies the family filter.
func (s *Subscription) wanted(r *trace.Record) bool {
	switch r.Kind {
	case trace.KindRoute:
		return s.opts.Wants(r.Route.Family)
	case trace.KindNeigh:
		return s.opts.Wants(r.Neigh.Family)
	case trace.KindAddr:
		return s.opts.Wants(r.Addr.Family)
	}
	return true
}

// inferGone emits and applies Inferred deletions for the routes and
// neighbours known on ifindex (in the subscription's view, and in kept,
// the routes a RouteKeeper keeps: see keptOn) that fresh lacks; when
// fresh is nil (the link is gone) for all of them, and for its
// addresses too.
func (s *Subscription) inferGone(ctx context.Context, ifindex int, t time.Time, fresh, kept *nl.View) bool {
	known := s.view.OnLink(ifindex)
	if kept != nil {
		known = append(known, kept.OnLink(ifindex)...)
	}
	for _, r := range known {
		if fresh.Has(&r) || (fresh != nil && r.Kind == trace.KindAddr) {
			continue
		}
		r.Action, r.Time, r.Inferred = trace.ActionDel, t, true
		s.apply(&r)
		s.stats.inferred.Add(1)
		if !s.emit(ctx, &r) {
			return false
		}
	}
	return true
}

// verifyLinks re-dumps routes and neighbours after links went down and
// infers the removals the kernel did not announce (IPv4 routes flushed
// by fib_sync_down_dev, for instance).
func (s *Subscription) verifyLinks(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	fresh, err := s.d.Dump(ctx, nl.Tables{Routes: true, Cache: true, Neighs: true}, s.view)
	if err != nil {
		return fmt.Errorf("verify after link down: %w", err)
	}
	now := time.Now()
	for idx := range s.pending {
		if !s.inferGone(ctx, idx, now, fresh, s.keptOn(idx)) {
			return ctx.Err()
		}
	}
	clear(s.pending)
	return nil
}

// resync follows a receive overflow, once the socket's queue was seen
// empty: it dumps every table again, emits how the fresh state differs
// from the known one, and adopts it.
func (s *Subscription) resync(ctx context.Context) error {
	fresh, err := s.d.Dump(ctx, nl.AllTables(), nil)
	if err != nil {
		return fmt.Errorf("resync after overflow: %w", err)
	}
	known := s.view
	if s.opts.Routes != nil {
		// The routes the keeper holds, and those it dropped with links
		// that went down, which the kernel may still hold (or not).
		known = s.view.Clone()
		add := func(rt trace.Route) {
			if r := s.keptRecord(rt); !known.Has(&r) {
				known.Apply(&r)
			}
		}
		for _, rt := range s.opts.Routes.RoutesOn(0) {
			add(rt)
		}
		for idx, kept := range s.pending {
			for _, r := range kept.OnLink(idx) {
				add(r.Route)
			}
		}
	}
	diff := known.Diff(fresh)
	now := time.Now()
	s.view = fresh
	if s.opts.Routes != nil {
		s.view.DeleteRoutes(isRoute)
	}
	clear(s.pending)
	for _, r := range diff {
		r.Time, r.Resync = now, true
		if !s.emit(ctx, &r) {
			return ctx.Err()
		}
		s.stats.resyncRecs.Add(1)
	}
	if !s.emit(ctx, &trace.Record{Time: now, Kind: trace.KindResync, Lost: len(diff)}) {
		return ctx.Err()
	}
	s.stats.resyncs.Add(1)
	return nil
}

// pollCache dumps the IPv6 route cache and emits its changes.
func (s *Subscription) pollCache(ctx context.Context) error {
	fresh, err := s.d.Dump(ctx, nl.Tables{Cache: true}, s.view)
	if err != nil {
		return fmt.Errorf("poll IPv6 route cache: %w", err)
	}
	s.stats.polls.Add(1)
	now := time.Now()
	for _, r := range s.view.Cache().Diff(fresh.Cache()) {
		r.Time, r.Polled = now, true
		s.apply(&r)
		if !s.emit(ctx, &r) {
			return ctx.Err()
		}
	}
	return nil
}

// pollNeighs dumps the neighbour tables and emits the entries that
// differ from the known ones, marked Polled: the kernel announces no
// change into INCOMPLETE (__neigh_event_send() does not notify) nor an
// administrative write that leaves an entry without NUD_VALID
// (__neigh_update() notifies only when the old state was valid), so a
// poll is the only way to see such entries.
func (s *Subscription) pollNeighs(ctx context.Context) error {
	fresh, err := s.d.Dump(ctx, nl.Tables{Neighs: true}, s.view)
	if err != nil {
		return fmt.Errorf("poll neighbours: %w", err)
	}
	s.stats.polls.Add(1)
	now := time.Now()
	for _, r := range s.view.NeighView().Diff(fresh.NeighView()) {
		r.Time, r.Polled = now, true
		s.apply(&r)
		if !s.emit(ctx, &r) {
			return ctx.Err()
		}
	}
	return nil
}
