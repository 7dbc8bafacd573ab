package rtnl

import (
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRouteRoundTrip(t *testing.T) {
	a := netip.MustParseAddr
	for _, r := range []Route{
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("10.1.0.0/16"), Table: 254, Protocol: 250, Type: 1, Priority: 20, HasPriority: true, Oif: 3, Gateway: a("10.9.0.2")},
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("0.0.0.0/0"), Table: 1000, Protocol: 250, Type: 1, NHID: 77},
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("10.2.0.0/24"), Table: 254, Protocol: 250, Type: 1, Oif: 3, Gateway: a("fe80::1")},
		{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("2001:db8::/48"), Table: 254, Protocol: 250, Type: 7, Priority: 1024, HasPriority: true},
		{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("2001:db8:1::/64"), Table: 254, Protocol: 250, Type: 1, Priority: 1024, HasPriority: true, Prefsrc: a("2001:db8::9"),
			Multipath: []Hop{{Ifindex: 3, Gateway: a("fe80::1"), Weight: 1}, {Ifindex: 4, Gateway: a("fe80::2"), Weight: 256, Flags: unix.RTNH_F_ONLINK}}},
	} {
		b, err := AppendRoute(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseRoute(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

func TestNexthopRoundTrip(t *testing.T) {
	for _, n := range []Nexthop{
		{ID: 1, Family: unix.AF_INET, Protocol: 250, Oif: 3, Gateway: netip.MustParseAddr("10.9.0.2")},
		{ID: 2, Family: unix.AF_INET6, Protocol: 250, Oif: 3, Gateway: netip.MustParseAddr("fe80::2"), Flags: unix.RTNH_F_ONLINK},
		{ID: 3, Family: unix.AF_INET, Protocol: 250, Blackhole: true},
		{ID: 4, Protocol: 250, Group: []GroupMember{{ID: 1, Weight: 1}, {ID: 2, Weight: 200}}},
	} {
		b, err := AppendNexthop(nil, &n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseNexthop(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, n)
		}
	}
}

func TestEncodeRefusesWhatTheKernelWould(t *testing.T) {
	for _, r := range []Route{
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("2001:db8::/32")},
		{Family: 7, Dst: netip.MustParsePrefix("10.0.0.0/8")},
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("10.0.0.0/8"), Multipath: []Hop{{Ifindex: 1, Weight: 0}}},
		{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("2001:db8::/32"), Prefsrc: netip.MustParseAddr("10.0.0.1")},
	} {
		if _, err := AppendRoute(nil, &r); err == nil {
			t.Errorf("%+v encoded", r)
		}
	}
}

// Nothing the kernel (or anything else) sends makes the decoders panic.
func FuzzParse(f *testing.F) {
	r := Route{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("2001:db8::/48"), Multipath: []Hop{{Ifindex: 2, Gateway: netip.MustParseAddr("fe80::1"), Weight: 2}}}
	b, _ := AppendRoute(nil, &r)
	f.Add(b)
	n := Nexthop{ID: 4, Group: []GroupMember{{ID: 1, Weight: 1}}}
	b, _ = AppendNexthop(nil, &n)
	f.Add(b)
	f.Add(buildAck(make([]byte, hdrLen), 3, unix.EINVAL, "bad"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseRoute(b)
		_, _ = ParseNexthop(b)
		_, _ = ParseLink(b)
		_ = messages(b, func(m []byte) error { _, _ = parseAck(m); return nil })
	})
}
