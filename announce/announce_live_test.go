package announce_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"

	"raceroute/announce"
	"raceroute/kernel"
	"raceroute/live/netns/nstest"
)

// neighMAC polls the neighbour entry for ip in ns until it is want or
// the deadline passes, and returns when the kernel made it want (from the
// entry's updated age, to 10 ms; at the latest, should the dump itself
// wait for a CPU).
func neighMAC(c *rtnetlink.Conn, ip netip.Addr, want kernel.MAC, deadline time.Time) (time.Time, string, error) {
	last := "no entry"
	for time.Now().Before(deadline) {
		// The age is the dump's, taken after now: now - age is no
		// later than the change.
		now := time.Now()
		ns, err := c.Neigh.List()
		if err != nil {
			return time.Time{}, "", err
		}
		for _, n := range ns {
			if n.Attributes == nil {
				continue
			}
			if a, ok := netip.AddrFromSlice(n.Attributes.Address); ok && a.Unmap() == ip {
				last = n.Attributes.LLAddress.String()
				if last == want.String() {
					// The kernel's own time of the change: the dump says how
					// long ago the entry was updated (neigh_fill_info():
					// ndm_updated = jiffies_to_clock_t(now - updated), in
					// 1/USER_HZ = 10 ms), so a loaded machine's late poll
					// does not count as the receiver's delay.
					if ci := n.Attributes.CacheInfo; ci != nil {
						return now.Add(-time.Duration(ci.Updated) * 10 * time.Millisecond), last, nil
					}
					return now, last, nil
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, last, nil
}

// TestAnnounceMovesNeighbour: a receiver's entry for the moved address,
// learnt at the old MAC, takes the announcing interface's MAC within
// 100 ms of the first frame of every preset, for IPv4 and IPv6, whether
// the entry was updated long ago (past locktime) or just now (within
// locktime: only a frame the kernel recognises as gratuitous overrides
// it, arp_is_garp() from 4.12; an NA's Override flag has no locktime).
// Each case sends the preset's first frame (the rest are seconds later).
// A gratuitous reply whose target MAC is not the sender's (MetalLB's,
// alone) is taken past locktime only: the case that fails where the
// timing relative to locktime matters.
func TestAnnounceMovesNeighbour(t *testing.T) {
	a, b := nstest.Pair(t, "an")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mac, err := b.LinkMAC("vb")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type tcase struct {
		preset announce.Preset
		when   string
		addr   netip.Addr
		taken  bool
	}
	// MetalLB's reply alone (target MAC broadcast): arp_is_garp() does
	// not recognise it, so only past locktime does it override.
	reply := announce.Preset{Name: "metallb-reply-alone", Round: []announce.Frame{{Op: announce.Reply, THA: announce.THABroadcast}}, Count: 1}
	var cases []tcase
	n := 100
	for _, when := range []string{"past locktime", "within locktime"} {
		for _, p := range announce.Presets(0) {
			for _, fam := range []string{"10.9.0.%d", "fd00:9::%d"} {
				cases = append(cases, tcase{p, when, netip.MustParseAddr(fmt.Sprintf(fam, n)), true})
				n++
			}
		}
		cases = append(cases, tcase{reply, when, netip.MustParseAddr(fmt.Sprintf("10.9.0.%d", n)), when == "past locktime"})
		n++
	}
	learn := func(t *testing.T, addr netip.Addr) time.Time {
		t.Helper()
		if _, err := a.Run(ctx, "ip", "neigh", "replace", addr.String(), "lladdr", "02:00:00:00:00:01", "dev", "va", "nud", "stale"); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	for _, tc := range cases {
		if tc.when == "past locktime" {
			learn(t, tc.addr)
		}
	}
	time.Sleep(announce.DefaultLocktime + 100*time.Millisecond)
	for _, tc := range cases {
		t.Run(tc.when+"/"+tc.preset.Name+"/"+tc.addr.String(), func(t *testing.T) {
			p := tc.preset
			// An entry within locktime is learnt just before its frame:
			// learnt with the others, the last cases' would be past it
			// by the time their frames went out on a loaded machine.
			var learnt time.Time
			if tc.when == "within locktime" {
				learnt = learn(t, tc.addr)
			}
			actx, stop := context.WithCancel(ctx)
			defer stop()
			var first time.Time
			var once sync.Once
			_, err := announce.Announce(actx, announce.Options{Netns: b.Path, Dev: "vb", Addr: tc.addr, Preset: p,
				OnSend: func(s announce.Sent) { once.Do(func() { first = s.At; stop() }) }})
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			if first.IsZero() {
				t.Fatal("no frame sent")
			}
			wait := time.Second
			if !tc.taken {
				wait = 300 * time.Millisecond
			}
			at, last, err := neighMAC(c, tc.addr, mac, first.Add(wait))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.taken {
				if !at.IsZero() {
					t.Fatalf("the receiver took %s from a frame it should ignore within locktime (sent %v after the entry was learnt)", mac, first.Sub(learnt))
				}
				if d := first.Sub(learnt); d >= announce.DefaultLocktime {
					t.Fatalf("the frame went out %v after the entry was learnt, past locktime: the case proves nothing", d)
				}
				return
			}
			if at.IsZero() {
				t.Fatalf("the receiver's entry for %s is %s, not %s, 1 s after the first frame", tc.addr, last, mac)
			}
			if d := at.Sub(first); d > 100*time.Millisecond {
				t.Errorf("the receiver took %s %v after the first frame, want within 100 ms", mac, d)
			} else {
				t.Logf("took %s %v after the first frame", mac, d.Round(time.Microsecond))
			}
		})
	}
}

// Bad input sends nothing and says what is wrong.
func TestAnnounceBadInput(t *testing.T) {
	_, b := nstest.Pair(t, "ab")
	safe := announce.Safe(0)
	tests := []struct {
		name string
		opts announce.Options
		want string
	}{
		{"unknown device", announce.Options{Netns: b.Path, Dev: "nosuch0", Addr: netip.MustParseAddr("10.9.0.9"), Preset: safe}, `interface "nosuch0"`},
		{"no address", announce.Options{Netns: b.Path, Dev: "vb", Preset: safe}, "no address"},
		{"no link-local", announce.Options{Netns: b.Path, Dev: "lo", Addr: netip.MustParseAddr("fd00:9::9"), Preset: safe}, "no IPv6 link-local"},
		{"empty preset", announce.Options{Netns: b.Path, Dev: "vb", Addr: netip.MustParseAddr("10.9.0.9")}, "sends nothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := announce.Announce(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if rep != nil && len(rep.Sent) > 0 {
				t.Fatalf("sent %d frames", len(rep.Sent))
			}
		})
	}
}
