package monitor_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// pair builds the two namespaces of these tests (nstest.Pair).
func pair(t *testing.T) (a, b *netns.NS) { return nstest.Pair(t, "nl") }

// waitRecord reads records until one matches, or fails after timeout.
func waitRecord(t *testing.T, ch <-chan trace.Record, what string, match func(*trace.Record) bool) trace.Record {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("records closed while waiting for %s", what)
			}
			if match(&r) {
				return r
			}
		case <-timeout:
			t.Fatalf("no record for %s within 30 s", what)
		}
	}
}

// waitConverged waits until the subscription's view equals a fresh dump.
func waitConverged(t *testing.T, sub *monitor.Subscription, opts nl.Options, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var diffs []string
	for ctx.Err() == nil {
		v, err := sub.View(ctx)
		if err != nil {
			break
		}
		d, err := nl.DumpView(ctx, opts)
		if err != nil {
			break
		}
		if diffs = v.Differences(d); len(diffs) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	t.Fatalf("view never matched a fresh dump within %v; view vs dump:\n%s", within, strings.Join(diffs, "\n"))
}

func route(dst, gw string) trace.Route {
	p := netip.MustParsePrefix(dst)
	fam := 4
	if p.Addr().Is6() {
		fam = 6
	}
	return trace.Route{Family: fam, Dst: p, Gateway: netip.MustParseAddr(gw), Metric: 1024}
}

func TestSubscriptionSeesChanges(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := nl.Options{Netns: a.Name}
	sub, err := monitor.Subscribe(ctx, monitor.Options{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	w, err := write.NewRouteWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeOp := func(op write.Op, rs ...trace.Route) func() error {
		return func() error {
			_, err := w.Write(ctx, op, rs)
			return err
		}
	}
	ip := func(args ...string) func() error {
		return func() error {
			_, err := a.Run(ctx, "ip", args...)
			return err
		}
	}
	isRoute := func(act trace.Action, dst, gw string, replace bool) func(*trace.Record) bool {
		return func(r *trace.Record) bool {
			return r.Kind == trace.KindRoute && r.Action == act && r.Route.Dst.String() == dst &&
				r.Route.Gateway.String() == gw && r.Replace == replace && r.Route.Dev == "va" && !r.Inferred
		}
	}
	steps := []struct {
		name  string
		do    func() error
		match func(*trace.Record) bool
	}{
		{"ipv4 add", writeOp(write.OpAdd, route("10.1.0.0/24", "10.9.0.2")), isRoute(trace.ActionNew, "10.1.0.0/24", "10.9.0.2", false)},
		{"ipv4 replace", writeOp(write.OpReplace, route("10.1.0.0/24", "10.9.0.3")), isRoute(trace.ActionNew, "10.1.0.0/24", "10.9.0.3", true)},
		{"ipv4 delete", writeOp(write.OpDelete, route("10.1.0.0/24", "10.9.0.3")), isRoute(trace.ActionDel, "10.1.0.0/24", "10.9.0.3", false)},
		{"ipv6 add", writeOp(write.OpAdd, route("fd01::/64", "fd00:9::2")), isRoute(trace.ActionNew, "fd01::/64", "fd00:9::2", false)},
		{"ipv6 replace", writeOp(write.OpReplace, route("fd01::/64", "fd00:9::3")), isRoute(trace.ActionNew, "fd01::/64", "fd00:9::3", true)},
		{"neighbour add", ip("neigh", "add", "10.9.0.7", "lladdr", "02:00:00:00:00:07", "dev", "va", "nud", "stale"),
			func(r *trace.Record) bool {
				return r.Kind == trace.KindNeigh && r.Action == trace.ActionNew && r.Neigh.Addr.String() == "10.9.0.7" &&
					r.Neigh.LLAddr.String() == "02:00:00:00:00:07" && r.Neigh.State == kernel.NUDStale && r.Neigh.Dev == "va"
			}},
		{"neighbour change", ip("neigh", "replace", "10.9.0.7", "lladdr", "02:00:00:00:00:08", "dev", "va", "nud", "reachable"),
			func(r *trace.Record) bool {
				return r.Kind == trace.KindNeigh && r.Action == trace.ActionNew && r.Neigh.LLAddr.String() == "02:00:00:00:00:08"
			}},
		{"link mtu", ip("link", "set", "va", "mtu", "1400"),
			func(r *trace.Record) bool {
				return r.Kind == trace.KindLink && r.Action == trace.ActionNew && r.Link.Name == "va" && r.Link.MTU == 1400
			}},
		{"ipv4 add before link removal", writeOp(write.OpAdd, route("10.2.0.0/24", "10.9.0.2")), isRoute(trace.ActionNew, "10.2.0.0/24", "10.9.0.2", false)},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		r := waitRecord(t, sub.Records(), st.name, st.match)
		if r.Time.IsZero() || r.Netns != a.Name {
			t.Errorf("%s: record time %v netns %q", st.name, r.Time, r.Netns)
		}
	}
	waitConverged(t, sub, opts, 30*time.Second)

	// Removing the link: the kernel announces the link deletion but not
	// the IPv4 routes it flushed; they must come out inferred.
	if err := a.LinkDel("va"); err != nil {
		t.Fatal(err)
	}
	inferred := map[string]bool{}
	waitRecord(t, sub.Records(), "inferred deletion of 10.2.0.0/24", func(r *trace.Record) bool {
		if r.Inferred && r.Action == trace.ActionDel && r.Kind == trace.KindRoute {
			inferred[r.Route.Dst.String()] = true
		}
		return inferred["10.2.0.0/24"]
	})
	waitConverged(t, sub, opts, 30*time.Second)
	st := sub.Stats()
	if st.Inferred == 0 || st.Events == 0 || st.Drops != 0 {
		t.Errorf("stats %+v: want inferred deletions, events, no drops", st)
	}
	if st.RcvBuf < monitor.DefaultRcvBuf {
		t.Errorf("receive buffer %d, want at least %d", st.RcvBuf, monitor.DefaultRcvBuf)
	}
}

func TestSubscriptionLinkDownInfersRouteFlush(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := nl.Options{Netns: a.Name}
	sub, err := monitor.Subscribe(ctx, monitor.Options{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	w, err := write.NewRouteWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(ctx, write.OpAdd, []trace.Route{route("10.3.0.0/24", "10.9.0.2")}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, sub, opts, 30*time.Second)
	if err := a.LinkDown("va"); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, sub.Records(), "deletion of 10.3.0.0/24", func(r *trace.Record) bool {
		return r.Kind == trace.KindRoute && r.Action == trace.ActionDel && r.Route.Dst.String() == "10.3.0.0/24"
	})
	waitConverged(t, sub, opts, 30*time.Second)

	// A renamed link renames the device of what is known on it.
	if _, err := a.Run(ctx, "ip", "link", "set", "va", "name", "vx"); err != nil {
		t.Fatal(err)
	}
	if err := a.LinkUp("vx"); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, sub.Records(), "link renamed vx", func(r *trace.Record) bool {
		return r.Kind == trace.KindLink && r.Link.Name == "vx" && r.Link.Up
	})
	waitConverged(t, sub, opts, 30*time.Second)
}

// TestSubscriptionOverflowResyncs overflows a subscription's socket
// twice, checks that it resyncs, and that its counters agree with the
// records it delivered. They agree only once the subscription has ended
// and its records are drained: until then more can come at any time (in
// a fresh namespace DAD completes about a second after the addresses
// were added, and its few events can overflow the tiny buffer again and
// start another resync), and a subscription stopped in the middle of a
// resync must not count what it did not deliver. So the test stops the
// subscription inside the second resync, the moment a counter used to
// run ahead of its records, and compares only after that.
func TestSubscriptionOverflowResyncs(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A tiny socket buffer and queue, and nobody reading: a burst must
	// overflow the socket.
	opts := monitor.Options{Options: nl.Options{Netns: a.Name}, RcvBuf: 4096, Queue: 1, Buffer: 1}
	sub, err := monitor.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	w, err := write.NewRouteWriter(opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	burst := func(base int) []trace.Route {
		var rs []trace.Route
		for i := range 3000 {
			rs = append(rs, route(fmt.Sprintf("10.%d.%d.0/24", base+i/256, i%256), "10.9.0.2"))
		}
		if n, err := w.Write(ctx, write.OpAdd, rs); err != nil || n != len(rs) {
			t.Fatalf("wrote %d of %d: %v", n, len(rs), err)
		}
		return rs
	}
	rs := burst(100)
	// Delete a third of them too, so that the resync has deletions to find.
	if _, err := w.Write(ctx, write.OpDelete, rs[:1000]); err != nil {
		t.Fatal(err)
	}

	var (
		mu                                sync.Mutex
		overflow, resync, resynced, total int
	)
	pause := make(chan chan struct{}) // the consumer stops reading until the channel it receives is closed
	var hold atomic.Bool              // stop at the next resynced record
	inResync := make(chan struct{})   // closed there
	stopped := make(chan struct{})    // closed once the subscription has stopped
	done := make(chan struct{})
	go func() {
		defer close(done)
		held := false
		for {
			var r trace.Record
			var ok bool
			select {
			case resume := <-pause:
				<-resume
				continue
			case r, ok = <-sub.Records():
			}
			if !ok {
				return
			}
			mu.Lock()
			total++
			switch {
			case r.Kind == trace.KindOverflow:
				overflow++
			case r.Kind == trace.KindResync:
				resync++
			case r.Resync:
				resynced++
			}
			mu.Unlock()
			if r.Resync && !held && hold.Load() {
				// Keep the subscription inside this resync while it stops.
				held = true
				close(inResync)
				<-stopped
			}
		}
	}()
	waitConverged(t, sub, opts.Options, 30*time.Second)
	mu.Lock()
	first := resync
	mu.Unlock()
	if first == 0 {
		t.Fatal("converged without a resync record")
	}

	// The second burst, with nobody reading: it overflows again.
	resume := make(chan struct{})
	pause <- resume
	burst(120)
	hold.Store(true)
	close(resume)
	select {
	case <-inResync:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no resync after the second burst within 30s: %d overflow, %d resync, %d resynced records; stats %+v", overflow, resync, resynced, sub.Stats())
	}
	sub.Close()
	close(stopped)
	<-done
	st := sub.Stats()
	if st.Drops < 2 || st.Resyncs == 0 {
		t.Fatalf("stats %+v: want two drops at least, and resyncs", st)
	}
	if overflow != int(st.Drops) || resync != int(st.Resyncs) || resynced != int(st.ResyncRecords) || total != int(st.Records) {
		t.Errorf("records: %d overflow, %d resync, %d resynced, %d in all; stats %+v", overflow, resync, resynced, total, st)
	}
	if resynced == 0 {
		t.Error("the resync found no differences, though events were lost")
	}
}
