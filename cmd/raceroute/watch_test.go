package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/kernel"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
	"raceroute/watch"
)

// syncBuf is a buffer the watch writes to while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWatchBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"watch", "--for", "-1s"}, "--for -1s: want a positive duration (0: until interrupted)"},
		{[]string{"watch", "--window", "-5ms"}, "--window -5ms: want a positive duration"},
		{[]string{"watch", "--locktime", "-1s"}, "--locktime -1s: want a positive duration"},
		{[]string{"watch", "--garp-margin", "-1ms"}, "--garp-margin -1ms: want a positive duration"},
		{[]string{"watch", "--family", "5"}, "--family 5: want 4 or 6"},
		{[]string{"watch", "--rcvbuf", "-1"}, "--rcvbuf -1: want a size in bytes (0: 33554432)"},
		{[]string{"watch", "--procs", "-1"}, "--procs -1: want 1 or more, or 0 for one per core"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(context.Background(), tt.args, &out, &errb); got != cli.ExitBadInput {
				t.Errorf("exit %d, want %d; stderr %s", got, cli.ExitBadInput, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one line with %q", errb.String(), tt.want)
			}
		})
	}
}

// --dev must name an interface of the namespace being watched.
func TestWatchUnknownDev(t *testing.T) {
	a, _ := nstest.Pair(t, "cw")
	tests := []struct {
		dev  string
		code int
		want string
	}{
		{"nope", cli.ExitBadInput, `--dev "nope": no such interface in network namespace "` + a.Name + `" (it has lo, va)`},
		{"va", cli.ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.dev, func(t *testing.T) {
			var out, errb bytes.Buffer
			got := run(context.Background(), []string{"watch", "--netns", a.Name, "--dev", tt.dev, "--for", "300ms"}, &out, &errb)
			if got != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d with %q", got, errb.String(), tt.code, tt.want)
			}
		})
	}
}

// What watch --json prints, replay-trace reads: the findings it draws
// from the output are the watch's own. The covering route exists before
// the watch starts, so only the tables watch --json prints first let a
// replay name the route lookups fell through to.
func TestWatchJSONReplayRoundTrip(t *testing.T) {
	a, _ := nstest.Pair(t, "rt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, kv := range [][2]string{{"net.ipv6.conf.va.keep_addr_on_down", "1"}, {"net.ipv6.conf.va.accept_dad", "0"}} {
		if err := a.Sysctl(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	w, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rt := func(dst, gw string, metric uint32, typ kernel.RouteType) trace.Route {
		r := trace.Route{Family: 6, Dst: netip.MustParsePrefix(dst), Metric: metric, Proto: 42, Type: typ}
		if gw != "" {
			r.Gateway = netip.MustParseAddr(gw)
		} else {
			r.Dev = "lo"
		}
		return r
	}
	type step struct {
		op write.Op
		r  trace.Route
	}
	change := func(steps ...step) {
		t.Helper()
		for _, s := range steps {
			if _, err := w.Write(ctx, s.op, []trace.Route{s.r}); err != nil {
				t.Fatalf("%v %v: %v", s.op, s.r, err)
			}
		}
	}
	cover := rt("fd02::/48", "", 1024, kernel.RouteUnreachable)
	r1, r2 := rt("fd02:0:0:1::/64", "fd00:9::2", 1024, 1), rt("fd02:0:0:1::/64", "fd00:9::3", 1024, 1)
	r3, r4 := rt("fd03::/64", "fd00:9::2", 1024, 1), rt("fd03::/64", "fd00:9::3", 1024, 1)
	retr := rt("fd03::/64", "", 4294967295, kernel.RouteUnreachable)
	change(step{write.OpAdd, cover}, step{write.OpAdd, r1}, step{write.OpAdd, r3})

	var out, errb syncBuf
	done := make(chan int, 1)
	// The test's deletes and adds are separate writes: a loaded machine
	// may hold the writer, or the watch's reader, for more than the
	// default 50 ms window between them, so watch and replay-trace both
	// count gaps up to a second (the window's bound is routechange's
	// tests'). The watch runs 10 s from when it is up, for the changes
	// to come and be told within it.
	const window = time.Second
	go func() {
		done <- run(ctx, []string{"watch", "--json", "--netns", a.Name, "--for", "10s", "--window", window.String()}, &out, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), `"initial":true`) {
		if time.Now().After(deadline) {
			t.Fatalf("no initial record from watch --json within 30 s; stderr %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	change(step{write.OpDelete, r1}, step{write.OpAdd, r2})                                                      // a plain non-atomic change
	change(step{write.OpDelete, r3}, step{write.OpAdd, retr}, step{write.OpDelete, retr}, step{write.OpAdd, r4}) // one through a retraction
	if err := a.LinkDown("va"); err != nil {                                                                     // and a link flap
		t.Fatal(err)
	}
	if err := a.LinkUp("va"); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("watch exit %d: %s", code, errb.String())
	}

	var live []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v struct {
			Finding json.RawMessage `json:"finding"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("watch printed %q: %v", l, err)
		}
		if v.Finding != nil {
			live = append(live, canonicalJSON(t, v.Finding))
		}
	}
	release, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultReplayTraceOptions()
	opts.json, opts.kernelRelease, opts.window = true, strings.TrimSpace(string(release)), window
	var replayed, rerr bytes.Buffer
	if _, err := replayTrace(ctx, strings.NewReader(out.String()), "watch.json", &replayed, &rerr, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rerr.String(), "replay-trace: watch.json:") || !strings.Contains(rerr.String(), " 0 malformed lines skipped") {
		t.Errorf("replay-trace found malformed lines in watch --json output:\n%s", rerr.String())
	}
	var again []string
	for _, l := range strings.Split(strings.TrimSpace(replayed.String()), "\n") {
		if l != "" {
			again = append(again, canonicalJSON(t, []byte(l)))
		}
	}
	slices.Sort(live)
	slices.Sort(again)
	if !slices.Equal(live, again) {
		t.Errorf("findings differ\nwatch:\n%s\nreplay-trace:\n%s", strings.Join(live, "\n"), strings.Join(again, "\n"))
	}
	all := strings.Join(live, "\n")
	for _, want := range []string{"lookups fell through to `unreachable fd02::/48 dev lo proto babel metric 1024`", "through a retraction", `"detector":"kernel-route-churn"`} {
		if !strings.Contains(all, want) {
			t.Errorf("watch findings lack %q:\n%s", want, all)
		}
	}
}

// canonicalJSON re-encodes a JSON object with sorted keys.
func canonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	c, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(c)
}

// The detector flags reach the engine as given; those not given stay
// zero, for the engine's defaults.
func TestWatchEngineFlags(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		flags watchFlags
		want  watch.Config
	}{
		{watchFlags{}, watch.Config{}},
		{watchFlags{window: 10 * ms}, watch.Config{NonAtomicWindow: 10 * ms}},
		{watchFlags{margin: 2000 * ms, locktime: 3000 * ms}, watch.Config{GARPMargin: 2000 * ms, Locktime: 3000 * ms}},
	}
	for _, tt := range tests {
		cfg, err := tt.flags.watchConfig()
		if err != nil || cfg.Engine != tt.want {
			t.Errorf("flags %+v: engine config %+v, %v; want %+v", tt.flags, cfg.Engine, err, tt.want)
		}
	}
}

// --rcvbuf reaches the subscription's options; 0 leaves its default.
func TestWatchRcvBufFlag(t *testing.T) {
	for _, n := range []int{0, 1 << 20, 64 << 20} {
		cfg, err := (&watchFlags{rcvbuf: n}).watchConfig()
		if err != nil || cfg.RcvBuf != n {
			t.Errorf("--rcvbuf %d: config RcvBuf %d, %v", n, cfg.RcvBuf, err)
		}
	}
}

// --procs sets GOMAXPROCS for the watch, 0 leaves the runtime's; a
// GOMAXPROCS in the environment stands unless --procs is given.
func TestWatchProcs(t *testing.T) {
	tests := []struct {
		procs int
		given bool
		env   string
		want  int
	}{
		{1, false, "", 1},
		{1, false, "4", 0},
		{2, true, "4", 2},
		{0, true, "", 0},
		{0, true, "1", 0},
		{3, true, "", 3},
	}
	for _, tt := range tests {
		if got := watchProcs(tt.procs, tt.given, tt.env); got != tt.want {
			t.Errorf("watchProcs(%d, given %v, GOMAXPROCS=%q) = %d, want %d", tt.procs, tt.given, tt.env, got, tt.want)
		}
	}
}

// The watch runs on the threads --procs gives it and leaves GOMAXPROCS
// as it found it when it returns (the tests run it in their process).
func TestWatchProcsRestored(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Setenv("GOMAXPROCS", "")
	}
	a, _ := nstest.Pair(t, "cp")
	const before = 3
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(before))
	var out syncBuf
	var errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	during := make(chan int, 1)
	go func() {
		// The watch is up once it has printed the namespace's tables.
		for ctx.Err() == nil && !strings.Contains(out.String(), "initial") {
			time.Sleep(5 * time.Millisecond)
		}
		during <- runtime.GOMAXPROCS(0)
	}()
	if got := run(ctx, []string{"watch", "--netns", a.Name, "--json", "--for", "300ms"}, &out, &errb); got != cli.ExitOK {
		t.Fatalf("exit %d, stderr %s", got, errb.String())
	}
	cancel() // had the watch printed nothing, the sampler reads GOMAXPROCS now
	if n := <-during; n != 1 {
		t.Errorf("GOMAXPROCS %d while watching, want 1 (the default --procs)", n)
	}
	if n := runtime.GOMAXPROCS(0); n != before {
		t.Errorf("GOMAXPROCS %d after the watch, want %d as before it", n, before)
	}
}

// --kernel of replay-trace takes a profile name, a release or auto; a
// wrong one is a usage error.
func TestReplayTraceKernel(t *testing.T) {
	for _, k := range []string{"rhel-7.3", "3.10.0-514.el7.x86_64", "auto", "debian-8"} {
		if code, _, stderr := runCLI(t, "replay-trace", "--kernel", k, "../../watch/testdata/seed-bad.log"); code != 0 {
			t.Errorf("--kernel %s: exit %d %s", k, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "replay-trace", "--kernel", "banana", "../../watch/testdata/seed-bad.log"); code != cli.ExitBadInput || !strings.Contains(stderr, "--kernel") {
		t.Errorf("--kernel banana: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "replay-trace", "--kernel", "rhel-7.4[garp=never]", "../../watch/testdata/seed-bad.log"); code != cli.ExitBadInput || !strings.Contains(stderr, "assumptions") {
		t.Errorf("--kernel with assumptions: exit %d %s", code, stderr)
	}
}

// replay-trace --format html writes a timeline page of the trace.
func TestReplayTraceHTML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seed.html")
	code, _, stderr := runCLI(t, "replay-trace", "--format", "html", "-o", out, "../../watch/testdata/seed-bad.log")
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("cache-contradicts-route")) {
		t.Fatalf("page: %v, %d bytes", err, len(b))
	}
	if code, _, stderr := runCLI(t, "replay-trace", "--format", "pdf", "../../watch/testdata/seed-bad.log"); code != cli.ExitBadInput || !strings.Contains(stderr, "--format") {
		t.Fatalf("--format pdf: %d %s", code, stderr)
	}
}
