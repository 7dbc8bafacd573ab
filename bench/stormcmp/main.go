// Command stormcmp runs `ip monitor` and `raceroute watch` side by side
// on one namespace, writes a storm of route events into it in batches,
// and prints, for each tool, how many events it received, how many it
// lost, whether its final picture of the table is right, how many
// events per second it kept up with and how many it handles per CPU
// second, and the ratios. bench/watch-vs-ip-monitor.sh builds and runs
// it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

func main() {
	n := flag.Int("events", 600_000, "route events in the storm")
	raceroute := flag.String("raceroute", "./raceroute", "the raceroute binary")
	batch := flag.Int("batch", write.DefaultBatch, "route messages per sendmsg")
	ipRcvbuf := flag.Int("ip-rcvbuf", 0, "receive buffer for ip monitor (ip -rcvbuf), 0 for iproute2's default (1 MiB)")
	text := flag.Bool("text", false, "have the watch print ip -ts monitor text, as ip monitor does, instead of JSON lines")
	procs := flag.Int("procs", -1, "the watch's --procs (-1: not given, the watch's default)")
	shuffle := flag.Bool("shuffle", false, "write each phase's routes in a random order (seeded: the same each run) instead of address order")
	flag.Parse()
	if err := run(*n, *raceroute, *batch, *ipRcvbuf, *procs, *shuffle, *text); err != nil {
		fmt.Fprintln(os.Stderr, "stormcmp:", err)
		os.Exit(1)
	}
}

// storm returns the routes of a storm of n events: adds of 5n/12 /32
// routes, replaces (new gateway) of the first 3n/12, deletes of the
// first 4n/12; and the final table it leaves (dst -> gateway).
func storm(n int) (adds, repl, dels []trace.Route, final map[netip.Addr]netip.Addr) {
	na, nr := n*5/12, n*3/12
	nd := n - na - nr
	gw1, gw2 := netip.MustParseAddr("10.9.0.2"), netip.MustParseAddr("10.9.0.3")
	final = map[netip.Addr]netip.Addr{}
	adds = make([]trace.Route, na)
	for i := range adds {
		a := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
		adds[i] = trace.Route{Family: 4, Dst: netip.PrefixFrom(a, 32), Gateway: gw1, Metric: 1024}
		final[a] = gw1
	}
	repl = make([]trace.Route, nr)
	for i := range repl {
		repl[i] = adds[i]
		repl[i].Gateway = gw2
		final[adds[i].Dst.Addr()] = gw2
	}
	dels = make([]trace.Route, nd)
	copy(dels, adds)
	copy(dels, repl[:min(nr, nd)])
	for _, d := range dels {
		delete(final, d.Dst.Addr())
	}
	return adds, repl, dels, final
}

// tool is one monitor process and what was read from it.
type tool struct {
	name     string
	cmd      *exec.Cmd
	mu       sync.Mutex
	events   int // storm route events seen live
	resynced int // storm route records from resyncs
	overflow int
	resyncs  int  // resyncs completed (each follows overflows)
	behind   bool // an overflow came after the last resync
	state    map[netip.Addr]netip.Addr
	first    time.Time
	last     time.Time
	done     chan error
}

func (t *tool) see(dst, gw netip.Addr, del, resync bool, in map[netip.Addr]bool) {
	if !in[dst] {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if resync {
		t.resynced++
	} else {
		t.events++
		if t.first.IsZero() {
			t.first = now
		}
		t.last = now
	}
	if del {
		delete(t.state, dst)
	} else {
		t.state[dst] = gw
	}
}

// parseIPMonitor reads `ip monitor route` lines: "[Deleted ]DST via GW ...".
func parseIPMonitor(t *tool, r io.Reader, in map[netip.Addr]bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		del := len(f) > 0 && f[0] == "Deleted"
		if del {
			f = f[1:]
		}
		if dst, gw, ok := routeVia(f); ok {
			t.see(dst, gw, del, false, in)
		}
	}
	return sc.Err()
}

// routeVia reads the destination and gateway of a route's text, its
// fields from the destination on: "DST via GW ...".
func routeVia(f []string) (dst, gw netip.Addr, ok bool) {
	if len(f) < 3 || f[1] != "via" {
		return dst, gw, false
	}
	dst, err1 := netip.ParseAddr(f[0])
	gw, err2 := netip.ParseAddr(f[2])
	return dst, gw, err1 == nil && err2 == nil
}

// overflowed notes an overflow the watch reported: it is behind until
// its resync.
func (t *tool) overflowed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.overflow++
	t.behind = true
}

// resyncedAll notes a resync the watch finished.
func (t *tool) resyncedAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resyncs++
	t.behind = false
}

// parseWatch reads `raceroute watch --json` lines.
func parseWatch(t *tool, r io.Reader, in map[netip.Addr]bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		v, ok := eventFields(sc.Bytes())
		if !ok {
			continue // findings
		}
		switch v.Kind {
		case "overflow":
			t.overflowed()
			continue
		case "resync":
			t.resyncedAll()
			continue
		case "route":
		default:
			continue
		}
		p, err := netip.ParsePrefix(v.Dst)
		if err != nil || p.Bits() != 32 {
			continue
		}
		gw, _ := netip.ParseAddr(v.Gateway)
		t.see(p.Addr(), gw, v.Action == "del", v.Resync, in)
	}
	return sc.Err()
}

// watchEvent is what the comparison needs of a watch's JSON event line.
type watchEvent struct {
	Kind, Action, Dst, Gateway string
	Resync                     bool
}

// eventFields reads a watch's JSON event line (livewatch.AppendJSON:
// an object whose first key is "kind", string and boolean values) as
// json.Unmarshal into a watchEvent would, without a reflective decode
// per line: the reader must keep up with the watch, or its back-pressure
// (a full pipe) is counted as the watch's cost. It reports false for a
// line that is not an event (a finding, a heal). A key is found as
// `,"key":`, which cannot occur inside a JSON string (a quote there is
// escaped); values it reads are the kernel's names and addresses, which
// need no escapes, and a value with one is left empty
// (TestEventFieldsAsUnmarshal checks both against encoding/json).
func eventFields(line []byte) (watchEvent, bool) {
	var v watchEvent
	const head = `{"kind":`
	if !bytes.HasPrefix(line, []byte(head)) {
		return v, false
	}
	str := func(at int) string {
		if at >= len(line) || line[at] != '"' {
			return ""
		}
		end := bytes.IndexByte(line[at+1:], '"')
		if end < 0 {
			return ""
		}
		s := line[at+1 : at+1+end]
		if bytes.IndexByte(s, '\\') >= 0 {
			return ""
		}
		return string(s)
	}
	find := func(key string) int {
		i := bytes.Index(line, []byte(`,"`+key+`":`))
		if i < 0 {
			return len(line)
		}
		return i + len(key) + 4
	}
	v.Kind = str(len(head))
	v.Action = str(find("action"))
	v.Dst = str(find("dst"))
	v.Gateway = str(find("gateway"))
	at := find("resync")
	v.Resync = bytes.HasPrefix(line[at:], []byte("true"))
	return v, true
}

// parseWatchText reads `raceroute watch` text lines, `ip -ts monitor`'s
// with raceroute's markers: "[time] [nsid N][ROUTE]Resync Deleted 10.64.0.1
// via 10.9.0.2 ...", and the [OVERFLOW] and [RESYNC] lines.
func parseWatchText(t *tool, r io.Reader, in map[netip.Addr]bool) error {
	// The words before a route in a watch's text line.
	markers := []string{"Deleted", "Resync", "Replaced", "Inferred", "Initial", "Polled", "Cloned"}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "[OVERFLOW]"):
			t.overflowed()
			continue
		case strings.Contains(line, "[RESYNC]"):
			t.resyncedAll()
			continue
		}
		_, body, ok := strings.Cut(line, "[ROUTE]")
		if !ok {
			continue
		}
		f := strings.Fields(body)
		var del, resync bool
		for ; len(f) > 0 && slices.Contains(markers, f[0]); f = f[1:] {
			del = del || f[0] == "Deleted"
			resync = resync || f[0] == "Resync"
		}
		if dst, gw, ok := routeVia(f); ok {
			t.see(dst, gw, del, resync, in)
		}
	}
	return sc.Err()
}

// usage is what a process used so far: user+system CPU time, minor
// page faults, and its peak resident set (VmHWM) in bytes.
type usage struct {
	cpu    time.Duration
	minflt int64
	peak   int64
}

// usageOf reads a process's usage from /proc.
func usageOf(pid int) (usage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return usage{}, errors.New("short /proc stat")
	}
	var u usage
	u.minflt, _ = strconv.ParseInt(f[7], 10, 64)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * time.Second / 100
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			u.peak = kb << 10
		}
	}
	return u, nil
}

func run(n int, raceroute string, batch, ipRcvbuf, procs int, shuffle, text bool) error {
	name := fmt.Sprintf("rrtest-bench-%d", os.Getpid())
	ns, err := netns.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		ns.Close()
		netns.Delete(name)
	}()
	peer, err := netns.Create(name + "p")
	if err != nil {
		return err
	}
	defer func() {
		peer.Close()
		netns.Delete(name + "p")
	}()
	if err := ns.Veth("va", peer, "vb"); err != nil {
		return err
	}
	if err := ns.AddrAdd("va", netip.MustParsePrefix("10.9.0.1/24")); err != nil {
		return err
	}
	adds, repl, dels, final := storm(n)
	if shuffle {
		// A table's changes do not always come in address order (a
		// routing daemon's updates, several peers at once): the same
		// phases, each in one random order.
		rng := rand.New(rand.NewPCG(1, 2))
		for _, rs := range [][]trace.Route{adds, repl, dels} {
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		}
	}
	in := make(map[netip.Addr]bool, len(adds))
	for _, r := range adds {
		in[r.Dst.Addr()] = true
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ipArgs := []string{"-n", name, "-4"}
	if ipRcvbuf > 0 {
		ipArgs = append(ipArgs, "-rcvbuf", strconv.Itoa(ipRcvbuf))
	}
	watchArgs := []string{"watch", "--netns", name, "--family", "4", "--json", "--cache-poll", "-1s"}
	if procs >= 0 {
		watchArgs = append(watchArgs, "--procs", strconv.Itoa(procs))
	}
	parseW := parseWatch
	if text {
		watchArgs = slices.DeleteFunc(watchArgs, func(a string) bool { return a == "--json" })
		parseW = parseWatchText
	}
	tools := []*tool{
		{name: "ip monitor", cmd: exec.CommandContext(ctx, "ip", append(ipArgs, "monitor", "route")...)},
		{name: "raceroute watch", cmd: exec.CommandContext(ctx, raceroute, watchArgs...)},
	}
	parsers := []func(*tool, io.Reader, map[netip.Addr]bool) error{parseIPMonitor, parseW}
	for i, t := range tools {
		t.state = map[netip.Addr]netip.Addr{}
		t.done = make(chan error, 1)
		out, err := t.cmd.StdoutPipe()
		if err != nil {
			return err
		}
		t.cmd.Stderr = os.Stderr
		if err := t.cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", t.name, err)
		}
		go func() { t.done <- parsers[i](t, out, in) }()
	}
	time.Sleep(500 * time.Millisecond) // both subscribed

	w, err := write.NewRouteWriter(nl.Options{Netns: name})
	if err != nil {
		return err
	}
	defer w.Close()
	w.Batch = batch
	start := time.Now()
	for _, st := range []struct {
		op write.Op
		rs []trace.Route
	}{{write.OpAdd, adds}, {write.OpReplace, repl}, {write.OpDelete, dels}} {
		if got, err := w.Write(ctx, st.op, st.rs); err != nil || got != len(st.rs) {
			return fmt.Errorf("%v: %d of %d routes: %v", st.op, got, len(st.rs), err)
		}
	}
	wrote := time.Since(start)

	// Quiet: nothing new for 2 s from either tool, and the watch has
	// finished the resync that follows its last overflow (on a loaded
	// host the dump and its diff can take longer than 2 s; give up after
	// a minute).
	settle := func() {
		prev := -1
		deadline := time.Now().Add(time.Minute)
		for stable := 0; stable < 20; {
			time.Sleep(100 * time.Millisecond)
			sum, resyncDue := 0, false
			for _, t := range tools {
				t.mu.Lock()
				sum += t.events + t.resynced
				resyncDue = resyncDue || t.behind
				t.mu.Unlock()
			}
			if resyncDue && time.Now().Before(deadline) {
				stable, prev = 0, sum
				continue
			}
			if sum == prev {
				stable++
			} else {
				stable, prev = 0, sum
			}
		}
	}
	settle()
	use := make([]usage, len(tools))
	for i, t := range tools {
		use[i], _ = usageOf(t.cmd.Process.Pid)
	}
	cancel()
	for _, t := range tools {
		t.cmd.Wait()
		<-t.done
	}

	bufNote := "iproute2's default receive buffer"
	if ipRcvbuf > 0 {
		bufNote = fmt.Sprintf("ip -rcvbuf %d", ipRcvbuf)
	}
	order := "address order"
	if shuffle {
		order = "a random order"
	}
	fmt.Printf("storm: %d route events written in batches of %d, each phase in %s, in %v (%.0f events/s); ip monitor with %s, raceroute watch with %d\n\n",
		n, batch, order, wrote.Round(time.Millisecond), float64(n)/wrote.Seconds(), bufNote, monitor.DefaultRcvBuf)
	fmt.Printf("%-16s %10s %10s %10s %10s %12s %12s %14s\n", "tool", "received", "lost", "overflows", "resynced", "wrong at end", "events/s", "events/CPU-s")
	type res struct{ lost, wrong, rate, perCPU float64 }
	var rs []res
	for i, t := range tools {
		wrong := 0
		for dst, gw := range final {
			if t.state[dst] != gw {
				wrong++
			}
		}
		for dst := range t.state {
			if _, ok := final[dst]; !ok {
				wrong++
			}
		}
		lost := n - t.events
		span := t.last.Sub(t.first).Seconds()
		rate := float64(t.events) / max(span, wrote.Seconds())
		perCPU := float64(t.events) / max(use[i].cpu.Seconds(), 0.01)
		ov := strconv.Itoa(t.overflow)
		if i == 0 {
			ov = "n/a"
		}
		fmt.Printf("%-16s %10d %10d %10s %10d %12d %12.0f %14.0f\n", t.name, t.events, lost, ov, t.resynced, wrong, rate, perCPU)
		rs = append(rs, res{float64(lost), float64(wrong), rate, perCPU})
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			if a == 0 {
				return "1 (both 0)"
			}
			return "inf"
		}
		return fmt.Sprintf("%.3f", a/b)
	}
	fmt.Printf("\nratios raceroute watch / ip monitor: events lost %s, wrong at end %s, events/s %s, events per CPU-second %s\n",
		ratio(rs[1].lost, rs[0].lost), ratio(rs[1].wrong, rs[0].wrong), ratio(rs[1].rate, rs[0].rate), ratio(rs[1].perCPU, rs[0].perCPU))
	for i, t := range tools {
		fmt.Printf("%s: %v CPU, %d minor page faults, peak resident %d MiB\n", t.name, use[i].cpu, use[i].minflt, use[i].peak>>20)
	}
	fmt.Println("(lost: storm events never printed live; resynced: routes re-reported after an overflow; wrong at end: routes whose final state the tool's output gets wrong)")
	if rs[1].wrong != 0 {
		return fmt.Errorf("raceroute watch ends with %d routes wrong", int(rs[1].wrong))
	}
	return nil
}
