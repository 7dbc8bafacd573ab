package routefile_test

import (
	"fmt"
	"strings"

	"raceroute/apply/routefile"
)

// Lines as ip -batch takes them after "route replace"; a malformed line
// is named by its line, and nothing is returned to write.
func ExampleRead() {
	file := `10.1.0.0/24 via 10.9.0.2 dev eth0 metric 10
route replace blackhole 10.2.0.0/24 table 100
2001:db8::/64 via fe80::1 dev eth0
`
	es, err := routefile.Read(strings.NewReader(file), routefile.Options{Name: "routes", Tables: map[string]uint32{}})
	if err != nil {
		fmt.Println(err)
	}
	for _, e := range es {
		fmt.Println(e.Line, e.Route.String())
	}
	_, err = routefile.Read(strings.NewReader("10.1.0.0/24 via 10.9.0.2\n10.1.1.0/24 vai 10.9.0.2\n"), routefile.Options{Name: "bad"})
	fmt.Println(err)
	// Output:
	// 1 10.1.0.0/24 via 10.9.0.2 dev eth0 metric 10
	// 2 blackhole 10.2.0.0/24 table 100
	// 3 2001:db8::/64 via fe80::1 dev eth0
	// bad:2: unknown keyword "vai" (after the destination: via, dev, metric, table, src, proto, onlink, nexthop) (in "10.1.1.0/24 vai 10.9.0.2")
}
