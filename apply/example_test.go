package apply_test

import (
	"context"
	"log"
	"net/netip"
	"os"

	"raceroute/apply"
)

// A routing daemon brings its routes (proto 250, the default) to the
// desired state: the plan says each change and its strategy; Apply
// writes it in batches, checks every acknowledgement and reads it back.
// Routes of other protocols are never touched; a second Apply of the
// same routes writes nothing.
func Example() {
	w, err := apply.Open(apply.Options{Netns: "router1", Prune: true})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	gw := netip.MustParseAddr("10.9.0.2")
	desired := []apply.Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/24"), Nexthops: []apply.Nexthop{{Gateway: gw, Dev: "eth0"}}},
		{Dst: netip.MustParsePrefix("10.1.1.0/24"), Nexthops: []apply.Nexthop{{Gateway: gw, Dev: "eth0", Weight: 2}, {Gateway: netip.MustParseAddr("10.9.1.2"), Dev: "eth1"}}},
	}
	ctx := context.Background()
	p, err := w.Plan(ctx, desired)
	if err != nil {
		log.Fatal(err) // a *apply.ValidationError lists every refused route
	}
	p.WriteText(os.Stdout)
	res, err := w.Apply(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	if err := res.Err(); err != nil {
		log.Fatal(err) // says which changes were applied and which not
	}
}
