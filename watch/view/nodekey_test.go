package view_test

import (
	"net/netip"
	"testing"

	"raceroute/watch/view"
)

// A NodeKey gives back its Key, and distinct Keys get distinct
// NodeKeys: an IPv4 destination and its IPv4-mapped form, an invalid
// prefix that keeps its address and the zero one, the same prefix in
// another table or family.
func TestNodeKeyRoundTrip(t *testing.T) {
	keys := []view.Key{
		{4, 254, netip.MustParsePrefix("10.64.0.1/32")},
		{4, 254, netip.MustParsePrefix("0.0.0.0/0")},
		{6, 254, netip.MustParsePrefix("::ffff:10.64.0.1/128")},
		{6, 254, netip.MustParsePrefix("::/0")},
		{6, 100, netip.MustParsePrefix("2001:db8::/48")},
		{4, 100, netip.MustParsePrefix("10.64.0.1/32")},
		{6, 254, netip.MustParsePrefix("10.64.0.1/32")},
		{4, 254, netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 40)},
		{4, 254, netip.Prefix{}},
		{-7, 1 << 31, netip.Prefix{}},
	}
	seen := map[view.NodeKey]view.Key{}
	for _, k := range keys {
		nk := k.Node()
		if got := nk.Key(); got != k {
			t.Errorf("%+v: back as %+v", k, got)
		}
		if o, dup := seen[nk]; dup {
			t.Errorf("%+v and %+v share a NodeKey", k, o)
		}
		seen[nk] = k
	}
}
