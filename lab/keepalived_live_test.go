package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/live/netns/nstest"
	"raceroute/scenario"
	"raceroute/trace"
)

// TestKeepalivedLive runs keepalived-failover (cut to 8 s) with its
// announcer as the real keepalived: keepalived must start, become
// MASTER near the sender's drawn start, send its two bursts of 5
// gratuitous requests 5 s apart (its own timer, not the lab's frames),
// be stopped with the run (no process left), and the verdict must agree
// with the model's.
//
// The timing is keepalived's and the machine's: on a loaded machine
// keepalived can react to its tracked file, or the sniffer see its
// frames, 100 ms to a second late (seen in 1 of 6 runs at load 10, and
// in 2 of 3 with lab/fuzz's 16 cases at once beside it). A run whose
// frames miss the timing checks is run again, up to 5 runs, and the
// last run must pass them all: a keepalived (or a lab) whose timing is
// wrong fails every run.
func TestKeepalivedLive(t *testing.T) {
	h := liveHost(t)
	nstest.RequireBinary(t, "keepalived")
	sc, err := scenario.Load("testdata/keepalived-short.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v := sc.Variants[0]
	const runs = 5
	var res *Result
	var ka kaTiming
	for run := 1; ; run++ {
		res = runLive(t, sc, v, h, Options{Seed: 1})
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("namespaces left behind: %v", l)
		}
		// keepalived ran, and said it became MASTER.
		master := false
		for _, e := range res.Events {
			master = master || e.Label == "[KEEPALIVED]" && strings.Contains(e.Text, "Entering MASTER STATE")
		}
		if !master {
			t.Fatalf("keepalived did not log MASTER; events: %v", labelled(res.Events, "[KEEPALIVED]"))
		}
		kaGone(t, res)
		ka = keepalivedTiming(res)
		late := ka.problems()
		if len(late) == 0 || run == runs {
			break
		}
		t.Logf("run %d of %d off keepalived's timing, run again: %s", run, runs, strings.Join(late, "; "))
	}
	if res.Verdict != explore.Holds {
		t.Errorf("live %s, want holds: %+v", res.Verdict, res.Properties)
	}
	if c := Compare(res, modelOf(t, sc, v, h)); c.Agreement != Agree {
		t.Errorf("comparison %s: %+v", c.Agreement, c.Properties)
	}
	if len(ka.at) != 10 {
		for _, e := range res.Events {
			if e.Source != "netlink" || e.Label == "[KEEPALIVED]" {
				t.Logf("%.3f %s %s %s %s", e.T, e.Host, e.Source, e.Label, e.Text)
			}
		}
	}
	for _, p := range ka.problems() {
		t.Error(p)
	}
	if len(ka.at) > 0 {
		t.Logf("keepalived's first frame at t=%.3f, the scenario's start t=%.3f: %+v", ka.at[0], ka.start, ka.offset().Round(time.Millisecond))
	}
	found := false
	for _, n := range res.Notes {
		found = found || strings.Contains(n, "ARP sender announcer-b is keepalived") && strings.Contains(n, "its first gratuitous ARP for 172.24.4.10 came at t=")
	}
	if !found {
		t.Errorf("no note on keepalived's timing: %v", res.Notes)
	}
}

// kaTiming is what a run of keepalived-short tells of keepalived's
// timing: when tempest received router-b's gratuitous requests for
// 172.24.4.10, and the sender's drawn start.
type kaTiming struct {
	at    []float64
	start float64
}

func keepalivedTiming(res *Result) kaTiming {
	var k kaTiming
	for _, e := range res.Events {
		r := e.Record()
		if e.Host == "tempest" && r != nil && r.Kind == trace.KindFrame && r.Frame.Gratuitous() &&
			r.Frame.Op == trace.FrameARPRequest && r.Frame.SenderIP.String() == "172.24.4.10" && r.Frame.SenderHW.String() == "fa:16:3e:bb:bb:bb" {
			k.at = append(k.at, e.T)
		}
	}
	for _, d := range res.Draws {
		if d.What == "announcer-b start" {
			k.start = d.At
		}
	}
	return k
}

// offset is the first frame's time from the sender's drawn start.
func (k kaTiming) offset() time.Duration {
	return time.Duration((k.at[0] - k.start) * float64(time.Second))
}

// problems lists how the frames miss keepalived's timing: 5 + 5
// frames, the first 5 at once, the second burst vrrp_garp_master_delay
// (5 s) after the first, and the first frame within 100 ms of the
// sender's start (keepalived's reaction to its tracked file and its
// timer separate them).
func (k kaTiming) problems() []string {
	if len(k.at) != 10 {
		return []string{fmt.Sprintf("router-b sent %d gratuitous requests for 172.24.4.10 (%v), want keepalived's 5 + 5", len(k.at), k.at)}
	}
	var out []string
	if burst := k.at[4] - k.at[0]; burst > 0.1 {
		out = append(out, fmt.Sprintf("first burst spread over %.3f s, want keepalived's 5 at once", burst))
	}
	if gap := k.at[5] - k.at[0]; gap < 4.9 || gap > 5.2 {
		out = append(out, fmt.Sprintf("second burst %.3f s after the first, want keepalived's vrrp_garp_master_delay 5 s", gap))
	}
	if off := k.offset(); off.Abs() > 100*time.Millisecond {
		out = append(out, fmt.Sprintf("keepalived's first frame %v from the sender's start, want within 100 ms", off))
	}
	return out
}

// kaGone checks that the run's keepalived was started and is gone,
// with its VRRP process and its files.
func kaGone(t *testing.T, res *Result) {
	t.Helper()
	var pid int
	var dir string
	for _, e := range res.Events {
		if m := regexp.MustCompile(`keepalived \(pid (\d+)\) started`).FindStringSubmatch(e.Text); e.Label == "[KEEPALIVED]" && m != nil {
			fmt.Sscan(m[1], &pid)
		}
		if m := regexp.MustCompile(`-f (\S+)/keepalived.conf`).FindStringSubmatch(e.Text); e.Label == "[KEEPALIVED]" && m != nil {
			dir = m[1]
		}
	}
	if pid == 0 || dir == "" {
		t.Fatalf("no keepalived started (pid %d, directory %q): %v", pid, dir, labelled(res.Events, "[KEEPALIVED]"))
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("keepalived (pid %d) still runs after the run", pid)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), dir) {
			t.Errorf("a process of the run's keepalived still runs: %s %q", p, b)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("keepalived's directory %s is left", dir)
	}
}

// TestKeepalivedStopsOnEveryExit: a run interrupted, or whose actor
// panics, stops its keepalived (both processes) and removes its files.
func TestKeepalivedStopsOnEveryExit(t *testing.T) {
	h := liveHost(t)
	nstest.RequireBinary(t, "keepalived")
	sc, err := scenario.Load("testdata/keepalived-short.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Prepare(sc, sc.Variants[0], h)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("interrupted", func(t *testing.T) {
		// Interrupted at the run's first progress report, a second
		// into its timeline: its hosts are built however long that took
		// (a fixed 2 s could end a loaded machine's run before).
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := l.Run(ctx, Options{Seed: 1, Progress: func(time.Duration, time.Duration) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after its context ended: %v, want context.Canceled", err)
		}
		kaGone(t, res)
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("an interrupted run left %v", l)
		}
	})
	t.Run("panic", func(t *testing.T) {
		res, err := l.Run(context.Background(), Options{Seed: 1, Progress: func(time.Duration, time.Duration) { panic("boom") }})
		if err == nil || !strings.Contains(err.Error(), "panic: boom") {
			t.Errorf("Run whose progress panicked: %v", err)
		}
		kaGone(t, res)
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("a run that panicked left %v", l)
		}
	})
}

func labelled(events []Event, label string) []string {
	var out []string
	for _, e := range events {
		if e.Label == label {
			out = append(out, e.Text)
		}
	}
	return out
}
