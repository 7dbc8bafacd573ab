package main

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"raceroute/live/livewatch"
	"raceroute/trace"
)

// TestEventFieldsAsUnmarshal checks eventFields against encoding/json
// on the watch's own lines.
func TestEventFieldsAsUnmarshal(t *testing.T) {
	at := time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)
	for _, r := range []trace.Record{
		{Time: at, Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 4, Table: 254, Type: 1,
			Dst: netip.MustParsePrefix("10.64.0.1/32"), Gateway: netip.MustParseAddr("10.9.0.2"), Dev: "va", Metric: 1024, Proto: 4}},
		{Time: at, Kind: trace.KindRoute, Action: trace.ActionDel, Resync: true, Route: trace.Route{Family: 4, Table: 254, Type: 1,
			Dst: netip.MustParsePrefix("10.64.0.2/32"), Dev: `v",\"a`}},
		{Time: at, Kind: trace.KindOverflow, Lost: 3},
		{Time: at, Kind: trace.KindResync},
		{Time: at, Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 2, Name: `x","dst":"10.0.0.9/32`}},
	} {
		line := livewatch.AppendJSON(nil, &r)
		var want watchEvent
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got, ok := eventFields(line)
		if !ok || got != want {
			t.Errorf("%s:\n eventFields %+v, %v\n encoding/json %+v", line, got, ok, want)
		}
	}
}

// TestEventFields covers lines the watch does not write as events.
func TestEventFields(t *testing.T) {
	for _, tc := range []struct {
		line string
		want watchEvent
		ok   bool
	}{
		{line: `{"finding":{"kind":"route","dst":"10.0.0.1/32"}}`},
		{line: `{"heal":{"entry":"x"}}`},
		{line: `{"kind":"route","dst":"10.0.0.3/32","text":"Deleted ,\"gateway\":\"1.2.3.4\",\"resync\":true"}`,
			want: watchEvent{Kind: "route", Dst: "10.0.0.3/32"}, ok: true},
		{line: `{"kind":"route","dst":"10.0.0.4/32","resync":false}`, want: watchEvent{Kind: "route", Dst: "10.0.0.4/32"}, ok: true},
		{line: `{"kind":"route","dst":"10.0.\"5/32"}`, want: watchEvent{Kind: "route"}, ok: true}, // an escaped value: left empty
		{line: `{"kind":"route","dst":"10.0.0.6/32`, want: watchEvent{Kind: "route"}, ok: true},   // cut short
		{line: `{"kind":`, ok: true},
	} {
		got, ok := eventFields([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %+v, %v, want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
