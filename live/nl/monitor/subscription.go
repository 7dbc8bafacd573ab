// Package monitor is raceroute's rtnetlink subscription: it follows the
// route, neighbour, link and address events of a namespace and never
// loses state. It resyncs after a receive overflow, infers the
// deletions the kernel does not announce (link removal, link down) and
// polls the IPv6 route cache, which the kernel does not announce at
// all. The dumps it resyncs with are live/nl's.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"

	"raceroute/live/nl"
	"raceroute/live/nl/internal/rtsock"
	"raceroute/trace"
)

// DefaultRcvBuf is the receive buffer a subscription asks for: 32 MiB.
// The kernel doubles it for its bookkeeping (sk_rcvbuf 64 MiB) and
// charges each queued notification its truesize, 832 bytes for an IPv4
// route's (measured on 6.18): about 80,000 notifications, 2 s of
// bench/watch-vs-ip-monitor.sh's storm written at 38,000 events/s,
// before an overflow. The former 4 MiB (0.26 s of the storm) overflowed
// once or twice per storm with three other processes busy on two cores,
// and each overflow costs a dump and diff of the whole table. It is a
// bound, not an allocation: the kernel charges only what is queued.
const DefaultRcvBuf = 32 << 20

// Options configure a subscription.
type Options struct {
	// Options select the namespace and families, and see the retries of
	// interrupted dumps, as for a dump.
	nl.Options
	// RcvBuf is the receive buffer size in bytes; 0 means DefaultRcvBuf.
	// It is forced with SO_RCVBUFFORCE when permitted, else SO_RCVBUF
	// (capped by net.core.rmem_max).
	RcvBuf int
	// Handler, if set, receives every record synchronously on the
	// subscription's goroutine, and Records returns nil. A slow handler
	// makes the socket overflow, which is then healed by a resync.
	Handler func(trace.Record)
	// Idle, if set, is called on the subscription's goroutine whenever
	// it has delivered every record of the datagrams received so far:
	// a Handler that buffers its output flushes it there, so that a
	// storm costs one write per burst while a quiet host sees each
	// event at once.
	Idle func()
	// Buffer is the capacity of the Records channel (default 4096).
	Buffer int
	// Queue is how many received batches of datagrams may wait between
	// the socket reader and the decoder (default 65536), so that a
	// resync dump does not itself overflow the socket.
	Queue int
	// CachePoll, if positive, dumps the IPv6 route cache (RTM_F_CLONED)
	// this often: the kernel does not announce exceptions, so this is
	// the only way to see them. Differences come out as records with
	// Polled set.
	CachePoll time.Duration
	// NeighPoll, if positive, dumps the neighbour tables this often and
	// emits the entries that changed unannounced, with Polled set.
	NeighPoll time.Duration
	// EmitInitial emits the initial dump as records with Initial set.
	EmitInitial bool
	// Routes, if set, is the consumer's own table of the routes the
	// subscription delivered, so that a storm's routes are held once,
	// by the consumer: the subscription then keeps no routes but the
	// route-cache entries (which it polls), and asks Routes for the
	// others when it needs them (to diff a resync's dump, to infer the
	// removals a link's going takes with it). Routes requires Handler
	// and EmitInitial, and is called on the subscription's goroutine,
	// never during a Handler call.
	Routes RouteKeeper
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
}

// RouteKeeper is a consumer that keeps the routes a subscription
// delivers (Options.Routes): every route record it was handed, an
// ActionNew adding or replacing the route of its key, an ActionDel
// removing it. It may also have dropped routes the kernel removes
// without a message when a link goes down or away (the subscription
// asks for a link's routes before handing the consumer the link's
// record, and remembers them until it has dumped the link's routes
// again), but no others. The device names of its routes may be those
// from before a link was renamed: the subscription names them from the
// links it knows.
type RouteKeeper interface {
	// RoutesOn returns the routes it holds, route-cache entries
	// excepted, whose Ifindex is ifindex; every route for ifindex 0.
	RoutesOn(ifindex int) []trace.Route
}

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
	Polls         uint64 // table polls done (route cache, neighbours)
	DumpRetries   uint64 // interrupted dumps retried
	RcvBuf        int    // receive buffer the kernel granted, in bytes
	Forced        bool   // whether SO_RCVBUFFORCE was permitted
}

// Subscription follows the rtnetlink events of one namespace and keeps
// the state they describe.
type Subscription struct {
	opts    Options
	log     *slog.Logger
	mc      socket
	d       dumper
	release func() // of the namespace descriptor

	queue  chan batch
	chunks chan []byte  // chunks of datagrams handled, back to the reader
	lists  chan []dgram // batches' lists of datagrams handled, emptied, back to the reader
	out    chan trace.Record
	snap   chan chan *nl.View

	view *nl.View // owned by the processing goroutine
	// pending are the links that went down, whose routes and
	// neighbours are dumped again once they settle; with a RouteKeeper,
	// each with the routes it had on going down, as they changed since
	// (the keeper may have dropped them), else nil.
	pending   map[int]*nl.View
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
	if opts.Routes != nil && (opts.Handler == nil || !opts.EmitInitial) {
		return nil, errors.New("subscribe: Options.Routes needs Options.Handler and Options.EmitInitial (the consumer keeps the routes it is handed)")
	}
	fd, name, release, err := rtsock.Namespace(opts.Netns, opts.NetnsFD)
	if err != nil {
		return nil, err
	}
	var mc, dc *netlink.Conn
	fail := func(err error) (*Subscription, error) {
		if mc != nil {
			mc.Close()
		}
		if dc != nil {
			dc.Close()
		}
		release()
		return nil, fmt.Errorf("subscribe to netns %q: %w", name, err)
	}
	if mc, err = rtsock.Dial(fd); err != nil {
		return fail(err)
	}
	rcvbuf := opts.RcvBuf
	if rcvbuf <= 0 {
		rcvbuf = DefaultRcvBuf
	}
	got, forced, err := rtsock.SetRcvBuf(mc, rcvbuf)
	if err != nil {
		return fail(err)
	}
	for _, g := range groups(&opts.Options) {
		if err := mc.JoinGroup(g); err != nil {
			return fail(fmt.Errorf("join rtnetlink group %d: %w", g, err))
		}
	}
	sock, err := newNetlinkSocket(mc)
	if err != nil {
		return fail(err)
	}
	if dc, err = rtsock.Dial(fd); err != nil {
		return fail(err)
	}
	s := newSubscription(opts, sock, nl.NewDumper(dc, opts.Options), release)
	s.rcvbuf, s.forced = got, forced
	if err := s.start(ctx); err != nil {
		return nil, fmt.Errorf("subscribe to netns %q: %w", name, err)
	}
	return s, nil
}

// newSubscription prepares a subscription on its multicast socket and
// its dumper, with the defaults of opts filled in. It owns mc, d and
// release from then on.
func newSubscription(opts Options, mc socket, d dumper, release func()) *Subscription {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.Queue <= 0 {
		opts.Queue = 1 << 16
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Subscription{opts: opts, log: log, mc: mc, d: d, release: release, pending: map[int]*nl.View{}, done: make(chan struct{})}
	s.queue = make(chan batch, opts.Queue)
	s.chunks = make(chan []byte, 4)
	s.lists = make(chan []dgram, 4)
	s.snap = make(chan chan *nl.View)
	if opts.Handler == nil {
		s.out = make(chan trace.Record, opts.Buffer)
	}
	return s
}

// start starts reading, takes the initial dump and starts processing;
// on failure it releases everything the subscription holds.
func (s *Subscription) start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	// Unblock socket reads when the subscription ends.
	context.AfterFunc(ctx, func() {
		s.mc.SetDeadline(time.Now())
		s.d.SetDeadline(time.Now())
	})
	s.wg.Add(1)
	go s.read(ctx)

	v, err := s.d.Dump(ctx, nl.AllTables(), nil)
	if err != nil {
		s.cancel()
		s.wg.Wait()
		s.closeAll()
		return fmt.Errorf("initial dump: %w", err)
	}
	s.view = v
	s.wg.Add(1)
	go s.process(ctx)
	go func() {
		s.wg.Wait()
		s.closeAll()
		close(s.done)
	}()
	return nil
}

func (s *Subscription) closeAll() {
	s.mc.Close()
	s.d.Close()
	s.release()
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
		DumpRetries:   s.d.Retries(),
		RcvBuf:        s.rcvbuf,
		Forced:        s.forced,
	}
}

// View returns a copy of the state the subscription knows, taken between
// two datagrams; with Options.Routes, its routes are only the
// route-cache entries.
func (s *Subscription) View(ctx context.Context) (*nl.View, error) {
	rq := make(chan *nl.View, 1)
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
