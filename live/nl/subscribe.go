// Package nl is raceroute's rtnetlink layer: a subscription to route,
// neighbour, link and address events that never loses state (it resyncs
// after a receive overflow and infers the deletions the kernel does not
// announce), table dumps, and batched route writes.
package nl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/trace"
)

// rtnetlink multicast groups (RTNLGRP_*).
const (
	grpLink       = 1
	grpNeigh      = 3
	grpIPv4Ifaddr = 5
	grpIPv4Route  = 7
	grpIPv6Ifaddr = 9
	grpIPv6Route  = 11
)

// linkDownSettle is how long after a link went down the subscription
// re-dumps that link's routes and neighbours to infer silent removals.
const linkDownSettle = 100 * time.Millisecond

// Stats are a subscription's counters. The counters of records move
// when a record is delivered, never before: once the subscription has
// ended and its records are drained, Records, Drops, Resyncs and
// ResyncRecords equal the records of each kind the consumer received.
type Stats struct {
	Events        uint64 // notifications decoded
	Records       uint64 // records delivered, of every kind
	Drops         uint64 // receive overflows (ENOBUFS), delivered as Overflow records
	Resyncs       uint64 // resynchronisations completed, delivered as Resync records
	ResyncRecords uint64 // differences found by resyncs, delivered as records marked Resync
	Inferred      uint64 // deletions inferred (link removal, link down)
	Polls         uint64 // route-cache polls done
	DumpRetries   uint64 // interrupted dumps retried
	RcvBuf        int    // receive buffer the kernel granted, in bytes
	Forced        bool   // whether SO_RCVBUFFORCE was permitted
}

// dgram is one datagram read from the multicast socket, with the time
// it was read.
type dgram struct {
	b []byte
	t time.Time
}

// batch is what the reader hands the decoder: datagrams read back to
// back, then possibly an event. overflow: the socket reported ENOBUFS
// (the kernel then stays silent about further drops until its queue is
// empty: netlink_overrun sets NETLINK_S_CONGESTED, which netlink_rcv_wake
// clears only on an empty queue). drained: the queue was seen empty
// after an overflow, so a dump taken from now on covers every drop.
type batch struct {
	dgrams    []dgram
	overflow  bool
	drained   bool
	overflowT time.Time
	err       error
}

// Subscription follows the rtnetlink events of one namespace and keeps
// the state they describe.
type Subscription struct {
	opts    Options
	log     *slog.Logger
	nsName  string
	mc      *netlink.Conn
	d       *dumper
	closeNS func()

	queue chan batch
	out   chan trace.Record
	snap  chan chan *View

	view      *View // owned by the processing goroutine
	pending   map[int]bool
	resyncDue bool

	stats struct {
		events, records, drops, resyncs, resyncRecs, inferred, polls atomic.Uint64
	}
	rcvbuf int
	forced bool

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
	done      chan struct{}
}

// Subscribe opens a subscription: it joins the rtnetlink groups, starts
// reading, dumps the tables, and then applies the events that came
// meanwhile. The subscription ends when ctx is done or Close is called.
func Subscribe(ctx context.Context, opts Options) (*Subscription, error) {
	if opts.RcvBuf <= 0 {
		opts.RcvBuf = DefaultRcvBuf
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.Queue <= 0 {
		opts.Queue = 1 << 16
	}
	fd, name, closeNS, err := opts.nsHandle()
	if err != nil {
		return nil, err
	}
	s := &Subscription{opts: opts, log: opts.logger(), nsName: name, closeNS: closeNS, pending: map[int]bool{}, done: make(chan struct{})}
	fail := func(err error) (*Subscription, error) {
		if s.mc != nil {
			s.mc.Close()
		}
		if s.d != nil {
			s.d.c.Close()
		}
		closeNS()
		return nil, fmt.Errorf("subscribe to netns %q: %w", name, err)
	}
	groups := []uint32{grpLink}
	if opts.wants(4) {
		groups = append(groups, grpIPv4Ifaddr, grpIPv4Route)
	}
	if opts.wants(6) {
		groups = append(groups, grpIPv6Ifaddr, grpIPv6Route)
	}
	groups = append(groups, grpNeigh)
	if s.mc, err = dial(fd, 0); err != nil {
		return fail(err)
	}
	if s.rcvbuf, s.forced, err = setRcvBuf(s.mc, opts.RcvBuf); err != nil {
		return fail(err)
	}
	for _, g := range groups {
		if err := s.mc.JoinGroup(g); err != nil {
			return fail(fmt.Errorf("join rtnetlink group %d: %w", g, err))
		}
	}
	dc, err := dial(fd, 0)
	if err != nil {
		return fail(err)
	}
	s.d = &dumper{c: dc}

	ctx, s.cancel = context.WithCancel(ctx)
	s.queue = make(chan batch, opts.Queue)
	s.snap = make(chan chan *View)
	if opts.Handler == nil {
		s.out = make(chan trace.Record, opts.Buffer)
	}
	// Unblock socket reads when the subscription ends.
	context.AfterFunc(ctx, func() {
		s.mc.SetDeadline(time.Now())
		s.d.c.SetDeadline(time.Now())
	})
	s.wg.Add(1)
	go s.read(ctx)

	v, err := s.d.dump(ctx, &s.opts, allKinds, nil)
	if err != nil {
		s.cancel()
		s.wg.Wait()
		return fail(fmt.Errorf("initial dump: %w", err))
	}
	s.view = v
	s.wg.Add(1)
	go s.process(ctx)
	go func() {
		s.wg.Wait()
		s.mc.Close()
		s.d.c.Close()
		s.closeNS()
		close(s.done)
	}()
	return s, nil
}

// Records returns the channel of records, closed when the subscription
// ends; nil when Options.Handler is set.
func (s *Subscription) Records() <-chan trace.Record { return s.out }

// Done is closed once the subscription has stopped and released its
// sockets.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns the error that ended the subscription, if any.
func (s *Subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *Subscription) fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
	s.cancel()
}

// Close stops the subscription and waits for it to release its sockets.
func (s *Subscription) Close() error {
	s.closeOnce.Do(func() { s.cancel() })
	<-s.done
	return nil
}

// Stats returns the subscription's counters.
func (s *Subscription) Stats() Stats {
	return Stats{
		Events:        s.stats.events.Load(),
		Records:       s.stats.records.Load(),
		Drops:         s.stats.drops.Load(),
		Resyncs:       s.stats.resyncs.Load(),
		ResyncRecords: s.stats.resyncRecs.Load(),
		Inferred:      s.stats.inferred.Load(),
		Polls:         s.stats.polls.Load(),
		DumpRetries:   uint64(s.retries()),
		RcvBuf:        s.rcvbuf,
		Forced:        s.forced,
	}
}

func (s *Subscription) retries() int {
	return int(s.d.retries.Load())
}

// View returns a copy of the state the subscription knows, taken between
// two datagrams.
func (s *Subscription) View(ctx context.Context) (*View, error) {
	rq := make(chan *View, 1)
	select {
	case s.snap <- rq:
	case <-s.done:
		return nil, errors.New("subscription closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case v := <-rq:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// read drains the multicast socket into the queue as fast as it can,
// reading straight into large chunks (no copy, no allocation per
// datagram) and noting when the socket's queue is empty.
func (s *Subscription) read(ctx context.Context) {
	defer s.wg.Done()
	rc, err := s.mc.SyscallConn()
	if err != nil {
		s.queue <- batch{err: fmt.Errorf("receive: %w", err)}
		return
	}
	const chunkSize, maxDgram, maxBatch = 1 << 20, 1 << 16, 256
	chunk := make([]byte, 0, chunkSize)
	congested := false
	for {
		var b batch
		rerr := rc.Read(func(fd uintptr) bool {
			for len(b.dgrams) < maxBatch {
				if cap(chunk)-len(chunk) < maxDgram {
					chunk = make([]byte, 0, chunkSize)
				}
				buf := chunk[len(chunk):cap(chunk)]
				n, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
				switch {
				case err == unix.EINTR:
					continue
				case err == unix.EAGAIN:
					if congested {
						congested, b.drained = false, true
					}
					return len(b.dgrams) > 0 || b.drained
				case err == unix.ENOBUFS:
					congested, b.overflow, b.overflowT = true, true, time.Now()
					return true
				case err != nil:
					b.err = fmt.Errorf("receive: %w", err)
					return true
				}
				b.dgrams = append(b.dgrams, dgram{b: buf[:n:n], t: time.Now()})
				chunk = chunk[:len(chunk)+(n+3)&^3]
			}
			return true
		})
		if rerr != nil {
			if ctx.Err() != nil {
				return
			}
			b.err = fmt.Errorf("receive: %w", rerr)
		}
		select {
		case s.queue <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil {
			return
		}
	}
}

// process decodes, applies and emits; it owns s.view.
func (s *Subscription) process(ctx context.Context) {
	defer s.wg.Done()
	if s.out != nil {
		defer close(s.out)
	}
	if s.opts.EmitInitial {
		now := time.Now()
		for _, r := range s.view.records() {
			r.Time, r.Initial = now, true
			if !s.emit(ctx, r) {
				return
			}
		}
	}
	var poll <-chan time.Time
	if s.opts.CachePoll > 0 && s.opts.wants(6) {
		t := time.NewTicker(s.opts.CachePoll)
		defer t.Stop()
		poll = t.C
	}
	verify := time.NewTimer(time.Hour)
	verify.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case rq := <-s.snap:
			rq <- s.view.clone()
		case <-poll:
			if err := s.pollCache(ctx); err != nil {
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
			if b.err != nil {
				s.fail(b.err)
				return
			}
			if b.overflow {
				s.resyncDue = true
				if !s.emit(ctx, trace.Record{Time: b.overflowT, Kind: trace.KindOverflow}) {
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
	}
}

// emit delivers one record and counts it; false, the record neither
// delivered nor counted, when the subscription is ending.
func (s *Subscription) emit(ctx context.Context, r trace.Record) bool {
	r.Netns = s.opts.Netns
	if s.opts.Handler != nil {
		if ctx.Err() != nil {
			return false
		}
		s.opts.Handler(r)
	} else {
		select {
		case s.out <- r:
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
		r, ok, err := decodeMsg(typ, body)
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
			old, known := s.view.links[r.Link.Index]
			wentDown = known && old.Up && !r.Link.Up
			if known && old.Name != r.Link.Name {
				s.view.renameDev(r.Link.Index, r.Link.Name)
			}
		}
		s.view.fillDev(&r)
		if r.Kind == trace.KindLink && r.Action == trace.ActionDel {
			// The kernel announces RTM_DELLINK after its NETDEV_UNREGISTER
			// clean-up (unregister_netdevice_many_notify): whatever is
			// still known on this link was removed without a message.
			if !s.emit(ctx, r) {
				return false
			}
			s.view.apply(&r)
			if !s.inferGone(ctx, r.Link.Index, r.Time, nil) {
				return false
			}
			delete(s.pending, r.Link.Index)
			continue
		}
		s.view.apply(&r)
		if !s.emit(ctx, r) {
			return false
		}
		if wentDown {
			s.pending[r.Link.Index] = true
			verify.Reset(linkDownSettle)
		}
	}
	return true
}

// wanted applies the family filter.
func (s *Subscription) wanted(r *trace.Record) bool {
	switch r.Kind {
	case trace.KindRoute:
		return s.opts.wants(r.Route.Family)
	case trace.KindNeigh:
		return s.opts.wants(r.Neigh.Family)
	case trace.KindAddr:
		return s.opts.wants(r.Addr.Family)
	}
	return true
}

// inferGone emits and applies Inferred deletions for the routes,
// neighbours and addresses known on ifindex that fresh lacks (all of
// them when fresh is nil).
func (s *Subscription) inferGone(ctx context.Context, ifindex int, t time.Time, fresh *View) bool {
	var gone []trace.Record
	for k, x := range s.view.routes {
		if x.Ifindex == ifindex {
			if _, ok := fresh.routeOK(k); !ok {
				gone = append(gone, trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: x})
			}
		}
	}
	for k, x := range s.view.neighs {
		if x.Ifindex == ifindex {
			if _, ok := fresh.neighOK(k); !ok {
				gone = append(gone, trace.Record{Kind: trace.KindNeigh, Action: trace.ActionDel, Neigh: x})
			}
		}
	}
	if fresh == nil {
		for _, x := range s.view.addrs {
			if x.Ifindex == ifindex {
				gone = append(gone, trace.Record{Kind: trace.KindAddr, Action: trace.ActionDel, Addr: x})
			}
		}
	}
	slices.SortFunc(gone, func(a, b trace.Record) int { return strings.Compare(describe(&a), describe(&b)) })
	for _, r := range gone {
		r.Time, r.Inferred = t, true
		s.view.apply(&r)
		s.stats.inferred.Add(1)
		if !s.emit(ctx, r) {
			return false
		}
	}
	return true
}

func (v *View) routeOK(k routeKey) (trace.Route, bool) {
	if v == nil {
		return trace.Route{}, false
	}
	r, ok := v.routes[k]
	return r, ok
}

func (v *View) neighOK(k neighKey) (trace.Neigh, bool) {
	if v == nil {
		return trace.Neigh{}, false
	}
	n, ok := v.neighs[k]
	return n, ok
}

// verifyLinks re-dumps routes and neighbours after links went down and
// infers the removals the kernel did not announce (IPv4 routes flushed
// by fib_sync_down_dev, for instance).
func (s *Subscription) verifyLinks(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	fresh, err := s.d.dump(ctx, &s.opts, kinds{routes: true, cache: true, neighs: true}, s.view)
	if err != nil {
		return fmt.Errorf("verify after link down: %w", err)
	}
	now := time.Now()
	for idx := range s.pending {
		if !s.inferGone(ctx, idx, now, fresh) {
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
	fresh, err := s.d.dump(ctx, &s.opts, allKinds, nil)
	if err != nil {
		return fmt.Errorf("resync after overflow: %w", err)
	}
	diff := s.view.diff(fresh)
	now := time.Now()
	s.view = fresh
	clear(s.pending)
	for _, r := range diff {
		r.Time, r.Resync = now, true
		if !s.emit(ctx, r) {
			return ctx.Err()
		}
		s.stats.resyncRecs.Add(1)
	}
	if !s.emit(ctx, trace.Record{Time: now, Kind: trace.KindResync, Lost: len(diff)}) {
		return ctx.Err()
	}
	s.stats.resyncs.Add(1)
	return nil
}

// pollCache dumps the IPv6 route cache and emits its changes.
func (s *Subscription) pollCache(ctx context.Context) error {
	fresh, err := s.d.dump(ctx, &s.opts, kinds{cache: true}, s.view)
	if err != nil {
		return fmt.Errorf("poll IPv6 route cache: %w", err)
	}
	s.stats.polls.Add(1)
	old := newView()
	for k, r := range s.view.routes {
		if r.Cloned {
			old.routes[k] = r
		}
	}
	fresh.links = old.links // compare routes only
	now := time.Now()
	for _, r := range old.diff(fresh) {
		r.Time, r.Polled = now, true
		s.view.apply(&r)
		if !s.emit(ctx, r) {
			return ctx.Err()
		}
	}
	return nil
}
