// Package window measures the seed's delete+add window on the running
// kernel (Run): babeld-route-modify's host built by lab/fib6host, two
// streams of echo requests through it while its /80 moves by delete+add,
// by replace, and not at all, and what became of every packet.
package window

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/lab/fib6host"
	"raceroute/lab/liverun"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// The seed's window on the running kernel: babeld's host of
// babeld-route-modify (an unreachable /48 from re6st, the /80 of a
// frontend by babeld), a steady stream of echo requests to
// 2001:67c:1254:e:10::1 from the host itself and from a client the host
// routes for, while the /80 moves between its two gateways, by delete
// then add (babeld) or by replace. On 4.2 and later no clone can stick,
// but between a delete and its add every lookup of the address matches
// the /48: the host's own packets fail at sendto with the unreachable
// route's error, the client's come back as ICMPv6 destination
// unreachable.

// Window's fixed topology: babeld-route-modify's addresses.
var (
	windowDst   = netip.MustParseAddr("2001:67c:1254:e:10::1")
	windowCover = netip.MustParsePrefix("2001:67c:1254::/48")
	windowPfx   = netip.MustParsePrefix("2001:67c:1254:e:10::/80")
	windowGWs   = [2]netip.Addr{netip.MustParseAddr("fe80::a8b6:97ff:fe99:8ca8"), netip.MustParseAddr("fe80::f485:c1ff:feb4:f32a")}
	windowDevs  = [2]string{"re6stnet8", "re6stnet-tcp"}
	windowHost  = netip.MustParseAddr("fd00:c::1") // the host on the client's link
	windowCl    = netip.MustParseAddr("fd00:c::2") // the client
)

// Options configure the window experiment.
type Options struct {
	// Moves is how many times the /80 moves per strategy.
	Moves int
	// Every is the time between the starts of two moves.
	Every time.Duration
	// Rate is each stream's packets per second.
	Rate int
	// Strategies are delete-add, replace, or none: the streams without
	// moves, the experiment's control.
	Strategies []string
	// Progress, if set, is told the moves done of all.
	Progress func(strategy string, done, total int)
}

// Result is the experiment's outcome for one strategy.
type Result struct {
	Strategy string `json:"strategy"`
	Release  string `json:"release"`
	Moves    int    `json:"moves"`
	// Seconds the moves took; Rate the streams' packets per second
	// asked for.
	Seconds float64 `json:"seconds"`
	Rate    int     `json:"rate"`
	// Gap is, for delete+add, the time from the delete's acknowledgement
	// to the add's (the kernel's window is between the two commits),
	// in microseconds: median, 99th percentile, maximum.
	GapMedianUS float64 `json:"gap_median_us,omitempty"`
	GapP99US    float64 `json:"gap_p99_us,omitempty"`
	GapMaxUS    float64 `json:"gap_max_us,omitempty"`
	// Local is the host's own stream, Forwarded the client's.
	Local     StreamCount `json:"local"`
	Forwarded StreamCount `json:"forwarded"`
}

// StreamCount is what became of one stream's packets.
type StreamCount struct {
	Sent int `json:"sent"`
	// Errors counts sendto's errors by errno name (the host's stream)
	// and the ICMPv6 errors received by type and code (the client's).
	Errors  map[string]int `json:"errors"`
	Replies int            `json:"replies"`
	// Lost were sent without an error and neither answered nor
	// reported.
	Lost int `json:"lost"`
}

// Run runs the experiment once per strategy.
func Run(ctx context.Context, h liverun.Host, o Options) ([]Result, error) {
	var out []Result
	for _, s := range o.Strategies {
		if s != "delete-add" && s != "replace" && s != "none" {
			return out, fmt.Errorf("window: strategy %q: want delete-add, replace or none (the streams alone, as a control)", s)
		}
		r, err := windowOnce(ctx, h, s, o)
		if err != nil {
			return out, err
		}
		out = append(out, *r)
	}
	return out, nil
}

func windowOnce(ctx context.Context, h liverun.Host, strategy string, o Options) (res *Result, err error) {
	hostSrc, hostLL := fib6host.HostAddrs()
	run, err := netns.NewRun()
	if err != nil {
		return nil, err
	}
	defer func() {
		p := recover()
		if cerr := run.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("window: delete what the run created: %w", cerr))
		}
		if p != nil {
			panic(p)
		}
	}()
	gws := map[string][]netip.Addr{windowDevs[0]: {windowGWs[0]}, windowDevs[1]: {windowGWs[1]}}
	t, err := fib6host.Build(ctx, run, "window", windowDevs[:], gws, []netip.Addr{windowDst}, hostSrc, hostLL)
	if err != nil {
		return nil, err
	}
	client, err := run.Create("window-client")
	if err != nil {
		return nil, err
	}
	if err := fib6host.QuietIPv6(client); err != nil {
		return nil, err
	}
	// The host routes for the client (forwarding) and reports every
	// destination unreachable: ICMPv6 type 1 out of the rate mask
	// (icmpv6_mask_allow(), net/ipv6/icmp.c), so that none is lost to
	// the per-destination limit.
	for k, v := range map[string]string{"net/ipv6/conf/all/forwarding": "1", "net/ipv6/icmp/ratemask": "0,3-127"} {
		if err := t.Host.Sysctl(k, v); err != nil {
			return nil, err
		}
	}
	if err := t.Host.VethMAC("cl0", kernel.MAC{}, client, "eth0"); err != nil {
		return nil, err
	}
	if err := t.Host.AddrAdd("cl0", netip.PrefixFrom(windowHost, 64)); err != nil {
		return nil, err
	}
	if err := client.AddrAdd("eth0", netip.PrefixFrom(windowCl, 64)); err != nil {
		return nil, err
	}
	cidx, err := client.LinkIndex("eth0")
	if err != nil {
		return nil, err
	}
	if err := fib6host.WriteRoutes(ctx, client, write.OpAdd, trace.Route{Family: 6, Dst: netip.MustParsePrefix("::/0"), Gateway: windowHost, Ifindex: cidx, Table: unix.RT_TABLE_MAIN}); err != nil {
		return nil, err
	}
	route := func(i int) trace.Route {
		return trace.Route{Family: 6, Table: unix.RT_TABLE_MAIN, Dst: windowPfx, Gateway: windowGWs[i], Ifindex: t.Ifidx[windowDevs[i]], Proto: kernel.ProtoBabel, Metric: 1024}
	}
	cover := trace.Route{Family: 6, Table: unix.RT_TABLE_MAIN, Type: kernel.RouteUnreachable, Dst: windowCover, Ifindex: t.Ifidx["lo"], Metric: 1024}
	if err := fib6host.WriteRoutes(ctx, t.Host, write.OpAdd, cover, route(0)); err != nil {
		return nil, err
	}
	w, err := write.NewRouteWriter(nl.Options{Netns: t.Host.Name})
	if err != nil {
		return nil, err
	}
	defer w.Close()

	local, err := newStream(t.Host, hostSrc)
	if err != nil {
		return nil, err
	}
	fwd, err := newStream(client, windowCl)
	if err != nil {
		local.close()
		return nil, err
	}
	// Both neighbours resolved before the clock starts.
	for i := range windowDevs {
		if _, err := w.Write(ctx, write.OpReplace, []trace.Route{route(i)}); err != nil {
			return nil, err
		}
		local.probe(windowDst)
	}
	if _, err := w.Write(ctx, write.OpReplace, []trace.Route{route(0)}); err != nil {
		return nil, err
	}
	res = &Result{Strategy: strategy, Release: h.Release, Moves: o.Moves, Rate: o.Rate}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range []*stream{local, fwd} {
		wg.Add(1)
		go func() { defer wg.Done(); s.run(sctx, windowDst, o.Rate) }()
	}
	var gaps []time.Duration
	start := time.Now()
	var moveErr error
	for k := 0; k < o.Moves && moveErr == nil; k++ {
		if err := liverun.SleepUntil(ctx, start.Add(time.Duration(k)*o.Every)); err != nil {
			moveErr = err
			break
		}
		from, to := route(k%2), route((k+1)%2)
		switch strategy {
		case "delete-add":
			if _, moveErr = w.Write(ctx, write.OpDelete, []trace.Route{from}); moveErr != nil {
				break
			}
			d := time.Now()
			if _, moveErr = w.Write(ctx, write.OpAdd, []trace.Route{to}); moveErr != nil {
				break
			}
			gaps = append(gaps, time.Since(d))
		case "replace":
			_, moveErr = w.Write(ctx, write.OpReplace, []trace.Route{to})
		}
		if o.Progress != nil && (k+1)%500 == 0 {
			o.Progress(strategy, k+1, o.Moves)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	stop()
	wg.Wait()
	// Replies and errors still in flight.
	time.Sleep(200 * time.Millisecond)
	res.Local, res.Forwarded = local.close(), fwd.close()
	if moveErr != nil {
		return res, fmt.Errorf("window: move the /80: %w", moveErr)
	}
	if len(gaps) > 0 {
		slices.Sort(gaps)
		us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
		res.GapMedianUS, res.GapP99US, res.GapMaxUS = us(gaps[len(gaps)/2]), us(gaps[len(gaps)*99/100]), us(gaps[len(gaps)-1])
	}
	return res, nil
}

// WriteText prints the results of Run(ctx, h, o): per strategy, the
// time the moves took, the delete->add gaps, and what became of each
// stream's packets.
func WriteText(w io.Writer, o Options, res []Result) {
	fmt.Fprintf(w, "the /80 moved %d times per strategy, one move every %s; two streams of %d echo requests/s to %s: from the host itself, and from a client it routes for\n",
		o.Moves, o.Every, o.Rate, windowDst)
	fmt.Fprintf(w, "%-10s  %7s  %-22s  %-40s\n", "strategy", "seconds", "delete->add ack (us)", "stream: sent / replies / errors / lost")
	for _, r := range res {
		gap := "-"
		if r.GapMedianUS > 0 {
			gap = fmt.Sprintf("median %.0f, p99 %.0f", r.GapMedianUS, r.GapP99US)
		}
		fmt.Fprintf(w, "%-10s  %7.2f  %-22s  host:   %d / %d / %s / %d\n", r.Strategy, r.Seconds, gap, r.Local.Sent, r.Local.Replies, errorsText(r.Local.Errors), r.Local.Lost)
		fmt.Fprintf(w, "%-10s  %7s  %-22s  client: %d / %d / %s / %d\n", "", "", "", r.Forwarded.Sent, r.Forwarded.Replies, errorsText(r.Forwarded.Errors), r.Forwarded.Lost)
	}
}

// errorsText lists a stream's errors by count and name ("0" for none).
func errorsText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	return strings.Join(parts, ", ")
}

// stream sends echo requests from a raw ICMPv6 socket of a namespace
// and tells each one's fate: a sendto error, a reply, an ICMPv6 error
// quoting it, or nothing.
type stream struct {
	pc *net.IPConn
	id int

	mu      sync.Mutex
	fate    map[int]string // seq -> "reply", an ICMPv6 error, or "" (sent, no answer yet)
	order   []int          // the seqs of fate, oldest first
	sendErr map[string]int
	seq     int
	totals  StreamCount // fates settled so far
	done    chan struct{}
}

func newStream(ns *netns.NS, src netip.Addr) (*stream, error) {
	s := &stream{id: (os.Getpid() ^ int(src.As16()[0])<<8) & 0xffff, fate: map[int]string{}, sendErr: map[string]int{}, done: make(chan struct{})}
	var err error
	if s.pc, err = fib6host.RawICMPv6(ns, src); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	go s.read()
	return s, nil
}

func (s *stream) read() {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		n, _, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		m, err := icmp.ParseMessage(58, buf[:n])
		if err != nil {
			continue
		}
		var seq int
		fate := ""
		switch b := m.Body.(type) {
		case *icmp.Echo:
			if m.Type != ipv6.ICMPTypeEchoReply || b.ID != s.id {
				continue
			}
			seq, fate = b.Seq, "reply"
		case *icmp.DstUnreach:
			var ok bool
			if seq, ok = s.quoted(b.Data); !ok {
				continue
			}
			fate = fmt.Sprintf("ICMPv6 destination unreachable code %d (%s)", m.Code, unreachCode(m.Code))
		default:
			continue
		}
		s.mu.Lock()
		if f, ok := s.fate[seq]; ok && f == "" {
			s.fate[seq] = fate
		}
		s.mu.Unlock()
	}
}

// quoted reads the echo request an ICMPv6 error quotes: its IPv6
// header, then the echo's type, code, checksum, id and sequence.
func (s *stream) quoted(b []byte) (int, bool) {
	if len(b) < 48 || b[6] != 58 || b[40] != 128 {
		return 0, false
	}
	id := int(b[44])<<8 | int(b[45])
	return int(b[46])<<8 | int(b[47]), id == s.id
}

func unreachCode(c int) string {
	switch c {
	case 0:
		return "no route"
	case 1:
		return "administratively prohibited"
	case 3:
		return "address unreachable"
	case 6:
		return "reject route"
	}
	return "other"
}

// send sends one echo request to dst and records sendto's error. The
// packet is entered before it leaves: its reply can come back before
// sendto returns.
func (s *stream) send(dst netip.Addr) {
	s.mu.Lock()
	s.seq = (s.seq + 1) & 0xffff
	seq := s.seq
	s.fate[seq] = ""
	s.mu.Unlock()
	b, _ := (&icmp.Message{Type: ipv6.ICMPTypeEchoRequest, Body: &icmp.Echo{ID: s.id, Seq: seq, Data: []byte("raceroute window")}}).Marshal(nil)
	_, err := s.pc.WriteTo(b, &net.IPAddr{IP: net.IP(dst.AsSlice())})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		s.sendErr[fib6host.ErrnoName(err)]++
		delete(s.fate, seq)
		return
	}
	s.order = append(s.order, seq)
}

// probe sends one request and waits for its reply (resolving the
// neighbour on the way), without counting it.
func (s *stream) probe(dst netip.Addr) {
	s.send(dst)
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	clear(s.fate)
	clear(s.sendErr)
	s.order = s.order[:0]
	s.mu.Unlock()
}

// run sends rate requests a second until ctx ends. Sequence numbers
// wrap at 65536: a stream counts a packet's fate while at most 65536
// are outstanding, which at the rates used is seconds.
func (s *stream) run(ctx context.Context, dst netip.Addr, rate int) {
	every := time.Second / time.Duration(rate)
	start := time.Now()
	for k := 0; ctx.Err() == nil; k++ {
		if d := time.Until(start.Add(time.Duration(k) * every)); d > 0 {
			time.Sleep(d)
		}
		s.flush()
		s.send(dst)
	}
}

// flush settles the oldest fates once 30000 are pending, so that the
// table stays small and no sequence number (16 bits) is reused while
// its packet is pending: a reply or an error takes microseconds, so a
// fate still empty 30000 packets later is a loss.
func (s *stream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 30000 {
		k := s.order[0]
		s.order = s.order[1:]
		s.settle(s.fate[k])
		delete(s.fate, k)
	}
}

// settle adds one packet's fate to the totals, under s.mu.
func (s *stream) settle(f string) {
	if s.totals.Errors == nil {
		s.totals.Errors = map[string]int{}
	}
	s.totals.Sent++
	switch f {
	case "reply":
		s.totals.Replies++
	case "":
		s.totals.Lost++
	default:
		s.totals.Errors[f]++
	}
}

func (s *stream) close() StreamCount {
	s.pc.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.order {
		s.settle(s.fate[k])
	}
	if s.totals.Errors == nil {
		s.totals.Errors = map[string]int{}
	}
	for e, n := range s.sendErr {
		s.totals.Sent += n
		s.totals.Errors["sendto "+e] += n
	}
	return s.totals
}
