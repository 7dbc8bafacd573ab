package write_test

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// routesTo lists the namespace's IPv6 routes to dst.
func routesTo(t *testing.T, ns string, dst netip.Prefix) []trace.Route {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := nl.DumpView(ctx, nl.Options{Netns: ns, Families: []int{6}})
	if err != nil {
		t.Fatal(err)
	}
	var out []trace.Route
	for _, r := range v.RouteList() {
		if r.Dst == dst && !r.Cloned {
			out = append(out, r)
		}
	}
	return out
}

// TestChangeAndAppendFlags checks the flags of the writes `ip route
// change` and `ip route append` make: change (NLM_F_REPLACE alone)
// replaces a route and refuses to create one; append
// (NLM_F_CREATE|NLM_F_APPEND) adds a route beside one of the same
// metric.
func TestChangeAndAppendFlags(t *testing.T) {
	a, _ := nstest.Pair(t, "wr")
	idx, err := a.LinkIndex("va")
	if err != nil {
		t.Fatal(err)
	}
	w, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	dst := netip.MustParsePrefix("2001:db8:1::/64")
	via := func(gw string) trace.Route {
		return trace.Route{Family: 6, Dst: dst, Gateway: netip.MustParseAddr(gw), Ifindex: idx, Metric: 1024}
	}
	other := trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8:2::/64"), Gateway: netip.MustParseAddr("fd00:9::2"), Ifindex: idx, Metric: 1024}
	var re *write.RouteError
	if _, err := w.Write(ctx, write.OpChange, []trace.Route{other}); !errors.As(err, &re) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("change of a route that does not exist: %v, want ENOENT (change does not create)", err)
	}
	if re.Message == "" {
		t.Errorf("the refusal lost the kernel's extended-ACK text: %v", re)
	}
	if n, err := w.Write(ctx, write.OpAdd, []trace.Route{via("fd00:9::2")}); n != 1 || err != nil {
		t.Fatalf("add: %d, %v", n, err)
	}
	if n, err := w.Write(ctx, write.OpChange, []trace.Route{via("fd00:9::3")}); n != 1 || err != nil {
		t.Fatalf("change: %d, %v", n, err)
	}
	if got := routesTo(t, a.Name, dst); len(got) != 1 || got[0].Gateway != netip.MustParseAddr("fd00:9::3") {
		t.Fatalf("after change: %v, want the route via fd00:9::3 alone", got)
	}
	if n, err := w.Write(ctx, write.OpAppend, []trace.Route{via("fd00:9::4")}); n != 1 || err != nil {
		t.Fatalf("append: %d, %v", n, err)
	}
	if _, err := w.Write(ctx, write.OpAdd, []trace.Route{via("fd00:9::5")}); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("add beside a route of the same metric: %v, want EEXIST (NLM_F_EXCL)", err)
	}
	for _, op := range []write.Op{write.OpAdd, write.OpReplace, write.OpDelete, write.OpChange, write.OpAppend} {
		if s := op.String(); s == "" || s[0] == 'o' {
			t.Errorf("Op %d has no name: %q", op, s)
		}
	}
}
