package nlfake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/live/nl"
	"raceroute/trace"
)

// TestMessageDecodes checks that what the fake kernel sends decodes to
// the record it was made from: the fake is only as good as that.
func TestMessageDecodes(t *testing.T) {
	recs := []trace.Record{
		Link(2, "va", true),
		Link(3, "vb", false),
		Del(Link(3, "vb", false)),
		Addr("10.9.0.1/24", 2, "va"),
		Del(Addr("fd00:9::1/64", 2, "va")),
		Route("10.1.0.0/24", "10.9.0.2", 2, "va"),
		Replace(Route("fd01::/64", "fd00:9::3", 2, "va")),
		Del(Route("10.1.0.0/24", "10.9.0.2", 2, "va")),
		Cache("fd01::1/128", "fd00:9::2", 2, "va"),
		Neigh("10.9.0.7", "02:00:00:00:00:07", kernel.NUDStale, 2, "va"),
		Del(Neigh("fd00:9::7", "02:00:00:00:00:07", kernel.NUDReachable, 2, "va")),
	}
	for _, want := range recs {
		t.Run(Show(want), func(t *testing.T) {
			m, err := Message(&want)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if l := binary.NativeEndian.Uint32(b[0:4]); int(l) != len(b) {
				t.Fatalf("header length %d of a %d-byte message", l, len(b))
			}
			got, ok, err := nl.Decode(binary.NativeEndian.Uint16(b[4:6]), b[unix.NLMSG_HDRLEN:])
			if err != nil || !ok {
				t.Fatalf("Decode: ok=%v err=%v", ok, err)
			}
			got.Replace = binary.NativeEndian.Uint16(b[6:8])&unix.NLM_F_REPLACE != 0
			want.Route.Dev, want.Neigh.Dev, want.Addr.Dev = "", "", ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestSocketOverruns checks the multicast socket against the kernel's
// rules (netlink_broadcast_deliver, netlink_overrun, netlink_rcv_wake,
// __skb_try_recv_datagram): ENOBUFS once, before what is queued; drops
// while congested; congestion cleared by a receive that empties the
// queue.
func TestSocketOverruns(t *testing.T) {
	r := func(i int) trace.Record {
		return Route(fmt.Sprintf("10.1.%d.0/24", i), "10.9.0.2", 2, "va")
	}
	tests := []struct {
		name  string
		limit int
		steps []string // "announce N", "recv" (expects the next result)
		want  string   // receive results, in order
		drops int
	}{
		{"room for all", 0, []string{"announce 3", "recv", "recv", "recv", "recv"}, "10.1.0.0 10.1.1.0 10.1.2.0 EAGAIN", 0},
		{"overrun: ENOBUFS before the queue", 2, []string{"announce 4", "recv", "recv", "recv", "recv"}, "ENOBUFS 10.1.0.0 10.1.1.0 EAGAIN", 2},
		{"congested until the queue is empty", 1, []string{"announce 2", "recv", "announce 1", "recv", "announce 1", "recv", "recv"},
			"ENOBUFS 10.1.0.0 10.1.0.0 EAGAIN", 2},
		{"a second overrun after draining reports again", 1, []string{"announce 2", "recv", "recv", "recv", "announce 2", "recv", "recv"},
			"ENOBUFS 10.1.0.0 EAGAIN ENOBUFS 10.1.0.0", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := New()
			k.SetLimit(tc.limit)
			s := k.Socket()
			var got []string
			buf := make([]byte, 1<<16)
			for _, st := range tc.steps {
				var n int
				if _, err := fmt.Sscanf(st, "announce %d", &n); err == nil {
					for i := range n {
						k.Announce(r(i))
					}
					continue
				}
				size, _, err := s.recv(buf)
				switch {
				case errors.Is(err, unix.ENOBUFS):
					got = append(got, "ENOBUFS")
				case errors.Is(err, unix.EAGAIN):
					got = append(got, "EAGAIN")
				case err != nil:
					t.Fatal(err)
				default:
					rec, _, err := nl.Decode(binary.NativeEndian.Uint16(buf[4:6]), buf[unix.NLMSG_HDRLEN:size])
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, rec.Route.Dst.Addr().String())
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("received %q, want %q", g, tc.want)
			}
			if k.Drops() != tc.drops {
				t.Errorf("%d drops, want %d", k.Drops(), tc.drops)
			}
		})
	}
}

// TestDumpAnswers checks the dumps the fake answers: the family asked
// for, routes apart from cache entries, and NLM_F_DUMP_INTR.
func TestDumpAnswers(t *testing.T) {
	k := New(Link(2, "va", true), Route("10.1.0.0/24", "10.9.0.2", 2, "va"), Route("fd01::/64", "fd00:9::2", 2, "va"),
		Cache("fd01::1/128", "fd00:9::2", 2, "va"))
	k.Interrupt(unix.RTM_GETROUTE, 1)
	var retried []string
	d := nl.NewDumper(k.Conn(), nl.Options{OnDumpRetry: func(what string) { retried = append(retried, what) }})
	defer d.Close()
	v, err := d.Dump(context.Background(), nl.Tables{Links: true, Routes: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, r := range v.RouteList() {
		routes = append(routes, r.Dst.String())
	}
	if g := strings.Join(routes, " "); g != "10.1.0.0/24 fd01::/64" {
		t.Errorf("routes %q, want the two routes without the cache entry", g)
	}
	if strings.Join(retried, ",") != "routes (family 2)" || d.Retries() != 1 {
		t.Errorf("retried %q (%d), want the IPv4 route dump once", retried, d.Retries())
	}
	if n := k.Dumps(unix.RTM_GETROUTE); n != 3 {
		t.Errorf("%d route dumps answered, want 3 (IPv4 twice, IPv6 once)", n)
	}
}
