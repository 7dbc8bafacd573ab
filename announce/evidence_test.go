package announce_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"raceroute/announce"
	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/profile"
	"raceroute/scenario"
	"raceroute/scenario/neighfile"
)

// timeline is a schedule as (milliseconds after the first frame, op,
// tha) per op, comparable between the library's senders and a preset.
func presetTimeline(p announce.Preset) map[string][]int64 {
	out := map[string][]int64{}
	var at time.Duration
	for _, f := range p.Schedule(0, 0) {
		at += f.After
		k := f.Op.String()
		if f.Op == announce.Reply {
			k += fmt.Sprintf("/tha=%d", f.THA)
		}
		out[k] = append(out[k], at.Milliseconds())
	}
	return out
}

func libraryTimeline(t *testing.T, cfg *neigh.Config) (map[string][]int64, []neigh.Window) {
	out := map[string][]int64{}
	var starts []neigh.Window
	for _, s := range cfg.Senders {
		var at int64
		for i, p := range s.Packets {
			if i == 0 {
				starts = append(starts, p.After)
			} else {
				if p.After.Min != p.After.Max {
					t.Fatalf("sender %s: packet %d after %v: the preset has no jitter", s.Name, i, p.After)
				}
				at += int64(p.After.Min)
			}
			k := "request"
			if p.Op == neigh.OpReply {
				k = "reply"
				switch p.THA {
				case neigh.THASelf:
					k += fmt.Sprintf("/tha=%d", announce.THADefault)
				case neigh.THABroadcast:
					k += fmt.Sprintf("/tha=%d", announce.THABroadcast)
				default:
					k += "/tha=other"
				}
			}
			out[k] = append(out[k], at)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out, starts
}

// TestSafePresetIsItsEvidence fails if the safe preset and the library
// scenario that is its evidence (announce-safe) ever send different
// frames, or if the model finds the scenario violated on any profile.
func TestSafePresetIsItsEvidence(t *testing.T) {
	safe := announce.Safe(announce.DefaultLocktime)
	sc, err := scenario.Find(safe.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Variants) != 1 {
		t.Fatalf("%s has %d variants, want 1", sc.Name, len(sc.Variants))
	}
	v := sc.Variants[0]
	want := presetTimeline(safe)
	checked := 0
	for _, p := range profile.All() {
		for _, q := range p.Resolve(sc.Switches()) {
			cfg, err := neighfile.Config(sc, v, q)
			if err != nil {
				t.Fatal(err)
			}
			got, starts := libraryTimeline(t, cfg)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s on %s sends %v (ms after the first frame), the safe preset %v", sc.Name, q.Name, got, want)
			}
			for _, s := range starts[1:] {
				if s != starts[0] {
					t.Fatalf("%s: its senders start in %v and %v; the preset sends its first round at once", sc.Name, starts[0], s)
				}
			}
			exp, _, err := v.Expected(q)
			if err != nil {
				t.Fatal(err)
			}
			if exp != explore.Holds {
				t.Fatalf("%s expects %v on %s: not evidence that the preset is safe there", sc.Name, exp, q.Name)
			}
			c, err := sc.Compile(v, q)
			if err != nil {
				t.Fatal(err)
			}
			o := explore.DefaultOptions()
			o.Strategy, o.Runs, o.Seed, o.Horizon = explore.Random, 200, 1, sc.Check.Horizon.Millis()
			if _, st := c.Sample(context.Background(), o); st.Failures != 0 || st.Runs != int64(o.Runs) {
				t.Errorf("%s on %s: %d of %d runs violate it; the safe preset is not safe there", sc.Name, q.Name, st.Failures, st.Runs)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Fatalf("checked %d profiles, want every one", checked)
	}
}
