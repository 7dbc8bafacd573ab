package livewatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"raceroute/live/livewatch"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
	"raceroute/watch"
)

// syncBuf is a goroutine-safe output buffer.
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

// findings collects findings from a watch.
type findings struct {
	mu sync.Mutex
	fs []watch.Finding
}

func (f *findings) add(x watch.Finding) {
	f.mu.Lock()
	f.fs = append(f.fs, x)
	f.mu.Unlock()
}

// wait returns the first finding of detector, or fails after timeout.
func (f *findings) wait(t *testing.T, detector string, timeout time.Duration) watch.Finding {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		for _, x := range f.fs {
			if x.Detector == detector {
				f.mu.Unlock()
				return x
			}
		}
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Fatalf("no %s finding within %v; findings: %v", detector, timeout, f.fs)
	return watch.Finding{}
}

func (f *findings) all() []watch.Finding {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]watch.Finding(nil), f.fs...)
}

// start runs a watch in the background until the test ends.
func start(t *testing.T, cfg livewatch.Config) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	cfg.Ready = ready
	errc := make(chan error, 1)
	go func() { errc <- livewatch.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("watch: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("watch not ready after 10s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func pair(t *testing.T) (a, b *netns.NS) { return nstest.Pair(t, "w") }

// pairB is pair for benchmarks.
func pairB(t testing.TB) (a, b *netns.NS) { return nstest.Pair(t, "w") }

func TestWatchNonAtomicChangeMetricsAndOutput(t *testing.T) {
	a, _ := pair(t)
	tests := []struct {
		name string
		json bool
		want []string
	}{
		{"text", false, []string{"[ROUTE]", "Deleted", "fd01::/64", "finding: ", watch.DetectorNonAtomic, "Replaced"}},
		{"json", true, []string{`"kind":"route"`, `"action":"del"`, `"dst":"fd01::/64"`, `"finding":{"detector":"` + watch.DetectorNonAtomic, `"replace":true`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuf
			var fs findings
			var metricsAddr string
			// The test's own delete and add are two writes: a loaded
			// machine may hold the writer, or the watch's reader, for
			// more than the default 50 ms window between them. The
			// window's bound is routechange's tests'; here a second.
			stop := start(t, livewatch.Config{
				Netns: a.Name, JSON: tc.json, Out: &out, Metrics: "127.0.0.1:0", Prefix: netip.MustParsePrefix("fd01::/16"),
				OnFinding: fs.add, OnMetricsListen: func(s string) { metricsAddr = s },
				Engine: watch.Config{NonAtomicWindow: time.Second},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			w, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			r1 := trace.Route{Family: 6, Dst: netip.MustParsePrefix("fd01::/64"), Gateway: netip.MustParseAddr("fd00:9::2"), Metric: 1024, Proto: 42}
			r2 := r1
			r2.Gateway = netip.MustParseAddr("fd00:9::3")
			r3 := r2
			r3.Gateway = netip.MustParseAddr("fd00:9::4")
			// babeld's way: delete, then add. Then the atomic way.
			for _, st := range []struct {
				op write.Op
				r  trace.Route
			}{{write.OpAdd, r1}, {write.OpDelete, r1}, {write.OpAdd, r2}, {write.OpReplace, r3}, {write.OpDelete, r3}} {
				if _, err := w.Write(ctx, st.op, []trace.Route{st.r}); err != nil {
					t.Fatal(err)
				}
			}
			f := fs.wait(t, watch.DetectorNonAtomic, 15*time.Second)
			if !strings.Contains(strings.Join(f.Objects, " "), "fd01::/64") || f.Evidence == "" {
				t.Errorf("finding %v does not name fd01::/64 with evidence", f)
			}
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, m := range []string{
				`raceroute_watch_findings_total{detector="` + watch.DetectorNonAtomic + `"} 1`,
				`raceroute_watch_events_total{kind="route"}`,
				`raceroute_watch_netlink_drops_total 0`,
				`raceroute_watch_resyncs_total 0`,
			} {
				if !strings.Contains(string(body), m) {
					t.Errorf("metrics lack %q:\n%s", m, body)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q:\n%s", s, got)
				}
			}
			// The prefix filter hid the link-local and IPv4 routes.
			if strings.Contains(got, "10.9.0.0/24") || strings.Contains(got, "fe80::/64") {
				t.Errorf("output shows events outside --prefix:\n%s", got)
			}
			if tc.json {
				for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil {
						t.Errorf("not a JSON line: %q: %v", line, err)
					}
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	rt := func(dst, dev string) *trace.Record {
		return &trace.Record{Kind: trace.KindRoute, Route: trace.Route{Dst: netip.MustParsePrefix(dst), Dev: dev}}
	}
	tests := []struct {
		name   string
		r      *trace.Record
		dev    string
		prefix string
		want   bool
	}{
		{"no filter", rt("10.0.0.0/8", "eth0"), "", "", true},
		{"dev match", rt("10.0.0.0/8", "eth0"), "eth0", "", true},
		{"dev mismatch", rt("10.0.0.0/8", "eth0"), "eth1", "", false},
		{"inside prefix", rt("10.1.0.0/16", "eth0"), "", "10.0.0.0/8", true},
		{"covering route is not inside", rt("10.0.0.0/8", "eth0"), "", "10.1.0.0/16", false},
		{"other family", rt("fd00::/8", "eth0"), "", "10.0.0.0/8", false},
		{"neighbour inside", &trace.Record{Kind: trace.KindNeigh, Neigh: trace.Neigh{Addr: netip.MustParseAddr("10.1.2.3"), Dev: "eth0"}}, "", "10.0.0.0/8", true},
		{"overflow passes", &trace.Record{Kind: trace.KindOverflow}, "eth0", "10.0.0.0/8", true},
		{"link hidden by prefix", &trace.Record{Kind: trace.KindLink, Link: trace.Link{Name: "eth0"}}, "", "10.0.0.0/8", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p netip.Prefix
			if tc.prefix != "" {
				p = netip.MustParsePrefix(tc.prefix)
			}
			if got := livewatch.Match(tc.r, tc.dev, p); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

// A watch whose output's reader is gone ends, without an error, as
// SIGPIPE would end it on a pipe to fd 1: with the reader gone before it
// starts, and once it is up.
func TestWatchEndsWhenOutputReaderGoes(t *testing.T) {
	a, _ := pair(t)
	for _, early := range []bool{true, false} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if early {
			r.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ready := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			errc <- livewatch.Run(ctx, livewatch.Config{Netns: a.Name, JSON: true, Out: w, CachePoll: -1, Ready: ready})
		}()
		if !early {
			select {
			case <-ready:
			case err := <-errc:
				t.Fatalf("watch ended before it was up: %v", err)
			}
			r.Close()
			// Something to print: the watch finds the reader gone at its
			// next write.
			if err := a.AddrAdd("va", netip.MustParsePrefix("10.99.0.1/24")); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("reader gone early=%v: watch ended with %v, want no error", early, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("reader gone early=%v: watch still running after 15 s", early)
		}
		cancel()
		w.Close()
	}
}
