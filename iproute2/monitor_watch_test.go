package iproute2

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// What raceroute watch prints, in text and in JSON, reads back as its
// events; its findings and heal results, conclusions, are skipped.
func TestParseMonitorWatchOutput(t *testing.T) {
	ts := time.Date(2026, 11, 21, 20, 0, 0, 123456789, time.UTC)
	route := trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8::/64"),
		Gateway: netip.MustParseAddr("fe80::1"), Dev: "eth0", Metric: 1024, Proto: 42}
	tests := []struct {
		name string
		in   string
		want []trace.Record
	}{
		{"JSON event", `{"kind":"route","time":"2026-11-21T20:00:00.123456789Z","action":"del","netns":"n1","dst":"2001:db8::/64","text":"[nsid n1][ROUTE]Deleted 2001:db8::/64 via fe80::1 dev eth0 proto babel metric 1024"}`,
			[]trace.Record{{Time: ts, Kind: trace.KindRoute, Action: trace.ActionDel, Netns: "n1", Line: 1, Route: route}}},
		{"JSON initial event without a time", `{"kind":"route","action":"new","initial":true,"text":"[ROUTE]Initial 2001:db8::/64 via fe80::1 dev eth0 proto babel metric 1024"}`,
			[]trace.Record{{Kind: trace.KindRoute, Action: trace.ActionNew, Initial: true, Line: 1, Route: route}}},
		{"JSON overflow", `{"kind":"overflow","time":"2026-11-21T20:00:00.123456789Z","text":"[OVERFLOW]receive buffer overflow (ENOBUFS): events lost, count unknown"}`,
			[]trace.Record{{Time: ts, Kind: trace.KindOverflow, Line: 1}}},
		{"JSON finding and heal", `{"finding":{"detector":"non-atomic-route-change","severity":"warning","objects":[],"evidence":"x","advice":"y"}}` + "\n" +
			`{"heal":{"entry":"[RTCAH]Cloned 2001:db8::1 dev eth0 metric 0 \\ cache","ok":true}}`, nil},
		{"text finding and heal", "finding: 2026-11-21T20:00:00.123456 warning non-atomic-route-change: 2001:db8::/64 via fe80::1 dev eth0\n" +
			"    evidence: proto babel (42) deleted it\n    advice: Make the change one RTM_NEWROUTE\n" +
			"heal: deleted [RTCAH]Cloned 2001:db8::1 dev eth0 metric 0 \\ cache\nheal failed: [RTCAH]Cloned 2001:db8::1 dev eth0 metric 0 \\ cache: gone", nil},
		{"iproute2's receive overflow", "netlink receive error No buffer space available (105)", []trace.Record{{Kind: trace.KindOverflow, Line: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseAll(t, tt.in, MonitorOptions{})
			if len(errs) != 0 {
				t.Fatalf("errors %v", errs)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("records %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if FormatMonitor(got[i], true) != FormatMonitor(tt.want[i], true) || got[i].Line != tt.want[i].Line || !got[i].Time.Equal(tt.want[i].Time) {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// Lines that cannot be read are reported quoted, their control bytes
// escaped: nothing of them reaches a terminal raw.
func TestParseMonitorUnreadableLines(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		expected string
		got      string
	}{
		{"an escape sequence in a device name", "10.0.0.0/8 dev \x1b[31meth0", "a line of printable text", "byte 0x1b at column 16"},
		{"a NUL", "2001:db8::/64 dev eth0\x00", "a line of printable text", "byte 0x00 at column 23"},
		{"invalid UTF-8", "10.0.0.0/8 dev e\xfft", "a line of printable text", "byte 0xff at column 17"},
		{"a bidi override", "10.0.0.0/8 dev \u202eth0", "a line of printable text", "byte 0xe2 at column 16"},
		{"an escape inside JSON", `{"kind":"link","text":"[LINK]2: \u001b[2J: <UP> mtu 1500"}`, `printable text in "text"`, "byte 0x1b"},
		{"broken JSON", `{"kind":"route","text":`, "a JSON object of raceroute watch --json", "the line ends inside the object"},
		{"JSON of the wrong shape", `{"text":7}`, "a JSON object of raceroute watch --json", `a JSON number in "text"`},
		{"JSON without text", `{"kind":"route"}`, `a "text" field`, "none"},
		{"JSON with a bad time", `{"time":"yesterday","text":"[ROUTE]10.0.0.0/8 dev eth0"}`, `an RFC 3339 time in "time"`, "yesterday"},
		{"two objects", `{"text":"[ROUTE]10.0.0.0/8 dev eth0"} {}`, "one JSON object per line", "more after the object"},
		{"another receive error", "netlink receive error Interrupted system call (4)", "ENOBUFS after netlink receive error", "Interrupted system call (4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := parseAll(t, tt.in+"\n10.9.9.0/24 dev eth9", MonitorOptions{Name: "x.log"})
			if len(errs) != 1 || len(recs) != 1 {
				t.Fatalf("records %v errors %v: want the second line only", recs, errs)
			}
			le := errs[0]
			if le.Line != 1 || !strings.HasPrefix(le.Expected, tt.expected) || !strings.Contains(le.Got, tt.got) {
				t.Errorf("error %+v, want expected %q got %q", le, tt.expected, tt.got)
			}
			msg := le.Error()
			if unsafe, bad := unprintable(msg); bad {
				t.Errorf("error %q carries a raw byte 0x%02x", msg, msg[unsafe])
			}
			if !strings.HasPrefix(msg, "x.log:1: expected ") {
				t.Errorf("error %q does not name the file and line", msg)
			}
		})
	}
}
