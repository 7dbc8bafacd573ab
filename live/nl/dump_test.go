package nl_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/live/nl"
	"raceroute/live/nl/internal/nlfake"
	"raceroute/trace"
)

// TestDumper runs dumps against the fake kernel (no root): the tables
// and families asked for, and the retries of interrupted dumps, whose
// stale content must not survive.
func TestDumper(t *testing.T) {
	va, vb := nlfake.Link(2, "va", true), nlfake.Link(3, "vb", false)
	addr4, addr6 := nlfake.Addr("10.9.0.1/24", 2, "va"), nlfake.Addr("fd00:9::1/64", 2, "va")
	route4, route6 := nlfake.Route("10.1.0.0/24", "10.9.0.2", 2, "va"), nlfake.Route("fd01::/64", "fd00:9::2", 2, "va")
	cache := nlfake.Cache("fd01::1/128", "fd00:9::2", 2, "va")
	neigh4 := nlfake.Neigh("10.9.0.2", "02:00:00:00:00:09", kernel.NUDReachable, 2, "va")
	neigh6 := nlfake.Neigh("fd00:9::2", "02:00:00:00:00:09", kernel.NUDStale, 2, "va")
	tables := []trace.Record{va, vb, addr4, addr6, route4, route6, cache, neigh4, neigh6}
	links := nl.ViewOf([]trace.Record{va, vb})
	repeat := func(what string, n int) []string { return slices.Repeat([]string{what}, n) }

	tests := []struct {
		name      string
		families  []int
		tables    nl.Tables
		prev      *nl.View
		interrupt func(k *nlfake.Kernel)
		want      []trace.Record
		retried   []string
		err       string
	}{
		{name: "every table", tables: nl.AllTables(), want: tables},
		{name: "IPv4 alone", families: []int{4}, tables: nl.AllTables(), want: []trace.Record{va, vb, addr4, route4, neigh4}},
		{name: "routes without the cache", tables: nl.Tables{Links: true, Routes: true}, want: []trace.Record{va, vb, route4, route6}},
		{name: "the cache alone, named by the links known", tables: nl.Tables{Cache: true}, prev: links, want: []trace.Record{va, vb, cache}},
		{name: "links interrupted twice", tables: nl.AllTables(), want: tables, retried: repeat("links", 2),
			interrupt: func(k *nlfake.Kernel) { k.Interrupt(unix.RTM_GETLINK, 2, nlfake.Link(9, "gone", true)) }},
		{name: "neighbours interrupted", tables: nl.AllTables(), want: tables, retried: []string{"neighbours (family 2)"},
			interrupt: func(k *nlfake.Kernel) {
				k.Interrupt(unix.RTM_GETNEIGH, 1, nlfake.Neigh("10.9.0.99", "02:00:00:00:00:99", kernel.NUDStale, 2, "va"))
			}},
		{name: "the cache interrupted", families: []int{6}, tables: nl.Tables{Cache: true}, prev: links, want: []trace.Record{va, vb, cache},
			retried: []string{"route cache (family 10)"},
			interrupt: func(k *nlfake.Kernel) {
				k.Interrupt(unix.RTM_GETROUTE, 1, nlfake.Cache("fd01::2/128", "fd00:9::2", 2, "va"))
			}},
		{name: "interrupted one time less than the limit", tables: nl.AllTables(), want: tables,
			retried: repeat("addresses (family 2)", nl.MaxDumpTries-1),
			interrupt: func(k *nlfake.Kernel) {
				k.Interrupt(unix.RTM_GETADDR, nl.MaxDumpTries-1, nlfake.Addr("10.9.0.99/24", 2, "va"))
			}},
		{name: "interrupted at every try", tables: nl.AllTables(), retried: repeat("addresses (family 2)", nl.MaxDumpTries),
			interrupt: func(k *nlfake.Kernel) { k.Interrupt(unix.RTM_GETADDR, nl.MaxDumpTries) },
			err:       "dump addresses (family 2): interrupted 20 times in a row (NLM_F_DUMP_INTR)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := nlfake.New(tables...)
			if tc.interrupt != nil {
				tc.interrupt(k)
			}
			var retried []string
			d := nl.NewDumper(k.Conn(), nl.Options{Families: tc.families, OnDumpRetry: func(what string) { retried = append(retried, what) }})
			defer d.Close()
			v, err := d.Dump(context.Background(), tc.tables, tc.prev)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Dump error %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if diff := v.Differences(nl.ViewOf(tc.want)); len(diff) > 0 {
				t.Errorf("dump vs want:\n%s", strings.Join(diff, "\n"))
			}
			if !slices.Equal(retried, tc.retried) || d.Retries() != uint64(len(tc.retried)) {
				t.Errorf("retried %q (Retries %d), want %q", retried, d.Retries(), tc.retried)
			}
		})
	}
}

// TestDumperContext stops a dump whose context is done before it sends.
func TestDumperContext(t *testing.T) {
	k := nlfake.New(nlfake.Link(2, "va", true))
	d := nl.NewDumper(k.Conn(), nl.Options{})
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Dump(ctx, nl.AllTables(), nil); err != context.Canceled {
		t.Fatalf("Dump with a cancelled context: %v, want context.Canceled", err)
	}
	if n := k.Dumps(netlink.HeaderType(unix.RTM_GETLINK)); n != 0 {
		t.Errorf("%d link dumps sent after cancel", n)
	}
}
