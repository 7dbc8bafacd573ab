package route_test

import (
	"fmt"
	"net/netip"

	"raceroute/apply/route"
)

func ExampleRoute_String() {
	r := route.Route{
		Dst:    netip.MustParsePrefix("2001:db8:10::/64"),
		Metric: 100,
		Nexthops: []route.Nexthop{
			{Gateway: netip.MustParseAddr("fe80::2"), Dev: "eth0"},
			{Gateway: netip.MustParseAddr("fe80::3"), Dev: "eth1", Weight: 3},
		},
	}
	fmt.Println(r.String())
	fmt.Println(r.Key())
	// Output:
	// 2001:db8:10::/64 metric 100 nexthop via fe80::2 dev eth0 nexthop via fe80::3 dev eth1 weight 3
	// 2001:db8:10::/64 table main metric 100
}
