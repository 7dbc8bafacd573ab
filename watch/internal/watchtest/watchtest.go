// Package watchtest has the helpers the tests of the watch packages
// share: synthetic `ip monitor` lines and records, and an engine run
// over them.
package watchtest

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/iproute2"
	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch"
)

// T0 is the start of the synthetic traces.
var T0 = time.Date(2016, 6, 11, 22, 30, 0, 0, time.UTC)

// At returns T0+d.
func At(d time.Duration) time.Time { return T0.Add(d) }

// Stamped prefixes an `ip monitor` line with the -ts stamp of T0+d.
func Stamped(d time.Duration, line string) string {
	return fmt.Sprintf("[%s] %s", At(d).Format(iproute2.TimeLayout), line)
}

// Deleted marks a labelled `ip monitor` line as a deletion.
func Deleted(line string) string { return strings.Replace(line, "]", "]Deleted ", 1) }

// MAC parses a MAC address or fails the test.
func MAC(t testing.TB, s string) kernel.MAC {
	t.Helper()
	m, err := kernel.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Run feeds recs to a new engine, ticks well past the last record, and
// returns every finding.
func Run(t testing.TB, cfg watch.Config, recs []trace.Record) ([]watch.Finding, *watch.Engine) {
	t.Helper()
	e := watch.NewEngine(cfg)
	var out []watch.Finding
	var last time.Time
	for _, r := range recs {
		out = append(out, e.Observe(r)...)
		if r.Time.After(last) {
			last = r.Time
		}
	}
	if !last.IsZero() {
		out = append(out, e.Tick(last.Add(time.Minute))...)
	}
	return out, e
}

// Finish feeds recs to a new engine and ends it with Finish a minute
// after the last record.
func Finish(t testing.TB, recs []trace.Record) []watch.Finding {
	t.Helper()
	e := watch.NewEngine(watch.DefaultConfig())
	var out []watch.Finding
	var last time.Time
	for _, r := range recs {
		out = append(out, e.Observe(r)...)
		if r.Time.After(last) {
			last = r.Time
		}
	}
	if !last.IsZero() {
		last = last.Add(time.Minute)
	}
	return append(out, e.Finish(last)...)
}

// ParseLines reads `ip monitor`-syntax lines (in the -ts format or any
// other ParseMonitor accepts) into records; a bad line fails the test.
func ParseLines(t testing.TB, lines ...string) []trace.Record {
	t.Helper()
	recs, errs, err := iproute2.ParseMonitor(strings.NewReader(strings.Join(lines, "\n")), iproute2.MonitorOptions{Day: T0})
	if err != nil || len(errs) != 0 {
		t.Fatalf("bad test input: %v %v", err, errs)
	}
	return recs
}

// ParseFile reads a recorded log into records; a bad line fails the
// test.
func ParseFile(t testing.TB, name string) []trace.Record {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, errs, err := iproute2.ParseMonitor(f, iproute2.MonitorOptions{Name: name, Day: T0})
	if err != nil || len(errs) != 0 {
		t.Fatalf("%s: %v %v", name, err, errs)
	}
	return recs
}

// ByDetector returns the findings of one detector.
func ByDetector(fs []watch.Finding, detector string) []watch.Finding {
	var out []watch.Finding
	for _, f := range fs {
		if f.Detector == detector {
			out = append(out, f)
		}
	}
	return out
}

// NeighRec returns a neighbour record.
func NeighRec(t testing.TB, when time.Time, action trace.Action, addr, dev, lladdr string, state kernel.NUD) trace.Record {
	n := trace.Neigh{Family: 4, Addr: netip.MustParseAddr(addr), Dev: dev, State: state}
	if n.Addr.Is6() {
		n.Family = 6
	}
	if lladdr != "" {
		n.LLAddr = MAC(t, lladdr)
	}
	return trace.Record{Time: when, Kind: trace.KindNeigh, Action: action, Neigh: n}
}

// ArpRec returns the record of an ARP (or NA) frame from sender.
func ArpRec(t testing.TB, when time.Time, op trace.FrameOp, dev, sender, senderMAC, target string) trace.Record {
	f := trace.Frame{Op: op, Dev: dev, SenderIP: netip.MustParseAddr(sender), SenderHW: MAC(t, senderMAC),
		SrcMAC: MAC(t, senderMAC), DstMAC: MAC(t, "ff:ff:ff:ff:ff:ff")}
	if target != "" {
		f.TargetIP = netip.MustParseAddr(target)
	}
	if op == trace.FrameARPReply && f.TargetIP == f.SenderIP {
		f.TargetHW = f.SenderHW
	}
	return trace.Record{Time: when, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: f}
}
