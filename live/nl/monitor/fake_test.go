package monitor

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/live/nl"
	"raceroute/live/nl/internal/nlfake"
	"raceroute/trace"
)

// The subscription's table tests: a scripted kernel (nlfake) in place
// of the multicast socket and the dump socket, so they run without
// root. Each step changes the kernel and lists the records the
// subscription must then deliver, in order; no other record may come.
// At the end the subscription's view must equal a fresh dump, and its
// Stats must count what was delivered.

// fakeStep is one change of the kernel and the records it must bring.
type fakeStep struct {
	name string
	do   func(k *nlfake.Kernel)
	want []string // nlfake.Show of each record
}

// fakeCase is one subscription's life.
type fakeCase struct {
	name    string
	opts    Options
	tables  []trace.Record         // the kernel's tables when it subscribes
	before  func(k *nlfake.Kernel) // before it subscribes
	steps   []fakeStep
	stats   Stats    // Polls is checked apart
	retried []string // what OnDumpRetry was told
}

// quiet is how long a step waits for a record it does not expect.
const quiet = 30 * time.Millisecond

func TestSubscriptionFake(t *testing.T) {
	va, vb := nlfake.Link(2, "va", true), nlfake.Link(3, "vb", true)
	vaDown := nlfake.Link(2, "va", false)
	vx := nlfake.Link(2, "vx", true)
	addr4, addr6 := nlfake.Addr("10.9.0.1/24", 2, "va"), nlfake.Addr("fd00:9::1/64", 2, "va")
	r1, r2 := nlfake.Route("10.1.0.0/24", "10.9.0.2", 2, "va"), nlfake.Route("10.2.0.0/24", "10.9.0.2", 2, "va")
	r3, r4 := nlfake.Route("10.3.0.0/24", "10.9.0.2", 2, "va"), nlfake.Route("10.4.0.0/24", "10.9.0.2", 2, "va")
	r1b := nlfake.Route("10.1.0.0/24", "10.9.0.3", 2, "va")
	onVB := nlfake.Route("10.8.0.0/24", "10.9.1.2", 3, "vb")
	r6 := nlfake.Route("fd01::/64", "fd00:9::2", 2, "va")
	r6b := nlfake.Route("fd02::/64", "fd00:9::2", 2, "va")
	exc, exc2 := nlfake.Cache("fd01::1/128", "fd00:9::2", 2, "va"), nlfake.Cache("fd02::7/128", "fd00:9::2", 2, "va")
	n4 := nlfake.Neigh("10.9.0.2", "02:00:00:00:00:09", kernel.NUDReachable, 2, "va")
	n6 := nlfake.Neigh("fd00:9::2", "02:00:00:00:00:09", kernel.NUDStale, 2, "va")
	show := nlfake.Show
	with := func(r trace.Record, f func(*trace.Record)) trace.Record { f(&r); return r }
	initial := func(r trace.Record) string { r.Initial = true; return show(r) }
	resynced := func(r trace.Record) string { r.Resync = true; return show(r) }
	inferred := func(r trace.Record) string { r.Inferred = true; return show(r) }
	polled := func(r trace.Record) string { r.Polled = true; return show(r) }
	del := nlfake.Del
	fams := func(f ...int) Options { return Options{Options: nl.Options{Families: f}} }

	tests := []fakeCase{
		{
			name:   "events in order",
			opts:   Options{EmitInitial: true},
			tables: []trace.Record{va, addr4, r1},
			steps: []fakeStep{
				{"initial dump", nil, []string{initial(va), initial(addr4), initial(r1)}},
				{"route add, replace, delete; neighbour; MTU", func(k *nlfake.Kernel) {
					k.Announce(r2, nlfake.Replace(with(r2, func(r *trace.Record) { r.Route.Gateway = r1b.Route.Gateway })), n4,
						with(va, func(r *trace.Record) { r.Link.MTU = 1400 }), del(r1))
				}, []string{
					show(r2), show(nlfake.Replace(with(r2, func(r *trace.Record) { r.Route.Gateway = r1b.Route.Gateway }))), show(n4),
					show(with(va, func(r *trace.Record) { r.Link.MTU = 1400 })), show(del(r1)),
				}},
			},
			stats: Stats{Events: 5, Records: 8},
		},
		{
			name:   "family filter",
			opts:   fams(4),
			tables: []trace.Record{va, addr4, addr6, r1, r6},
			steps: []fakeStep{
				{"IPv6 ignored", func(k *nlfake.Kernel) { k.Announce(r6b, n6, r2, n4, del(addr6)) }, []string{show(r2), show(n4)}},
			},
			stats: Stats{Events: 2, Records: 2},
		},
		{
			name:   "datagrams of several messages, truncated and undecodable ones",
			tables: []trace.Record{va},
			steps: []fakeStep{
				{"two messages in one datagram", func(k *nlfake.Kernel) { k.Set(r1, r2); k.Deliver(datagram(t, r1, r2)) }, []string{show(r1), show(r2)}},
				{"a message longer than its datagram", func(k *nlfake.Kernel) {
					b := datagram(t, r3)
					binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)+8))
					k.Deliver(b)
				}, nil},
				{"an undecodable message, then a good one", func(k *nlfake.Kernel) {
					bad := make([]byte, unix.NLMSG_HDRLEN+4)
					binary.NativeEndian.PutUint32(bad[0:4], uint32(len(bad)))
					binary.NativeEndian.PutUint16(bad[4:6], unix.RTM_NEWROUTE)
					k.Set(r4)
					k.Deliver(append(bad, datagram(t, r4)...))
				}, []string{show(r4)}},
			},
			stats: Stats{Events: 3, Records: 3},
		},
		{
			name:   "overflow: the resync delivers what was lost",
			tables: []trace.Record{va, r1},
			steps: []fakeStep{
				{"one of four queued", func(k *nlfake.Kernel) { k.SetLimit(1); k.Announce(r2, del(r1), r3, n4) }, []string{
					"overflow", show(r2), resynced(del(r1)), resynced(r3), resynced(n4), "resync lost 3",
				}},
				{"and again", func(k *nlfake.Kernel) { k.Announce(del(r2), r4) }, []string{
					"overflow", show(del(r2)), resynced(r4), "resync lost 1",
				}},
			},
			stats: Stats{Events: 2, Records: 10, Drops: 2, Resyncs: 2, ResyncRecords: 4},
		},
		{
			name:   "overflow that lost nothing",
			tables: []trace.Record{va},
			steps: []fakeStep{
				{"the change dropped is undone before the resync", func(k *nlfake.Kernel) { k.SetLimit(1); k.Announce(r1, r2, del(r2)) }, []string{
					"overflow", show(r1), "resync lost 0",
				}},
			},
			stats: Stats{Events: 1, Records: 3, Drops: 1, Resyncs: 1},
		},
		{
			name:   "events that come during the initial dump",
			opts:   Options{EmitInitial: true},
			tables: []trace.Record{va, r1},
			before: func(k *nlfake.Kernel) {
				var once sync.Once
				k.OnDump(func(typ netlink.HeaderType) {
					if typ == unix.RTM_GETROUTE {
						once.Do(func() { k.Announce(del(r1), r2) })
					}
				})
			},
			steps: []fakeStep{
				{"applied after it", nil, []string{initial(va), initial(r1), show(del(r1)), show(r2)}},
			},
			stats: Stats{Events: 2, Records: 4},
		},
		{
			name:   "interrupted initial dump",
			opts:   Options{EmitInitial: true},
			tables: []trace.Record{va, r1},
			before: func(k *nlfake.Kernel) {
				k.Interrupt(unix.RTM_GETLINK, 2, nlfake.Link(9, "gone", true))
				k.Interrupt(unix.RTM_GETROUTE, 1, r2)
			},
			steps: []fakeStep{
				{"retried, stale objects dropped", nil, []string{initial(va), initial(r1)}},
			},
			stats:   Stats{Records: 2, DumpRetries: 3},
			retried: []string{"links", "links", "routes (family 2)"},
		},
		{
			name:   "interrupted resync dump",
			tables: []trace.Record{va, r1},
			steps: []fakeStep{
				{"overflow, and the resync's neighbour dump interrupted", func(k *nlfake.Kernel) {
					k.Interrupt(unix.RTM_GETNEIGH, 1, nlfake.Neigh("10.9.0.99", "02:00:00:00:00:99", kernel.NUDStale, 2, "va"))
					k.SetLimit(1)
					k.Announce(r2, n4)
				}, []string{"overflow", show(r2), resynced(n4), "resync lost 1"}},
			},
			stats:   Stats{Events: 1, Records: 4, Drops: 1, Resyncs: 1, ResyncRecords: 1, DumpRetries: 1},
			retried: []string{"neighbours (family 2)"},
		},
		{
			// unregister_netdevice_many_notify: the kernel announces the
			// neighbours, IPv6 routes and addresses it removes, but not
			// the IPv4 routes fib_table_flush removes.
			name:   "link removal: unannounced deletions inferred",
			tables: []trace.Record{va, vb, addr4, addr6, r1, r6, n4, onVB},
			steps: []fakeStep{
				{"va unregistered", func(k *nlfake.Kernel) {
					k.Announce(del(n4), del(r6), del(addr6), del(addr4))
					k.Set(del(r1))
					k.Announce(del(va))
				}, []string{show(del(n4)), show(del(r6)), show(del(addr6)), show(del(addr4)), show(del(va)), inferred(del(r1))}},
			},
			stats: Stats{Events: 5, Records: 6, Inferred: 1},
		},
		{
			name:   "link removal announced alone",
			tables: []trace.Record{va, vb, addr4, r1, r6, exc, n4, onVB},
			steps: []fakeStep{
				{"everything on va inferred gone, vb untouched", func(k *nlfake.Kernel) {
					k.Set(del(addr4), del(r1), del(r6), del(exc), del(n4))
					k.Announce(del(va))
				}, []string{show(del(va)), inferred(del(addr4)), inferred(del(n4)),
					inferred(del(r1)), inferred(del(r6)), inferred(del(exc))}},
			},
			stats: Stats{Events: 1, Records: 6, Inferred: 5},
		},
		{
			// fib_sync_down_dev flushes a downed link's IPv4 routes
			// without a message; IPv6 keeps its routes (linkdown), and
			// the addresses stay.
			name:   "link down: a re-dump finds the IPv4 routes flushed",
			tables: []trace.Record{va, addr4, r1, r6},
			steps: []fakeStep{
				{"va down", func(k *nlfake.Kernel) {
					k.Set(del(r1))
					k.Announce(vaDown)
				}, []string{show(vaDown), inferred(del(r1))}},
				{"va up again, a route back", func(k *nlfake.Kernel) { k.Announce(va, r1) }, []string{show(va), show(r1)}},
			},
			stats: Stats{Events: 3, Records: 4, Inferred: 1},
		},
		{
			// The routes a keeper dropped when the link went down are
			// remembered as they change until the re-dump.
			name:   "link down: a route deleted before the re-dump",
			tables: []trace.Record{va, addr4, r1, r2, r6},
			steps: []fakeStep{
				{"va down, r2 deleted", func(k *nlfake.Kernel) {
					k.Set(del(r1))
					k.Announce(vaDown, del(r2))
				}, []string{show(vaDown), show(del(r2)), inferred(del(r1))}},
			},
			stats: Stats{Events: 2, Records: 3, Inferred: 1},
		},
		{
			name:   "link down: an overflow before the re-dump",
			tables: []trace.Record{va, addr4, r1, r6},
			steps: []fakeStep{
				{"va down, then events lost", func(k *nlfake.Kernel) {
					k.Set(del(r1))
					k.SetLimit(1)
					k.Announce(vaDown, r3, n4)
				}, []string{"overflow", show(vaDown), resynced(del(r1)), resynced(r3), resynced(n4), "resync lost 3"}},
			},
			stats: Stats{Events: 1, Records: 6, Drops: 1, Resyncs: 1, ResyncRecords: 3},
		},
		{
			name:   "link renamed",
			tables: []trace.Record{va, r1, n4},
			steps: []fakeStep{
				{"the devices of what is known renamed", func(k *nlfake.Kernel) {
					k.Announce(vx, with(r2, func(r *trace.Record) { r.Route.Dev = "vx" }))
				}, []string{show(vx), show(with(r2, func(r *trace.Record) { r.Route.Dev = "vx" }))}},
			},
			stats: Stats{Events: 2, Records: 2},
		},
		{
			// The kernel announces no IPv6 exception: only polls see them.
			name:   "route-cache polls",
			opts:   Options{Options: nl.Options{Families: []int{6}}, CachePoll: 10 * time.Millisecond},
			tables: []trace.Record{va, r6},
			steps: []fakeStep{
				{"an announced route is no poll's business", func(k *nlfake.Kernel) { k.Announce(r6b) }, []string{show(r6b)}},
				{"an exception made", func(k *nlfake.Kernel) { k.Set(exc) }, []string{polled(exc)}},
				{"and another", func(k *nlfake.Kernel) { k.Set(exc2) }, []string{polled(exc2)}},
				{"one expired", func(k *nlfake.Kernel) { k.Set(del(exc)) }, []string{polled(del(exc))}},
			},
			stats: Stats{Events: 1, Records: 4},
		},
	}
	for _, tc := range tests {
		for _, m := range []keeperMode{ownRoutes, keeperKeeps, keeperDrops} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) { runFake(t, tc, m) })
		}
	}
}

// keeperMode says who keeps a fake case's routes.
type keeperMode int

const (
	ownRoutes   keeperMode = iota // the subscription (no Options.Routes)
	keeperKeeps                   // a keeper that keeps every route it is handed
	keeperDrops                   // a keeper that also drops what a link takes with it, as the watch's engine does
)

func (m keeperMode) String() string {
	return [...]string{"own-routes", "keeper", "keeper-drops"}[m]
}

// keeper is a RouteKeeper for the fake cases: the routes handed to it,
// in a view of routes alone. With drops, a link that goes down takes
// its IPv4 routes (fib_sync_down_dev) and one that goes away all of
// its routes, without a record, as the watch's view models it.
type keeper struct {
	mu    sync.Mutex
	v     *nl.View
	drops bool
}

func (k *keeper) handle(r *trace.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case r.Kind == trace.KindRoute && !r.Route.Cloned:
		k.v.Apply(r)
	case r.Kind == trace.KindLink && k.drops && (r.Action == trace.ActionDel || !r.Link.Up):
		gone := r.Action == trace.ActionDel
		k.v.DeleteRoutes(func(rt *trace.Route) bool { return rt.Ifindex == r.Link.Index && (gone || rt.Family == 4) })
	}
}

func (k *keeper) RoutesOn(ifindex int) []trace.Route {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []trace.Route
	for _, rt := range k.v.RouteList() {
		if ifindex == 0 || rt.Ifindex == ifindex {
			out = append(out, rt)
		}
	}
	return out
}

// runFake subscribes to a fake kernel and plays a case, its routes kept
// as m says: the same records must come either way.
func runFake(t *testing.T, tc fakeCase, m keeperMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k := nlfake.New(tc.tables...)
	if tc.before != nil {
		tc.before(k)
	}
	var mu sync.Mutex
	var retried []string
	tc.opts.OnDumpRetry = func(what string) {
		mu.Lock()
		defer mu.Unlock()
		retried = append(retried, what)
	}
	var kp *keeper
	var handled chan trace.Record
	var initial int // records delivered, Initial, that the case did not ask for
	if m != ownRoutes {
		kp = &keeper{v: nl.ViewOf(nil), drops: m == keeperDrops}
		handled = make(chan trace.Record, 1<<12)
		emitInitial := tc.opts.EmitInitial
		tc.opts.EmitInitial = true
		tc.opts.Routes = kp
		tc.opts.Handler = func(r trace.Record) {
			kp.handle(&r)
			if r.Initial && !emitInitial {
				initial++
				return
			}
			handled <- r
		}
	}
	s := newSubscription(tc.opts, k.Socket(), nl.NewDumper(k.Conn(), tc.opts.Options), func() {})
	if err := s.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := s.Records()
	if handled != nil {
		recs = handled
	}
	for _, st := range tc.steps {
		if st.do != nil {
			st.do(k)
		}
		got := take(t, recs, len(st.want), 15*time.Second)
		if !slices.Equal(canonical(got), canonical(st.want)) {
			t.Fatalf("%s: records\n\t%s\nwant\n\t%s", st.name, strings.Join(got, "\n\t"), strings.Join(st.want, "\n\t"))
		}
	}
	// The view is the kernel's, as a fresh dump reads it.
	v, err := s.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kp != nil {
		for _, rt := range kp.RoutesOn(0) {
			if rt.Cloned {
				t.Errorf("the keeper was asked to keep a route-cache entry: %v", rt)
			}
			if v.Has(&trace.Record{Kind: trace.KindRoute, Route: rt}) {
				t.Errorf("the subscription keeps a route its keeper keeps: %v", rt)
			}
			r := trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: rt}
			v.FillDev(&r) // the keeper's names are from before a rename
			v.Apply(&r)
		}
	}
	d := nl.NewDumper(k.Conn(), tc.opts.Options)
	defer d.Close()
	fresh, err := d.Dump(ctx, nl.AllTables(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := v.Differences(fresh); len(diff) > 0 {
		t.Errorf("view vs a fresh dump:\n%s", strings.Join(diff, "\n"))
	}
	s.Close()
	if handled != nil {
		close(handled)
	}
	for r := range recs {
		t.Errorf("after the last step: %s", nlfake.Show(r))
	}
	if err := s.Err(); err != nil {
		t.Errorf("subscription ended with %v", err)
	}
	st := s.Stats()
	if tc.opts.CachePoll > 0 && st.Polls == 0 {
		t.Error("no cache poll counted")
	}
	st.Polls = 0
	st.Records -= uint64(initial)
	if st != tc.stats {
		t.Errorf("stats\n%+v\nwant\n%+v", st, tc.stats)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(retried, tc.retried) {
		t.Errorf("retried %q, want %q", retried, tc.retried)
	}
}

// take reads n records, failing after timeout, and then checks for a
// moment that no other comes.
func take(t *testing.T, recs <-chan trace.Record, n int, timeout time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case r, ok := <-recs:
			if !ok {
				t.Fatalf("records closed after %q, want %d", got, n)
			}
			got = append(got, nlfake.Show(r))
		case <-deadline:
			t.Fatalf("%d records within %v: %q, want %d", len(got), timeout, got, n)
		}
	}
	select {
	case r := <-recs:
		t.Fatalf("after %q, an unexpected %s", got, nlfake.Show(r))
	case <-time.After(quiet):
	}
	return got
}

// canonical sorts each run of records of the same action, kind and
// flags: a dump and a diff list those in map order.
func canonical(recs []string) []string {
	out := slices.Clone(recs)
	class := func(s string) string {
		f := strings.Fields(s)
		c := f[0]
		if len(f) > 1 {
			c += " " + f[1]
		}
		if i := strings.LastIndex(s, " ("); i >= 0 {
			c += s[i:]
		}
		return c
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && class(out[j]) == class(out[i]) {
			j++
		}
		slices.Sort(out[i:j])
		i = j
	}
	return out
}

// datagram is one datagram holding the messages of recs.
func datagram(t *testing.T, recs ...trace.Record) []byte {
	t.Helper()
	var b []byte
	for i := range recs {
		m, err := nlfake.Message(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		mb, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, mb...)
	}
	return b
}

// TestSubscriptionFakeFails checks that a dump the kernel interrupts at
// every try ends the subscription with an error that says which: at
// the start (Subscribe fails and releases what it held) or in a resync
// (Records closes and Err tells why).
func TestSubscriptionFakeFails(t *testing.T) {
	va, r1, r2 := nlfake.Link(2, "va", true), nlfake.Route("10.1.0.0/24", "10.9.0.2", 2, "va"), nlfake.Route("10.2.0.0/24", "10.9.0.2", 2, "va")
	t.Run("initial dump", func(t *testing.T) {
		k := nlfake.New(va)
		k.Interrupt(unix.RTM_GETLINK, nl.MaxDumpTries)
		released := false
		sock := k.Socket()
		s := newSubscription(Options{}, sock, nl.NewDumper(k.Conn(), nl.Options{}), func() { released = true })
		err := s.start(context.Background())
		if want := "initial dump: dump links: interrupted 20 times in a row (NLM_F_DUMP_INTR)"; err == nil || err.Error() != want {
			t.Fatalf("start: %v, want %q", err, want)
		}
		if !released {
			t.Error("namespace not released")
		}
		if err := sock.Read(func(func([]byte) (int, time.Time, error)) bool { return true }); err == nil {
			t.Error("multicast socket still open")
		}
	})
	t.Run("resync", func(t *testing.T) {
		k := nlfake.New(va)
		s := newSubscription(Options{}, k.Socket(), nl.NewDumper(k.Conn(), nl.Options{}), func() {})
		if err := s.start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		k.Interrupt(unix.RTM_GETROUTE, nl.MaxDumpTries)
		k.SetLimit(1)
		k.Announce(r1, r2)
		var got []string
		for r := range s.Records() {
			got = append(got, nlfake.Show(r))
		}
		if want := []string{"overflow", nlfake.Show(r1)}; !slices.Equal(got, want) {
			t.Errorf("records %q, want %q", got, want)
		}
		want := "resync after overflow: dump routes (family 2): interrupted 20 times in a row (NLM_F_DUMP_INTR)"
		if err := s.Err(); err == nil || err.Error() != want {
			t.Errorf("Err() = %v, want %q", err, want)
		}
		if st := s.Stats(); st.Resyncs != 0 || st.Drops != 1 || st.DumpRetries != nl.MaxDumpTries {
			t.Errorf("stats %+v: want one drop, no resync, %d retries", st, nl.MaxDumpTries)
		}
	})
}

// A keeper is handed every route it keeps, the initial ones included:
// without a Handler or the initial records it would keep nothing.
func TestSubscribeKeeperNeedsHandlerAndInitial(t *testing.T) {
	kp := &keeper{v: nl.ViewOf(nil)}
	handler := func(trace.Record) {}
	for _, opts := range []Options{
		{Routes: kp},
		{Routes: kp, Handler: handler},
		{Routes: kp, EmitInitial: true},
	} {
		if _, err := Subscribe(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "Options.Routes needs") {
			t.Errorf("Subscribe(handler %v, initial %v) = %v, want the keeper's needs refused", opts.Handler != nil, opts.EmitInitial, err)
		}
	}
}
