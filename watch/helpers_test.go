package watch

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
)

// t0 is the start of the synthetic traces.
var t0 = time.Date(2016, 6, 11, 22, 30, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// stamped prefixes an `ip monitor` line with the -ts stamp of t0+d.
func stamped(d time.Duration, line string) string {
	return fmt.Sprintf("[%s] %s", at(d).Format(iproute2.TimeLayout), line)
}

// deleted marks a labelled `ip monitor` line as a deletion.
func deleted(line string) string { return strings.Replace(line, "]", "]Deleted ", 1) }

func mac(t testing.TB, s string) kernel.MAC {
	t.Helper()
	m, err := kernel.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run feeds recs to a new engine, ticks well past the last record, and
// returns every finding.
func run(t testing.TB, cfg Config, recs []trace.Record) ([]Finding, *Engine) {
	t.Helper()
	e := NewEngine(cfg)
	var out []Finding
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

// parseLines reads `ip monitor`-syntax lines (in the -ts format or any
// other ParseMonitor accepts) into records; a bad line fails the test.
func parseLines(t testing.TB, lines ...string) []trace.Record {
	t.Helper()
	recs, errs, err := iproute2.ParseMonitor(strings.NewReader(strings.Join(lines, "\n")), iproute2.MonitorOptions{Day: t0})
	if err != nil || len(errs) != 0 {
		t.Fatalf("bad test input: %v %v", err, errs)
	}
	return recs
}

func parseFile(t testing.TB, name string) []trace.Record {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, errs, err := iproute2.ParseMonitor(f, iproute2.MonitorOptions{Name: name, Day: t0})
	if err != nil || len(errs) != 0 {
		t.Fatalf("%s: %v %v", name, err, errs)
	}
	return recs
}

func byDetector(fs []Finding, detector string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Detector == detector {
			out = append(out, f)
		}
	}
	return out
}

func neighRec(t testing.TB, when time.Time, action trace.Action, addr, dev, lladdr string, state kernel.NUD) trace.Record {
	n := trace.Neigh{Family: 4, Addr: netip.MustParseAddr(addr), Dev: dev, State: state}
	if n.Addr.Is6() {
		n.Family = 6
	}
	if lladdr != "" {
		n.LLAddr = mac(t, lladdr)
	}
	return trace.Record{Time: when, Kind: trace.KindNeigh, Action: action, Neigh: n}
}

func arpRec(t testing.TB, when time.Time, op uint8, dev, sender, senderMAC, target string) trace.Record {
	f := trace.Frame{Op: op, Dev: dev, SenderIP: netip.MustParseAddr(sender), SenderHW: mac(t, senderMAC),
		SrcMAC: mac(t, senderMAC), DstMAC: mac(t, "ff:ff:ff:ff:ff:ff")}
	if target != "" {
		f.TargetIP = netip.MustParseAddr(target)
	}
	if op == trace.FrameARPReply && f.TargetIP == f.SenderIP {
		f.TargetHW = f.SenderHW
	}
	return trace.Record{Time: when, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: f}
}
