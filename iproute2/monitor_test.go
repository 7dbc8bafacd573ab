package iproute2

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

func mustMAC(t testing.TB, s string) kernel.MAC {
	t.Helper()
	m, err := kernel.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parseAll(t *testing.T, in string, opts MonitorOptions) ([]trace.Record, []*LineError) {
	t.Helper()
	recs, errs, err := ParseMonitor(strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("ParseMonitor: %v", err)
	}
	return recs, errs
}

func TestParseMonitorRoutes(t *testing.T) {
	day := time.Date(2016, 6, 10, 0, 0, 0, 0, time.UTC)
	at := func(h, m, s, us int) time.Time {
		return time.Date(2016, 6, 10, h, m, s, us*1000, time.UTC)
	}
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	tests := []struct {
		name string
		in   string
		want []trace.Record
	}{
		{
			name: "seed patched format, cache delete",
			in:   `(1) [22:30:00.447894] [RTCAH]- 2001:67c:1254:e:10::1 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 src 2001:67c:1254:e:63::1 metric 0 \ cache users 2 used 1048 age 0sec`,
			want: []trace.Record{{Time: at(22, 30, 0, 447894), Kind: trace.KindRoute, Action: trace.ActionDel, Line: 1, Route: trace.Route{
				Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("2001:67c:1254:e:10::1/128"),
				Gateway: addr("fe80::a8b6:97ff:fe99:8ca8"), Dev: "re6stnet8", Src: addr("2001:67c:1254:e:63::1"),
				Cloned: true, Used: 1048}}},
		},
		{
			name: "seed patched format, unreachable clone with error in the cache section",
			in:   `(4) [22:32:32.532758] [RTCAH]+ unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \ cache error -101 users 1`,
			want: []trace.Record{{Time: at(22, 32, 32, 532758), Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
				Family: 6, Table: trace.TableMain, Type: kernel.RouteUnreachable, Dst: pfx("2001:67c:1254:e:10::1/128"),
				Dev: "lo", Cloned: true, Error: -101}}},
		},
		{
			name: "seed patched format, route add with proto babel",
			in:   `(3) [22:30:00.447897] [ROUTE]+ 2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp proto babel src 2001:67c:1254:e:63::1 metric 1024`,
			want: []trace.Record{{Time: at(22, 30, 0, 447897), Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
				Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("2001:67c:1254:e:10::/80"),
				Gateway: addr("fe80::f485:c1ff:feb4:f32a"), Dev: "re6stnet-tcp", Proto: 42,
				Src: addr("2001:67c:1254:e:63::1"), Metric: 1024}}},
		},
		{
			name: "plain ip -6 monitor route, reject route with error and pref",
			in:   "unreachable 2001:67c:1254::/48 dev lo metric 1024 error -113 pref medium",
			want: []trace.Record{{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
				Family: 6, Table: trace.TableMain, Type: kernel.RouteUnreachable, Dst: pfx("2001:67c:1254::/48"),
				Dev: "lo", Metric: 1024, Error: -113}}},
		},
		{
			name: "plain Deleted IPv4 route with table and scope",
			in:   "Deleted 10.1.0.0/16 via 192.0.2.1 dev eth0 table 100 proto zebra scope link metric 20 onlink",
			want: []trace.Record{{Kind: trace.KindRoute, Action: trace.ActionDel, Line: 1, Route: trace.Route{
				Family: 4, Table: 100, Type: kernel.RouteUnicast, Dst: pfx("10.1.0.0/16"),
				Gateway: addr("192.0.2.1"), Dev: "eth0", Proto: 11, Scope: 253, Metric: 20}}},
		},
		{
			name: "default IPv6 route told by its gateway, mtu read, unknown keywords and other metrics skipped",
			in:   "default via fe80::1 dev eth0 proto ra metric 1024 expires 1797sec hoplimit 64 mtu lock 1400 pref medium frobnicate",
			want: []trace.Record{{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
				Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("::/0"),
				Gateway: addr("fe80::1"), Dev: "eth0", Proto: 9, Metric: 1024, Expires: 1797 * time.Second, MTU: 1400}}},
		},
		{
			name: "default without family hints is IPv4",
			in:   "blackhole default",
			want: []trace.Record{{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
				Family: 4, Table: trace.TableMain, Type: kernel.RouteBlackhole, Dst: pfx("0.0.0.0/0")}}},
		},
		{
			name: "local table host route, IPv4 with an IPv6 gateway",
			in:   "local 10.0.0.1 dev eth0 table local proto kernel scope host src 10.0.0.1\n10.2.0.0/24 via inet6 fe80::2 dev eth1",
			want: []trace.Record{
				{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{
					Family: 4, Table: trace.TableLocal, Type: kernel.RouteLocal, Dst: pfx("10.0.0.1/32"), Dev: "eth0",
					Proto: 2, Scope: 254, Src: addr("10.0.0.1")}},
				{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 2, Route: trace.Route{
					Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("10.2.0.0/24"),
					Gateway: addr("fe80::2"), Dev: "eth1"}},
			},
		},
		{
			name: "ip -ts monitor label",
			in:   "[2016-06-11T22:30:00.447894] [ROUTE]Deleted 2001:db8::/64 dev eth0 proto kernel metric 256 pref medium",
			want: []trace.Record{{Time: time.Date(2016, 6, 11, 22, 30, 0, 447894000, time.UTC), Kind: trace.KindRoute, Action: trace.ActionDel, Line: 1,
				Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("2001:db8::/64"), Dev: "eth0", Proto: 2, Metric: 256}}},
		},
		{
			name: "ip -t monitor with multi-line cache info and nsid",
			in: "Timestamp: Sat Jun 11 22:30:00 2016 447894 usec\n" +
				"[nsid 3]2001:db8::1 via fe80::1 dev eth0 metric 0\n" +
				"    cache users 1 used 5 expires 300sec\n" +
				"Timestamp: Sat Jun  4 01:02:03 2016 7 usec\n" +
				"[nsid current]10.9.0.0/16 dev eth1 scope link\n",
			want: []trace.Record{
				{Time: time.Date(2016, 6, 11, 22, 30, 0, 447894000, time.UTC), Kind: trace.KindRoute, Action: trace.ActionNew, Line: 2, Netns: "3",
					Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("2001:db8::1/128"), Gateway: addr("fe80::1"),
						Dev: "eth0", Cloned: true, Used: 5, Expires: 300 * time.Second}},
				{Time: time.Date(2016, 6, 4, 1, 2, 3, 7000, time.UTC), Kind: trace.KindRoute, Action: trace.ActionNew, Line: 5,
					Route: trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("10.9.0.0/16"), Dev: "eth1", Scope: 253}},
			},
		},
		{
			name: "IPv6 multipath becomes sibling routes",
			in:   "2001:db8:1::/48 proto bird metric 1024\n\tnexthop via fe80::1 dev eth0 weight 1\n\tnexthop via fe80::2 dev eth1 weight 1",
			want: []trace.Record{
				{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast,
					Dst: pfx("2001:db8:1::/48"), Proto: 12, Metric: 1024, Gateway: addr("fe80::1"), Dev: "eth0"}},
				{Kind: trace.KindRoute, Action: trace.ActionNew, Line: 1, Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast,
					Dst: pfx("2001:db8:1::/48"), Proto: 12, Metric: 1024, Gateway: addr("fe80::2"), Dev: "eth1"}},
			},
		},
		{
			name: "replace and seed = marker, day roll-over of time-of-day stamps",
			in:   "[23:59:59.900000] [ROUTE]= 10.0.0.0/8 dev eth0\n[00:00:00.100000] [ROUTE]Replaced 10.0.0.0/8 dev eth1",
			want: []trace.Record{
				{Time: at(23, 59, 59, 900000), Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Line: 1,
					Route: trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("10.0.0.0/8"), Dev: "eth0"}},
				{Time: at(24, 0, 0, 100000), Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Line: 2,
					Route: trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: pfx("10.0.0.0/8"), Dev: "eth1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseAll(t, tt.in, MonitorOptions{Day: day})
			if len(errs) != 0 {
				t.Fatalf("line errors: %v", errs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseMonitorNeighLinkAddr(t *testing.T) {
	mac := mustMAC(t, "52:54:00:12:34:56")
	tests := []struct {
		name string
		in   string
		want trace.Record
	}{
		{"ip monitor neigh", "10.0.0.1 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE",
			trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Line: 1, Neigh: trace.Neigh{Family: 4, Addr: netip.MustParseAddr("10.0.0.1"),
				Dev: "eth0", LLAddr: mac, State: kernel.NUDReachable}}},
		{"Deleted neighbour, router, stats", "Deleted fe80::1 dev eth0 lladdr 52:54:00:12:34:56 router used 10/5/3 probes 2 STALE",
			trace.Record{Kind: trace.KindNeigh, Action: trace.ActionDel, Line: 1, Neigh: trace.Neigh{Family: 6, Addr: netip.MustParseAddr("fe80::1"),
				Dev: "eth0", LLAddr: mac, Router: true, Used: 10 * time.Second, Confirmed: 5 * time.Second,
				Updated: 3 * time.Second, Probes: 2, State: kernel.NUDStale}}},
		{"failed neighbour without lladdr", "10.0.0.2 dev eth0  FAILED",
			trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Line: 1, Neigh: trace.Neigh{Family: 4, Addr: netip.MustParseAddr("10.0.0.2"),
				Dev: "eth0", State: kernel.NUDFailed}}},
		{"labelled incomplete", "[NEIGH]10.0.0.3 dev eth1 INCOMPLETE",
			trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Line: 1, Neigh: trace.Neigh{Family: 4, Addr: netip.MustParseAddr("10.0.0.3"),
				Dev: "eth1", State: kernel.NUDIncomplete}}},
		{"link with continuation", "3: veth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default\n    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
			trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Line: 1, Link: trace.Link{Index: 3, Name: "veth0", Up: true, MTU: 1500, MAC: mac}}},
		{"deleted link, down", "[LINK]Deleted 4: dummy0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN \\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
			trace.Record{Kind: trace.KindLink, Action: trace.ActionDel, Line: 1, Link: trace.Link{Index: 4, Name: "dummy0", MTU: 1500, MAC: mac}}},
		{"address with continuation", "2: eth0    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n       valid_lft forever preferred_lft forever",
			trace.Record{Kind: trace.KindAddr, Action: trace.ActionNew, Line: 1, Addr: trace.Addr{Family: 4, Prefix: netip.MustParsePrefix("10.0.0.1/24"), Ifindex: 2, Dev: "eth0"}}},
		{"deleted IPv6 address", "[ADDR]Deleted 2: eth0    inet6 2001:db8::1/64 scope global",
			trace.Record{Kind: trace.KindAddr, Action: trace.ActionDel, Line: 1, Addr: trace.Addr{Family: 6, Prefix: netip.MustParsePrefix("2001:db8::1/64"), Ifindex: 2, Dev: "eth0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseAll(t, tt.in, MonitorOptions{})
			if len(errs) != 0 {
				t.Fatalf("line errors: %v", errs)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseMonitorSkipsOtherMessages(t *testing.T) {
	in := strings.Join([]string{
		"[NETCONF]ipv4 dev eth0 forwarding on rp_filter strict mc_forwarding off",
		"inet6 lo forwarding off",
		"nsid 1 (iproute2 netns name: blue)",
		"prefix 2001:db8::/64 dev eth0 onlink autoconf valid 2592000 preferred 604800",
		"0:	from all lookup local",
		"miss 10.0.0.9 dev eth0  INCOMPLETE",
		"[RULE]32766:	from all lookup main",
		"id 3 via 10.0.0.1 dev eth0 scope link proto unspec",
		"nhid 1 index 0 id 2 idle_time 1.5",
		"100 via inet 10.0.0.1 dev eth0",
		"(10.0.0.1,239.1.1.1)     Iif: eth0       Oifs: eth1  State: resolved",
		"3: eth0: group offload subgroup l3_stats on used off",
		"",
		"   ",
	}, "\n")
	got, errs := parseAll(t, in, MonitorOptions{})
	if len(got) != 0 || len(errs) != 0 {
		t.Fatalf("got %v records, errors %v; want none", got, errs)
	}
}

func TestParseMonitorErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		expected string
	}{
		{"bad gateway", "10.0.0.0/8 via nowhere dev eth0", 1, "a gateway address after via"},
		{"bad destination", "hello world", 1, "a route destination"},
		{"bad metric", "ok\n2001:db8::/64 dev eth0 metric many", 2, "a number after metric"},
		{"bad lladdr", "10.0.0.1 dev eth0 lladdr zz:zz REACHABLE", 1, "a link-layer address"},
		{"unknown label", "[BOGUS]10.0.0.0/8 dev eth0", 1, "a label such as"},
		{"unclosed bracket", "[2016-06-11T22:30:00.1 10.0.0.0/8", 1, "a closing ]"},
		{"bad table", "10.0.0.0/8 dev eth0 table customers", 1, "a table number"},
		{"bad -t stamp", "Timestamp: yesterday", 1, "a timestamp like"},
		{"bad link", "3: eth0 <UP> mtu 1500", 1, "a route, neighbour, link or address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parseAll(t, tt.in+"\n10.9.9.0/24 dev eth9", MonitorOptions{Name: "x.log"})
			var le *LineError
			for _, e := range errs {
				if e.Line == tt.wantLine {
					le = e
				}
			}
			if le == nil {
				t.Fatalf("no error on line %d; errors: %v", tt.wantLine, errs)
			}
			if !strings.Contains(le.Expected, tt.expected) {
				t.Errorf("expected %q, want it to contain %q", le.Expected, tt.expected)
			}
			if msg := le.Error(); !strings.HasPrefix(msg, "x.log:") {
				t.Errorf("error %q does not name the file and line", msg)
			}
		})
	}
}

func TestParseMonitorSkipsBadLineAndContinues(t *testing.T) {
	in := "10.0.0.0/8 dev eth0\nthis is not a route at all\n10.1.0.0/16 dev eth1\n"
	mr := NewMonitorReader(strings.NewReader(in), MonitorOptions{Name: "f"})
	var recs []trace.Record
	var lineErrs []*LineError
	for {
		r, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			lineErrs = append(lineErrs, le)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[1].Line != 3 || len(lineErrs) != 1 || lineErrs[0].Line != 2 {
		t.Fatalf("records %+v errors %v", recs, lineErrs)
	}
}

func TestParseMonitorTooLongLine(t *testing.T) {
	in := "10.0.0.0/8 dev eth0\n" + strings.Repeat("x", maxLine+10) + "\n"
	_, _, err := ParseMonitor(strings.NewReader(in), MonitorOptions{Name: "big.log"})
	if err == nil || !strings.Contains(err.Error(), "big.log") {
		t.Fatalf("err = %v, want a read error naming the file", err)
	}
}

// roundTripRecords are records of every kind with every field the
// iproute2 syntax carries.
func roundTripRecords(t testing.TB) []trace.Record {
	ts := time.Date(2016, 6, 11, 22, 32, 32, 532758000, time.UTC)
	mac := mustMAC(t, "fa:16:3e:aa:bb:cc")
	mac2 := mustMAC(t, "fa:16:3e:00:11:22")
	bcast := mustMAC(t, "ff:ff:ff:ff:ff:ff")
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	return []trace.Record{
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnreachable,
			Dst: pfx("2001:67c:1254:e:10::1/128"), Dev: "lo", Cloned: true, Error: -101, Used: 281, Expires: 2 * time.Second}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionDel, Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnicast,
			Dst: pfx("2001:67c:1254:e:10::/80"), Gateway: addr("fe80::a8b6:97ff:fe99:8ca8"), Dev: "re6stnet8", Proto: 42,
			Src: addr("2001:67c:1254:e:63::1"), Metric: 1024}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Netns: "7", Route: trace.Route{Family: 4, Table: 100,
			Type: kernel.RouteUnicast, Dst: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1"), Dev: "eth0", Proto: 186, Metric: 20}},
		{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 6, Table: trace.TableMain, Type: kernel.RouteUnreachable,
			Dst: pfx("::/0"), Dev: "lo", Metric: 1024, Error: -113}},
		{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 4, Table: trace.TableUnspec, Type: kernel.RouteBlackhole,
			Dst: pfx("0.0.0.0/0")}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionDel, Resync: true, Inferred: true, Route: trace.Route{Family: 4, Table: trace.TableLocal,
			Type: kernel.RouteLocal, Dst: pfx("10.0.0.1/32"), Dev: "eth0", Proto: 2, Scope: 254, Src: addr("10.0.0.1")}},
		{Time: ts, Kind: trace.KindRoute, Action: trace.ActionNew, Initial: true, Polled: true, Route: trace.Route{Family: 6, Table: trace.TableMain,
			Type: kernel.RouteUnicast, Dst: pfx("2001:db8::1/128"), Gateway: addr("fe80::1"), Dev: "eth0", Cloned: true,
			Expires: 500 * time.Second}},
		{Time: ts, Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: trace.Neigh{Family: 4, Addr: addr("203.0.113.5"), Dev: "qg-1",
			LLAddr: mac, State: kernel.NUDStale | kernel.NUDPermanent, Used: time.Second, Probes: 3}},
		{Time: ts, Kind: trace.KindNeigh, Action: trace.ActionDel, Neigh: trace.Neigh{Family: 6, Addr: addr("fe80::1"), Dev: "eth0",
			Router: true, State: kernel.NUDNone}},
		{Time: ts, Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 3, Name: "veth0", MAC: mac, Up: true, MTU: 1500, Master: 7}},
		{Time: ts, Kind: trace.KindLink, Action: trace.ActionDel, Link: trace.Link{Index: 4, Name: "dummy0"}},
		{Time: ts, Kind: trace.KindAddr, Action: trace.ActionNew, Addr: trace.Addr{Family: 6, Prefix: pfx("2001:db8::1/64"), Ifindex: 2, Dev: "eth0"}},
		{Time: ts, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: trace.Frame{Op: trace.FrameARPReply, Dev: "qg-1", SrcMAC: mac, DstMAC: bcast,
			SenderIP: addr("203.0.113.5"), SenderHW: mac, TargetIP: addr("203.0.113.5"), TargetHW: mac}},
		{Time: ts, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: trace.Frame{Op: trace.FrameARPRequest, Dev: "qg-1", SenderIP: addr("0.0.0.0"),
			SenderHW: mac2, TargetIP: addr("203.0.113.5")}},
		{Time: ts, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: trace.Frame{Op: trace.FrameNA, Dev: "eth0", SenderIP: addr("2001:db8::5"),
			SenderHW: mac, Override: true}},
		{Time: ts, Kind: trace.KindFrame, Action: trace.ActionNew, Frame: trace.Frame{Op: trace.FrameNS, Dev: "eth0", SenderIP: addr("2001:db8::6"),
			SenderHW: mac, TargetIP: addr("2001:db8::5"), Solicited: true}},
		{Time: ts, Kind: trace.KindOverflow, Lost: 1234},
		{Time: ts, Kind: trace.KindOverflow},
		{Time: ts, Kind: trace.KindResync, Lost: 17},
	}
}

func TestFormatMonitorRoundTrip(t *testing.T) {
	for _, ts := range []bool{true, false} {
		for i, want := range roundTripRecords(t) {
			line := FormatMonitor(want, ts)
			got, errs := parseAll(t, line, MonitorOptions{})
			if !ts {
				want.Time = time.Time{}
			}
			want.Line = 1
			if len(errs) != 0 || len(got) != 1 {
				t.Errorf("%d: %q: records %v errors %v", i, line, got, errs)
				continue
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("%d: %q read back as\n%+v\nwant\n%+v", i, line, got[0], want)
			}
		}
	}
}

func TestFormatMonitorLines(t *testing.T) {
	recs := roundTripRecords(t)
	tests := []struct {
		rec  trace.Record
		want string
	}{
		{recs[0], "[2016-06-11T22:32:32.532758] [RTCAH]Cloned unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \\ cache error -101 used 281 expires 2sec"},
		{recs[1], "[2016-06-11T22:32:32.532758] [ROUTE]Deleted 2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel src 2001:67c:1254:e:63::1 metric 1024"},
		{recs[2], "[2016-06-11T22:32:32.532758] [nsid 7][ROUTE]Replaced default via 192.0.2.1 dev eth0 table 100 proto bgp metric 20"},
		{recs[12], "[2016-06-11T22:32:32.532758] [ARP]reply 203.0.113.5 lladdr fa:16:3e:aa:bb:cc target 203.0.113.5 lladdr fa:16:3e:aa:bb:cc dev qg-1 ether fa:16:3e:aa:bb:cc > ff:ff:ff:ff:ff:ff gratuitous"},
	}
	for _, tt := range tests {
		if got := FormatMonitor(tt.rec, true); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for p := 0; p < 256; p++ {
		got, ok := kernel.ParseProto(kernel.Proto(p).String())
		if !ok || got != kernel.Proto(p) {
			t.Errorf("proto %d: name %q reads back as %d, %v", p, kernel.Proto(p).String(), got, ok)
		}
	}
	for _, tb := range []uint32{0, 1, 100, 253, 254, 255, 1 << 31} {
		got, ok := trace.ParseTable(trace.TableName(tb))
		if !ok || got != tb {
			t.Errorf("table %d reads back as %d, %v", tb, got, ok)
		}
	}
	if kernel.Proto(42).String() != "babel" || kernel.Proto(11).String() != "zebra" || kernel.Proto(12).String() != "bird" {
		t.Errorf("proto names wrong: %s %s %s", kernel.Proto(42).String(), kernel.Proto(11).String(), kernel.Proto(12).String())
	}
}

// The three logs were recorded at once from the same events: read with no
// error, they must give the same records, times and line numbers aside.
func TestParseMonitorRealIproute2(t *testing.T) {
	read := func(name string) []trace.Record {
		t.Helper()
		f, err := os.Open(filepath.Join("testdata", "iproute2-6.1", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, errs, err := ParseMonitor(f, MonitorOptions{Name: name})
		if err != nil || len(errs) != 0 {
			t.Fatalf("%s: %v %v", name, err, errs)
		}
		return recs
	}
	plain := read("monitor.log")
	withT := read("monitor-t.log")
	withTS := read("monitor-ts-label.log")
	kinds := map[trace.Kind]int{}
	for _, r := range plain {
		kinds[r.Kind]++
	}
	// 12 link, 8 address, 30 route messages (one a 2-nexthop route, 2 records), 9 neighbour messages.
	if kinds[trace.KindLink] != 12 || kinds[trace.KindAddr] != 8 || kinds[trace.KindRoute] != 31 || kinds[trace.KindNeigh] != 9 {
		t.Errorf("kinds %v", kinds)
	}
	strip := func(rs []trace.Record) []trace.Record {
		out := make([]trace.Record, len(rs))
		for i, r := range rs {
			r.Time, r.Line = time.Time{}, 0
			out[i] = r
		}
		return out
	}
	if !reflect.DeepEqual(strip(plain), strip(withT)) {
		t.Errorf("ip monitor and ip -t monitor differ")
	}
	if !reflect.DeepEqual(strip(plain), strip(withTS)) {
		for i := range min(len(plain), len(withTS)) {
			if !reflect.DeepEqual(strip(plain)[i], strip(withTS)[i]) {
				t.Errorf("first difference at record %d:\n%+v\n%+v", i, plain[i], withTS[i])
				break
			}
		}
	}
	for _, rs := range [][]trace.Record{withT, withTS} {
		for i, r := range rs {
			if r.Time.IsZero() || i > 0 && r.Time.Before(rs[i-1].Time) {
				t.Fatalf("record %d (line %d) time %v", i, r.Line, r.Time)
			}
		}
	}
	// Spot checks.
	var multipath, noarp int
	for _, r := range withTS {
		if r.Kind == trace.KindRoute && r.Route.Dst.String() == "2001:db8:3::/64" && r.Route.Proto == 12 && r.Route.Dev == "veth0" {
			multipath++
		}
		if r.Kind == trace.KindNeigh && r.Action == trace.ActionDel && r.Neigh.Addr.String() == "10.0.0.9" {
			noarp++
		}
	}
	if multipath != 4 || noarp != 1 {
		t.Errorf("multipath route records %d (want 2 added, 2 deleted), NOARP neighbour deletions %d", multipath, noarp)
	}
}
