package prefixtree

import (
	"net/netip"
	"slices"
	"testing"
)

func TestLink(t *testing.T) {
	u := New(8, [2]uint32{254, 255})
	pfx := netip.MustParsePrefix
	for _, p := range []string{"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:1::/64"} {
		if _, err := u.Node(254, pfx(p)); err != nil {
			t.Fatal(err)
		}
	}
	other, err := u.Node(100, pfx("2001:db8::/32"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := u.Dst(254, netip.MustParseAddr("2001:db8:1:1::5"))
	if err != nil {
		t.Fatal(err)
	}
	u.Link()
	top := u.Nodes[0]
	if !slices.Equal(top.Desc, []int{1, 2, 4}) || top.Between[1] != 1<<1 || top.Between[2] != 1<<1|1<<2 || top.DescMask != 1<<1|1<<2|1<<4 {
		t.Errorf("the /32: desc %v between %v mask %b", top.Desc, top.Between, top.DescMask)
	}
	if len(u.Nodes[other].Desc) != 0 || u.Nodes[other].TableBit != 1 || top.TableBit != 0 {
		t.Errorf("table 100's /32: desc %v bit %d; main's bit %d", u.Nodes[other].Desc, u.Nodes[other].TableBit, top.TableBit)
	}
	if dst := u.Dsts[d]; !slices.Equal(dst.Path, []int{4, 2, 1, 0}) || dst.Node != 4 || dst.Mask != 0b10111 {
		t.Errorf("the destination: path %v node %d mask %b, want the /128 then the /64, /48, /32", dst.Path, dst.Node, dst.Mask)
	}
	if i, ok := u.Find(254, pfx("2001:db8:1::/48")); !ok || i != 1 {
		t.Errorf("Find: %d %v", i, ok)
	}
	if _, err := u.Dst(254, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("an IPv4 destination was taken")
	}
	for i := len(u.Nodes); i < 8; i++ {
		u.Node(254, netip.PrefixFrom(netip.MustParseAddr("2001:db8:9::"), 48+i))
	}
	if _, err := u.Node(254, pfx("2001:db8:f::/48")); err == nil {
		t.Error("a ninth node was taken")
	}
}
