package fib6

import (
	"net/netip"
	"slices"
	"testing"

	"raceroute/kernel"
)

// TestExecOnListedTable runs a route change on a table restored with
// Config.Listed, as the selftest runner does for each of a script's
// `ip -6 route` commands, and checks the kernel's answer and the table
// after it.
func TestExecOnListedTable(t *testing.T) {
	gw1 := "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024"
	tests := []struct {
		name    string
		profile string
		initial []string
		op      Op
		errno   kernel.Errno
		want    []string
	}{
		{"add over a route of the same metric: NLM_F_EXCL", "linux-6.12", []string{gw1},
			Op{Kind: OpAdd, Route: mustRoute(t, "2001:db8:104::/64 via 2001:db8:103::2 dev veth3")}, kernel.EEXIST, []string{gw1}},
		{"add of a reject route over it", "linux-6.12", []string{gw1},
			Op{Kind: OpAdd, Route: mustRoute(t, "unreachable 2001:db8:104::/64")}, kernel.EEXIST, []string{gw1}},
		{"add at another metric goes before it", "linux-6.12", []string{gw1},
			Op{Kind: OpAdd, Route: mustRoute(t, "2001:db8:104::/64 via 2001:db8:103::3 dev veth3 metric 256")}, 0,
			[]string{"2001:db8:104::/64 via 2001:db8:103::3 dev veth3 metric 256", gw1}},
		{"change of a prefix that has no route: NLM_F_REPLACE without NLM_F_CREATE", "linux-6.12", []string{gw1},
			Op{Kind: OpChange, Route: mustRoute(t, "2001:db8:105::/64 via 2001:db8:101::2 dev veth1")}, kernel.ENOENT, []string{gw1}},
		{"delete by metric alone", "linux-6.12",
			[]string{"2001:db8:104::/64 via 2001:db8:103::3 dev veth3 metric 256", "2001:db8:104::/64 via 2001:db8:103::2 dev veth3 metric 512", gw1},
			Op{Kind: OpDel, Route: Route{Prefix: netip.MustParsePrefix("2001:db8:104::/64"), Table: MainTable, Metric: 512, MetricSet: true}}, 0,
			[]string{"2001:db8:104::/64 via 2001:db8:103::3 dev veth3 metric 256", gw1}},
		{"delete of a route that is not there", "linux-6.12", nil,
			Op{Kind: OpDel, Route: Route{Prefix: netip.MustParsePrefix("2001:db8:104::/64"), Table: MainTable}}, kernel.ESRCH, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Profile: prof(t, tc.profile), Listed: true, Actors: []Actor{{Name: "script", Ops: []Op{tc.op}}}}
			for _, r := range tc.initial {
				cfg.Routes = append(cfg.Routes, mustRoute(t, r))
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			a, err := m.Exec(&s, tc.op)
			if err != nil {
				t.Fatal(err)
			}
			if a.Err != tc.errno {
				t.Errorf("answer %v, want %v", a.Err, tc.errno)
			}
			var got []string
			for _, r := range m.Table(&s) {
				got = append(got, r.Route.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("table\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestListedRestoresSameMetricRoutes restores a table with two routes of
// one metric at one prefix (what a 4.2-5.5 replace of a gateway route by
// a dev-only one leaves): as `ip route add` commands the second fails
// with -EEXIST; as a listed table both come back, in their order.
func TestListedRestoresSameMetricRoutes(t *testing.T) {
	p := prof(t, "linux-4.12")
	routes := []Route{
		mustRoute(t, "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024"),
		mustRoute(t, "2001:db8:104::/64 dev veth3 metric 1024"),
		mustRoute(t, "2001:db8:101::/64 dev veth1 proto kernel metric 256"),
	}
	if _, err := New(Config{Profile: p, Routes: routes}); err == nil {
		t.Fatal("added with NLM_F_EXCL, the second route of the metric was accepted")
	}
	m, err := New(Config{Profile: p, Routes: routes, Listed: true})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	var got []Route
	for _, r := range m.Table(&s) {
		got = append(got, r.Route)
	}
	// Table's order: by prefix, then at one prefix in list order
	want := []Route{routes[2], routes[0], routes[1]}
	if !slices.Equal(got, want) {
		t.Errorf("table %v, want %v", got, want)
	}
}
