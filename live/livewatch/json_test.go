package livewatch_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/iproute2"
	"raceroute/kernel"
	"raceroute/live/livewatch"
	"raceroute/trace"
)

func TestAppendJSON(t *testing.T) {
	ts := time.Date(2026, 11, 21, 20, 0, 0, 123456000, time.UTC)
	mac := kernel.MACFrom6([6]byte{2, 0, 0, 0, 0, 1})
	tests := []struct {
		name string
		r    trace.Record
		want map[string]any
	}{
		{"replaced route", trace.Record{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Netns: "n1",
			Route: trace.Route{Family: 6, Table: 254, Type: 1, Dst: netip.MustParsePrefix("2001:db8::/64"), Gateway: netip.MustParseAddr("fe80::1"), Dev: "eth0", Metric: 1024, Proto: 42}},
			map[string]any{"kind": "route", "time": "2026-11-21T20:00:00.123456Z", "action": "new", "netns": "n1", "replace": true,
				"dst": "2001:db8::/64", "gateway": "fe80::1", "dev": "eth0", "table": 254.0, "metric": 1024.0, "proto": "babel", "type": "unicast"}},
		{"resynced cache deletion", trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Resync: true,
			Route: trace.Route{Family: 6, Table: 254, Type: 7, Dst: netip.MustParsePrefix("2001:db8::1/128"), Cloned: true, Dev: "lo", Error: -101}},
			map[string]any{"kind": "cache", "action": "del", "resync": true, "cloned": true, "dst": "2001:db8::1/128", "dev": "lo", "table": 254.0, "type": "unreachable", "proto": "unspec"}},
		{"neighbour with odd device name", trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Inferred: true,
			Neigh: trace.Neigh{Family: 4, Addr: netip.MustParseAddr("10.0.0.1"), LLAddr: mac, Dev: "e\"t\\h\x01\xff", State: kernel.NUDReachable}},
			map[string]any{"kind": "neigh", "action": "new", "inferred": true, "dst": "10.0.0.1", "dev": "e\"t\\h\x01\ufffd", "lladdr": "02:00:00:00:00:01", "state": "REACHABLE"}},
		{"overflow", trace.Record{Time: ts, Kind: trace.KindOverflow, Lost: 3},
			map[string]any{"kind": "overflow", "time": "2026-11-21T20:00:00.123456Z", "lost": 3.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := livewatch.AppendJSON(nil, &tc.r)
			if !strings.HasSuffix(string(b), "}\n") || strings.Count(string(b), "\n") != 1 {
				t.Fatalf("not one line: %q", b)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("invalid JSON %q: %v", b, err)
			}
			if got["text"] == "" || got["text"] == nil {
				t.Errorf("no text in %s", b)
			}
			delete(got, "text")
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("unexpected field %s = %#v", k, got[k])
				}
			}
		})
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("eth0", "state")
	f.Add("\xff\x00\"", "\\")
	f.Fuzz(func(t *testing.T, dev, netns string) {
		r := trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Netns: netns, Link: trace.Link{Name: dev}}
		b := livewatch.AppendJSON(nil, &r)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
	})
}

// What watch --json prints of a record, replay-trace reads back as the
// same record.
func TestAppendJSONReadsBack(t *testing.T) {
	ts := time.Date(2026, 11, 21, 20, 0, 0, 123456789, time.UTC)
	mac := kernel.MACFrom6([6]byte{2, 0, 0, 0, 0, 1})
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	recs := []trace.Record{
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Netns: "n1",
			Route: trace.Route{Family: 6, Table: 254, Type: 1, Dst: pfx("2001:db8::/64"), Gateway: addr("fe80::1"), Dev: "eth0", Metric: 1024, Proto: 42}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Initial: true,
			Route: trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnreachable, Dst: pfx("2001:db8::/48"), Dev: "lo", Metric: 4294967295, Proto: 42}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionDel, Resync: true,
			Route: trace.Route{Family: 6, Table: 254, Type: 7, Dst: pfx("2001:db8::1/128"), Cloned: true, Dev: "lo", Error: -101}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Polled: true,
			Route: trace.Route{Family: 6, Table: 254, Type: 1, Dst: pfx("2001:db8::2/128"), Gateway: addr("fe80::2"), Dev: "eth0", Cloned: true, Expires: 500 * time.Second}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionDel, Inferred: true,
			Route: trace.Route{Family: 4, Table: 254, Type: 1, Dst: pfx("10.1.0.0/24"), Gateway: addr("10.9.0.2"), Dev: "va", Proto: 4}},
		{Time: ts, Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: trace.Neigh{Family: 4, Addr: addr("10.0.0.1"), LLAddr: mac, Dev: "eth0", State: kernel.NUDReachable}},
		{Time: ts, Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 2, Name: "va", MAC: mac, Up: true, MTU: 1500}},
		{Time: ts, Kind: trace.KindAddr, Action: trace.ActionNew, Addr: trace.Addr{Family: 6, Prefix: pfx("fd00:9::1/64"), Ifindex: 2, Dev: "va"}},
		{Time: ts, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: trace.Frame{Op: trace.FrameARPReply, Dev: "eth0", SrcMAC: mac, DstMAC: mac,
			SenderIP: addr("10.0.0.1"), SenderHW: mac, TargetIP: addr("10.0.0.1"), TargetHW: mac}},
		{Time: ts, Kind: trace.KindOverflow},
		{Time: ts, Kind: trace.KindResync, Lost: 3},
	}
	var b []byte
	for i := range recs {
		b = livewatch.AppendJSON(b, &recs[i])
	}
	got, errs, err := iproute2.ParseMonitor(strings.NewReader(string(b)), iproute2.MonitorOptions{})
	if err != nil || len(errs) != 0 || len(got) != len(recs) {
		t.Fatalf("read back %d records, errors %v %v, from:\n%s", len(got), errs, err, b)
	}
	for i, want := range recs {
		if g, w := iproute2.FormatMonitor(got[i], true), iproute2.FormatMonitor(want, true); g != w || !got[i].Time.Equal(want.Time) {
			t.Errorf("record %d read back as\n%s (%v)\nwant\n%s (%v)", i, g, got[i].Time, w, want.Time)
		}
	}
}
