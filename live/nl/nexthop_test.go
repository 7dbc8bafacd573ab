package nl

import (
	"encoding/binary"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"raceroute/trace"
)

func TestNexthopRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		n    Nexthop
		want Nexthop // what the decoder gives back
	}{
		{"gateway and device", Nexthop{ID: 1, Family: 6, Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 3},
			Nexthop{ID: 1, Family: 6, Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 3}},
		{"device only", Nexthop{ID: 2, Family: 6, Ifindex: 4}, Nexthop{ID: 2, Family: 6, Ifindex: 4}},
		{"blackhole", Nexthop{ID: 3, Family: 6, Blackhole: true}, Nexthop{ID: 3, Family: 6, Blackhole: true}},
		{"group, weight 0 is 1", Nexthop{ID: 10, Group: []GroupMember{{ID: 1}, {ID: 2, Weight: 256}}},
			Nexthop{ID: 10, Group: []GroupMember{{ID: 1, Weight: 1}, {ID: 2, Weight: 256}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeNexthop(&tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.n.Group) > 0 && b[0] != unix.AF_UNSPEC {
				t.Errorf("a group's nh_family %d, want AF_UNSPEC (rtm_to_nh_config(): \"Invalid family for group\")", b[0])
			}
			got, err := DecodeNexthop(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
	if b := EncodeNexthopID(7); len(b) != nhmsgLen+8 || binary.NativeEndian.Uint32(b[nhmsgLen+4:]) != 7 {
		t.Errorf("EncodeNexthopID(7) = %x", b)
	}
}

func TestEncodeNexthopRefuses(t *testing.T) {
	for _, n := range []Nexthop{
		{ID: 1}, // no family
		{ID: 1, Family: 6, Gateway: netip.MustParseAddr("10.0.0.1")}, // IPv4 gateway on an IPv6 object
		{ID: 1, Group: []GroupMember{{ID: 2, Weight: 257}}},          // weight out of range
	} {
		if _, err := EncodeNexthop(&n); err == nil {
			t.Errorf("EncodeNexthop(%+v) accepted", n)
		}
	}
}

func TestDecodeNexthopErrors(t *testing.T) {
	head := make([]byte, nhmsgLen)
	tests := []struct {
		name string
		b    []byte
		in   string
	}{
		{"short", []byte{0, 0}, "nhmsg"},
		{"no id", appendU32Attr(append([]byte(nil), head...), unix.NHA_OIF, 2), "no NHA_ID"},
		{"group of 5 bytes", appendAttr(appendU32Attr(append([]byte(nil), head...), unix.NHA_ID, 1), unix.NHA_GROUP, []byte{1, 0, 0, 0, 0}), "NHA_GROUP of 5 bytes"},
		{"gateway of 3 bytes", appendAttr(appendU32Attr(append([]byte(nil), head...), unix.NHA_ID, 1), unix.NHA_GATEWAY, []byte{1, 2, 3}), "NHA_GATEWAY of 3 bytes"},
		{"attribute past the end", append(append([]byte(nil), head...), 40, 0, 1, 0), "bad length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNexthop(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("DecodeNexthop: %v, want an error with %q", err, tc.in)
			}
		})
	}
}

// multipathRoute is a route message with RTA_MULTIPATH as
// rt6_fill_node() sends an ECMP route and its siblings.
func multipathRoute(t testing.TB, hops ...rtnetlink.NextHop) []byte {
	return mustMarshal(t, &rtnetlink.RouteMessage{Family: unix.AF_INET6, DstLength: 80, Table: 254, Protocol: 4, Type: 1,
		Attributes: rtnetlink.RouteAttributes{Dst: net.ParseIP("2001:db8:0:10::"), Priority: 1024, Multipath: hops}})
}

func TestDecodeMultipathRoute(t *testing.T) {
	b := multipathRoute(t,
		rtnetlink.NextHop{Hop: rtnetlink.RTNextHop{IfIndex: 2}, Gateway: net.ParseIP("fe80::1")},
		rtnetlink.NextHop{Hop: rtnetlink.RTNextHop{IfIndex: 3, Hops: 1}, Gateway: net.ParseIP("fe80::2")},
		rtnetlink.NextHop{Hop: rtnetlink.RTNextHop{IfIndex: 4}})
	rec, ok, err := Decode(unix.RTM_DELROUTE, b)
	if err != nil || !ok {
		t.Fatalf("Decode: ok=%v err=%v", ok, err)
	}
	want := []trace.Hop{{Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 2, Weight: 1}, {Gateway: netip.MustParseAddr("fe80::2"), Ifindex: 3, Weight: 2}, {Ifindex: 4, Weight: 1}}
	if !reflect.DeepEqual(rec.Multipath, want) {
		t.Errorf("hops %+v, want %+v", rec.Multipath, want)
	}
	if rec.Route.Gateway != want[0].Gateway || rec.Route.Ifindex != 2 {
		t.Errorf("the route stands for its first hop: %+v", rec.Route)
	}
	sib := Siblings(rec)
	if len(sib) != 3 || sib[1].Gateway != want[1].Gateway || sib[1].Ifindex != 3 || sib[2].Gateway.IsValid() || sib[2].Ifindex != 4 || sib[2].Metric != 1024 {
		t.Errorf("Siblings: %+v", sib)
	}
	// On a nexthop group, one route however many hops.
	rec, _, err = Decode(unix.RTM_NEWROUTE, appendU32Attr(append([]byte(nil), b...), rtaNHID, 10))
	if err != nil || rec.Route.NHID != 10 || len(Siblings(rec)) != 1 || len(rec.Multipath) != 3 {
		t.Errorf("route on group 10: nhid %d, %d hops, %d siblings, err %v", rec.Route.NHID, len(rec.Multipath), len(Siblings(rec)), err)
	}
}

func TestDecodeMultipathErrors(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
		in   string
	}{
		{"short rtnexthop", []byte{8, 0, 0, 0}, "4 bytes left"},
		{"rtnh_len past the end", []byte{16, 0, 0, 0, 2, 0, 0, 0}, "rtnh_len 16 of 8"},
		{"rtnh_len below the header", []byte{4, 0, 0, 0, 2, 0, 0, 0}, "rtnh_len 4"},
		{"gateway of 3 bytes", []byte{16, 0, 0, 0, 2, 0, 0, 0, 7, 0, unix.RTA_GATEWAY, 0, 1, 2, 3, 0}, "RTA_GATEWAY of 3 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMultipath(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("DecodeMultipath: %v, want an error with %q", err, tc.in)
			}
		})
	}
}

func TestEncodeRouteNHID(t *testing.T) {
	b, err := EncodeRoute(&trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8::/64"), NHID: 5, Metric: 1024})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := Decode(unix.RTM_NEWROUTE, b)
	if err != nil || !ok || rec.Route.NHID != 5 {
		t.Errorf("decoded %+v, ok %v, err %v: want nhid 5", rec.Route, ok, err)
	}
	if _, err := EncodeRoute(&trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8::/64"), NHID: 5, Ifindex: 2}); err == nil {
		t.Error("a route with nhid and a device of its own was encoded; the kernel refuses it")
	}
}

func FuzzDecodeMultipath(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{8, 0, 0, 0, 2, 0, 0, 0})
	f.Add([]byte{28, 0, 0, 1, 2, 0, 0, 0, 20, 0, unix.RTA_GATEWAY, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, v []byte) {
		hops, err := DecodeMultipath(v)
		if err != nil {
			return
		}
		// Every hop took at least a struct rtnexthop of the payload.
		if len(hops)*unix.SizeofRtNexthop > len(v) {
			t.Errorf("%d hops from %d bytes", len(hops), len(v))
		}
		for _, h := range hops {
			if h.Weight < 1 || h.Weight > 256 {
				t.Errorf("weight %d", h.Weight)
			}
		}
	})
}

func FuzzDecodeNexthop(f *testing.F) {
	for _, n := range []Nexthop{{ID: 1, Family: 6, Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 3}, {ID: 3, Family: 6, Blackhole: true}, {ID: 10, Group: []GroupMember{{ID: 1}, {ID: 2}}}} {
		b, err := EncodeNexthop(&n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNexthop(b)
		if err != nil {
			return
		}
		if n.ID == 0 {
			t.Errorf("decoded an object without an id: %+v", n)
		}
		// What decodes as nh_fill_node() sends it (one kind: a group, a
		// blackhole, or a next hop of a known family) encodes back to
		// the same object.
		single := n.Gateway.IsValid() || n.Ifindex != 0
		kinds := 0
		for _, k := range []bool{len(n.Group) > 0, n.Blackhole, single} {
			if k {
				kinds++
			}
		}
		if kinds > 1 || (n.Family == 0) != (len(n.Group) > 0) || n.FDB || n.Gateway.IsValid() && n.Gateway.Is4() != (n.Family == 4) {
			return
		}
		b2, err := EncodeNexthop(&n)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", n, err)
		}
		n2, err := DecodeNexthop(b2)
		if err != nil || !reflect.DeepEqual(n, n2) {
			t.Errorf("round trip %+v -> %+v (%v)", n, n2, err)
		}
	})
}
