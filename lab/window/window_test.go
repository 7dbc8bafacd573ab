package window

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"raceroute/lab/liverun"
	"raceroute/live/netns/nstest"
)

// liveHost is the running kernel, for tests that need root.
func liveHost(t *testing.T) liverun.Host {
	t.Helper()
	nstest.RequireRoot(t)
	h, err := liverun.DetectHost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestWindowSmall runs the window experiment briefly: delete+add lets
// lookups match the unreachable /48 (the host's sendto fails, the
// client gets ICMPv6 no route); replace and the control see none.
func TestWindowSmall(t *testing.T) {
	h := liveHost(t)
	res, err := Run(context.Background(), h, Options{Moves: 500, Every: time.Millisecond, Rate: 10000, Strategies: []string{"none", "delete-add", "replace"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	errs := func(c StreamCount) int {
		n := 0
		for _, v := range c.Errors {
			n += v
		}
		return n
	}
	for _, r := range res {
		t.Logf("%s: %.2f s, gap median %.0f us; host %+v; client %+v", r.Strategy, r.Seconds, r.GapMedianUS, r.Local, r.Forwarded)
		if r.Local.Sent < 1000 || r.Forwarded.Sent < 1000 {
			t.Errorf("%s: the streams sent %d and %d packets, want at least 1000 each", r.Strategy, r.Local.Sent, r.Forwarded.Sent)
		}
		switch r.Strategy {
		case "delete-add":
			if r.Local.Errors["sendto EHOSTUNREACH"] == 0 {
				t.Errorf("delete-add: no sendto EHOSTUNREACH in %+v: the window between delete and add went unseen", r.Local)
			}
			if !slices.ContainsFunc(keys(r.Forwarded.Errors), func(k string) bool { return strings.Contains(k, "no route") }) {
				t.Errorf("delete-add: no ICMPv6 no route in %+v", r.Forwarded)
			}
			if r.GapMedianUS <= 0 {
				t.Error("delete-add: no gap measured")
			}
		default:
			if errs(r.Local)+errs(r.Forwarded) != 0 {
				t.Errorf("%s: errors %v, %v: want none", r.Strategy, r.Local.Errors, r.Forwarded.Errors)
			}
		}
	}
	if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
		t.Errorf("the experiment left %v", l)
	}
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
