package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"raceroute/live/netns"
)

// The blackhole topology: sender S (10.10.0.2) - router R - sink K, R
// reaching K over two links, so two next hops: 10.10.1.2 (k1) and
// 10.10.2.2 (k2). The prefixes 10.100.0.0/24 ... (one /24 each) are
// routed by R via one of them; K takes every address of 10.96.0.0/11 as
// its own (a local route), so a packet routed either way arrives.
type bhTopo struct {
	topo
	s, r, k *netns.NS
}

const bhPort = 9999

func bhPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i/256), byte(i % 256), 0}), 24)
}

func bhDst(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(100 + i/256), byte(i % 256), 1})
}

func newBHTopo(ctx context.Context) (*bhTopo, error) {
	t := &bhTopo{}
	var err error
	if t.s, err = t.create("bh-s"); err != nil {
		return t, err
	}
	if t.r, err = t.create("bh-r"); err != nil {
		return t, err
	}
	if t.k, err = t.create("bh-k"); err != nil {
		return t, err
	}
	steps := []func() error{
		func() error { return t.s.Veth("s0", t.r, "r0") },
		func() error { return t.r.Veth("r1", t.k, "k1") },
		func() error { return t.r.Veth("r2", t.k, "k2") },
	}
	for _, a := range []struct {
		ns  *netns.NS
		dev string
		p   string
	}{
		{t.s, "s0", "10.10.0.2/24"}, {t.r, "r0", "10.10.0.1/24"},
		{t.r, "r1", "10.10.1.1/24"}, {t.k, "k1", "10.10.1.2/24"},
		{t.r, "r2", "10.10.2.1/24"}, {t.k, "k2", "10.10.2.2/24"},
	} {
		steps = append(steps, func() error { return a.ns.AddrAdd(a.dev, netip.MustParsePrefix(a.p)) })
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return t, err
		}
	}
	for _, c := range []struct {
		ns   *netns.NS
		args []string
	}{
		{t.s, []string{"route", "add", "default", "via", "10.10.0.1"}},
		{t.k, []string{"route", "add", "local", "10.96.0.0/11", "dev", "lo", "table", "local"}},
		{t.k, []string{"route", "add", "10.10.0.0/24", "via", "10.10.1.1"}},
		// Resolve both next hops before the stream starts.
		{t.r, []string{"neigh", "replace", "10.10.1.2", "lladdr", mac(t.k, "k1"), "dev", "r1", "nud", "permanent"}},
		{t.r, []string{"neigh", "replace", "10.10.2.2", "lladdr", mac(t.k, "k2"), "dev", "r2", "nud", "permanent"}},
		{t.s, []string{"neigh", "replace", "10.10.0.1", "lladdr", mac(t.r, "r0"), "dev", "s0", "nud", "permanent"}},
	} {
		if _, err := c.ns.Run(ctx, "ip", c.args...); err != nil {
			return t, err
		}
	}
	for _, x := range []struct {
		ns  *netns.NS
		key string
	}{
		{t.r, "net.ipv4.ip_forward"}, {t.r, "net.ipv4.conf.all.rp_filter"}, {t.k, "net.ipv4.conf.all.rp_filter"},
		{t.k, "net.ipv4.conf.k1.rp_filter"}, {t.k, "net.ipv4.conf.k2.rp_filter"},
	} {
		v := "0"
		if x.key == "net.ipv4.ip_forward" {
			v = "1"
		}
		if err := x.ns.Sysctl(x.key, v); err != nil {
			return t, err
		}
	}
	return t, nil
}

func mac(ns *netns.NS, dev string) string {
	m, err := ns.LinkMAC(dev)
	if err != nil {
		return "00:00:00:00:00:00"
	}
	return m.String()
}

// stream sends UDP packets from S to the prefixes' addresses in turn at
// rate packets a second, and counts at K the ones that arrive.
type stream struct {
	sent, got atomic.Int64
	sendErrs  atomic.Int64
	seen      []atomic.Bool
	stop      chan struct{}
	wg        sync.WaitGroup
	out, in   *net.UDPConn
}

func startStream(t *bhTopo, prefixes, rate int) (*stream, error) {
	st := &stream{stop: make(chan struct{}), seen: make([]atomic.Bool, 1<<24)}
	err := t.k.Do(func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: bhPort})
		if err != nil {
			return err
		}
		c.SetReadBuffer(16 << 20)
		st.in = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	err = t.s.Do(func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return err
		}
		c.SetWriteBuffer(4 << 20)
		st.out = c
		return nil
	})
	if err != nil {
		st.in.Close()
		return nil, fmt.Errorf("sender: %w", err)
	}
	st.wg.Add(2)
	go func() {
		defer st.wg.Done()
		buf := make([]byte, 64)
		for {
			n, err := st.in.Read(buf)
			if err != nil {
				return
			}
			if n >= 8 {
				seq := binary.BigEndian.Uint64(buf) % uint64(len(st.seen))
				if !st.seen[seq].Swap(true) {
					st.got.Add(1)
				}
			}
		}
	}()
	go func() {
		defer st.wg.Done()
		buf := make([]byte, 64)
		gap := time.Second / time.Duration(rate)
		start := time.Now()
		var seq uint64
		for {
			select {
			case <-st.stop:
				return
			default:
			}
			// Pace: send what is due by now.
			due := int64(time.Since(start) / gap)
			for int64(seq) < due {
				binary.BigEndian.PutUint64(buf, seq)
				dst := bhDst(int(seq) % prefixes)
				_, err := st.out.WriteToUDPAddrPort(buf, netip.AddrPortFrom(dst, bhPort))
				seq++
				if err != nil {
					// Not sent (an unconnected UDP socket reports no ICMP
					// errors): not counted, but told.
					st.sendErrs.Add(1)
					continue
				}
				st.sent.Add(1)
			}
			time.Sleep(gap / 2)
		}
	}()
	return st, nil
}

// finish stops the sender, lets the last packets arrive, and stops.
func (st *stream) finish() (sent, got int64) {
	close(st.stop)
	time.Sleep(300 * time.Millisecond)
	st.in.Close()
	st.out.Close()
	st.wg.Wait()
	return st.sent.Load(), st.got.Load()
}

// bhVariant is one way of moving the prefixes.
type bhVariant struct {
	name string
	// setup installs the prefixes via the first next hop; move moves
	// them to next hop gw (the k-th move).
	setup func(ctx context.Context, t *bhTopo) error
	move  func(ctx context.Context, t *bhTopo, from, to string) error
}

func blackhole(args []string) error {
	fs := flag.NewFlagSet("blackhole", flag.ExitOnError)
	prefixes := fs.Int("prefixes", 1000, "prefixes that move")
	moves := fs.Int("moves", 10, "moves of all prefixes between the two next hops")
	rate := fs.Int("rate", 20000, "packets a second in the stream")
	raceroute := fs.String("raceroute", "./raceroute", "the raceroute binary")
	fs.Parse(args)
	if *prefixes < 1 || *prefixes > 4096 {
		return fmt.Errorf("-prefixes %d: want 1 to 4096", *prefixes)
	}
	dir, err := os.MkdirTemp("", "applybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hops := map[string]string{"10.10.1.2": "r1", "10.10.2.2": "r2"}
	applyFile := func(gw string) (string, error) {
		return writeFile(dir, "apply-"+gw, func(w func(string)) {
			for i := 0; i < *prefixes; i++ {
				w(bhPrefix(i).String() + " via " + gw + " dev " + hops[gw])
			}
		})
	}
	for gw := range hops {
		if _, err := applyFile(gw); err != nil {
			return err
		}
	}
	applyTo := func(extra ...string) func(ctx context.Context, t *bhTopo, gw string) error {
		return func(ctx context.Context, t *bhTopo, gw string) error {
			_, err := run(ctx, *raceroute, append([]string{"apply", "--netns", t.r.Name, "--list", "0", dir + "/apply-" + gw}, extra...)...)
			return err
		}
	}
	ipBatch := func(ctx context.Context, t *bhTopo, name string, lines func(w func(string))) error {
		f, err := writeFile(dir, name, lines)
		if err != nil {
			return err
		}
		_, err = run(ctx, "ip", "-n", t.r.Name, "-batch", f)
		return err
	}
	ipSetup := func(ctx context.Context, t *bhTopo) error {
		return ipBatch(ctx, t, "ip-setup", func(w func(string)) {
			for i := 0; i < *prefixes; i++ {
				w("route add " + bhPrefix(i).String() + " via 10.10.1.2 dev r1 proto 250")
			}
		})
	}
	variants := []bhVariant{
		{name: "none (the stream alone, no move)", setup: ipSetup, move: nil},
		{name: "raceroute apply (nexthop objects)",
			setup: func(ctx context.Context, t *bhTopo) error { return applyTo()(ctx, t, "10.10.1.2") },
			move:  func(ctx context.Context, t *bhTopo, _, to string) error { return applyTo()(ctx, t, to) }},
		{name: "raceroute apply --nexthops off (a replace a route)",
			setup: func(ctx context.Context, t *bhTopo) error { return applyTo("--nexthops", "off")(ctx, t, "10.10.1.2") },
			move: func(ctx context.Context, t *bhTopo, _, to string) error {
				return applyTo("--nexthops", "off")(ctx, t, to)
			}},
		{name: "ip -batch: route del P, route add P, a prefix at a time", setup: ipSetup,
			move: func(ctx context.Context, t *bhTopo, from, to string) error {
				return ipBatch(ctx, t, "ip-move", func(w func(string)) {
					for i := 0; i < *prefixes; i++ {
						w("route del " + bhPrefix(i).String() + " via " + from + " dev " + hops[from] + " proto 250")
						w("route add " + bhPrefix(i).String() + " via " + to + " dev " + hops[to] + " proto 250")
					}
				})
			}},
		{name: "ip -batch: every route del, then every route add", setup: ipSetup,
			move: func(ctx context.Context, t *bhTopo, from, to string) error {
				return ipBatch(ctx, t, "ip-move", func(w func(string)) {
					for i := 0; i < *prefixes; i++ {
						w("route del " + bhPrefix(i).String() + " via " + from + " dev " + hops[from] + " proto 250")
					}
					for i := 0; i < *prefixes; i++ {
						w("route add " + bhPrefix(i).String() + " via " + to + " dev " + hops[to] + " proto 250")
					}
				})
			}},
	}
	header(fmt.Sprintf("no blackhole: a %d packets/s UDP stream to addresses under %d prefixes while all of them move between two next hops %d times", *rate, *prefixes, *moves))
	ctx := context.Background()
	fmt.Println()
	fmt.Println("| how the prefixes move | moves | sent | received | lost |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, v := range variants {
		sent, got, n, err := bhRun(ctx, v, *prefixes, *moves, *rate)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		fmt.Printf("| %s | %d | %d | %d | %d |\n", v.name, n, sent, got, sent-got)
	}
	return nil
}

func bhRun(ctx context.Context, v bhVariant, prefixes, moves, rate int) (sent, got int64, n int, err error) {
	t, err := newBHTopo(ctx)
	defer t.close()
	if err != nil {
		return 0, 0, 0, err
	}
	if err := v.setup(ctx, t); err != nil {
		return 0, 0, 0, err
	}
	st, err := startStream(t, prefixes, rate)
	if err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(500 * time.Millisecond)
	gws := []string{"10.10.1.2", "10.10.2.2"}
	for k := 0; k < moves; k++ {
		if v.move != nil {
			if err := v.move(ctx, t, gws[k%2], gws[(k+1)%2]); err != nil {
				st.finish()
				return 0, 0, k, err
			}
			n++
		}
		time.Sleep(300 * time.Millisecond)
	}
	sent, got = st.finish()
	if e := st.sendErrs.Load(); e > 0 {
		return sent, got, n, fmt.Errorf("%d packets could not be sent (not counted as sent)", e)
	}
	return sent, got, n, nil
}
