package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
)

// neighOpts are the options the command line derives from a scenario's
// `check:` settings, with runs capped to keep the test short.
func neighOpts(sc *Scenario, runs int64) explore.Options {
	o := explore.DefaultOptions()
	o.Seed = 1
	o.Horizon = sc.Check.Horizon.Millis()
	o.Strategy = explore.Strategy(sc.Check.Strategy)
	if o.Strategy == "" {
		o.Strategy = explore.DFS
	}
	o.Runs = min(sc.Check.Runs, runs)
	return o
}

func neighLibrary(t testing.TB) []*Scenario {
	t.Helper()
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	var out []*Scenario
	for _, sc := range lib {
		if sc.Model == "neigh" {
			out = append(out, sc)
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d neigh scenarios in the library", len(out))
	}
	return out
}

func TestNeighLibraryVerdicts(t *testing.T) {
	ctx := context.Background()
	for _, sc := range neighLibrary(t) {
		for _, v := range sc.Variants {
			for _, p := range examplesProfiles(sc) {
				want, _, err := v.Expected(p)
				if err != nil {
					t.Fatal(err)
				}
				c, err := sc.Compile(v, p)
				switch {
				case err != nil && want == Refused:
					// The neighbour model refuses only what the kernel lacks.
					if !strings.Contains(err.Error(), "neigh-managed=no") {
						t.Errorf("%s on %s: refused, but not for want of NTF_MANAGED: %v", sc.FullName(v), p.Name, err)
					}
					continue
				case err != nil:
					t.Fatalf("%s on %s: %v", sc.FullName(v), p.Name, err)
				case want == Refused:
					t.Fatalf("%s on %s: expected refused, but the model accepts it", sc.FullName(v), p.Name)
				}
				o := neighOpts(sc, 400)
				var got explore.Verdict
				if o.Strategy == explore.DFS {
					got = c.Check(ctx, o).Verdict
				} else {
					res, _ := c.Sample(ctx, o)
					got = res.Verdict
				}
				if got != want {
					t.Errorf("%s on %s: %s, expected %s", sc.FullName(v), p.Name, got, want)
				}
			}
		}
	}
}

// The seed's failure: violated on RHEL 7.3 in most runs, never on 4.12+.
func TestNeutronGARP2017Rates(t *testing.T) {
	sc, err := Find("neutron-garp-2017")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		prof     string
		lo, hi   float64
		wantRuns int64
	}{
		{"linux-3.10", 0.70, 1, 2000},
		{"linux-4.11", 0, 0.01, 2000},
		{"linux-4.12", 0, 0, 2000},
		{"linux-6.12", 0, 0, 2000},
	} {
		p, _ := profile.Lookup(tc.prof)
		c, err := sc.Compile(sc.Variants[0], p)
		if err != nil {
			t.Fatal(err)
		}
		_, st := c.Sample(ctx, neighOpts(sc, tc.wantRuns))
		if st.Runs != tc.wantRuns || st.Rate < tc.lo || st.Rate > tc.hi {
			t.Errorf("%s: failure rate %.3f over %d runs, want %d runs in [%.2f, %.2f]", tc.prof, st.Rate, st.Runs, tc.wantRuns, tc.lo, tc.hi)
		}
	}
}

// The RHEL 7.3 story shows the three ignored replies, the moving window
// and the wrong confirmations that bring the entry back to REACHABLE
// without a probe; the same seed gives the same story, byte for byte.
func TestNeutronGARP2017Story(t *testing.T) {
	sc, err := Find("neutron-garp-2017")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profile.Lookup("linux-3.10")
	story := func() ([]byte, string) {
		c, err := sc.Compile(sc.Variants[0], p)
		if err != nil {
			t.Fatal(err)
		}
		o := neighOpts(sc, 100)
		res, _ := c.Sample(context.Background(), o)
		if res.Verdict != explore.Violated {
			t.Fatalf("no failing run in 100")
		}
		rep := c.Replay(res.Choices, o)
		b, err := json.Marshal(rep.Events)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		for _, e := range rep.Events {
			sb.WriteString(e.Text + " | " + e.Reason + "\n")
		}
		return b, sb.String()
	}
	a, text := story()
	b, _ := story()
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different story")
	}
	if n := strings.Count(text, "(gratuitous reply: not recognised on linux-3.10) ignored: within locktime"); n != 3 {
		t.Errorf("%d ignored gratuitous replies in the story, want 3:\n%s", n, text)
	}
	if n := strings.Count(text, "(moving window)"); n != 3 {
		t.Errorf("%d moving-window slides, want 3", n)
	}
	for _, want := range []string{
		"updated 1.000 s ago by an ignored ARP packet",
		"a wrong confirmation: the ACK came from 172.24.4.11",
		"DELAY -> REACHABLE",
		"reachable again without a probe",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("story lacks %q", want)
		}
	}
	if strings.Contains(text, "tx request who-has 172.24.4.10") {
		t.Errorf("the RHEL 7.3 story must not probe the moved address:\n%s", text)
	}
}

func FuzzCompileNeigh(f *testing.F) {
	for _, name := range []string{"neutron-garp-2017.yaml", "garp-locktime-edge.yaml", "metallb-failover.yaml", "workaround-arp-accept-requests.yaml",
		"ipv6-na-failover.yaml", "ipv6-na-override-clear.yaml", "ipv6-na-untracked-router.yaml", "udp-msg-confirm.yaml"} {
		data, err := libraryFS.ReadFile("library/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\nmodel: neigh\nexpect: {\"*\": holds}\ncheck: {horizon: 1s}\nhosts: [{name: h, interfaces: [{name: e, mac: 'a', addrs: []}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err != nil || sc.Model != "neigh" {
			return
		}
		for _, v := range sc.Variants {
			for _, p := range profile.All() {
				c, err := sc.Compile(v, p)
				if err != nil {
					continue
				}
				o := explore.DefaultOptions()
				o.Strategy, o.Runs, o.Seed = explore.Random, 2, 1
				o.Horizon = min(sc.Check.Horizon.Millis(), 120000)
				c.Sample(context.Background(), o)
			}
		}
	})
}

// BenchmarkNeutronGARP2017Run measures seeded runs of neutron-garp-2017 (60 s
// of simulated time each) on RHEL 7.3; one op is one run.
func BenchmarkNeutronGARP2017Run(b *testing.B) {
	sc, err := Find("neutron-garp-2017")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := profile.Lookup("linux-3.10")
	c, err := sc.Compile(sc.Variants[0], p)
	if err != nil {
		b.Fatal(err)
	}
	o := neighOpts(sc, 1<<62)
	o.Runs = int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	res, _ := c.Sample(context.Background(), o)
	b.StopTimer()
	if res.Runs != int64(b.N) {
		b.Fatalf("ran %d of %d", res.Runs, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	b.ReportMetric(float64(res.Transitions)/float64(b.N), "steps/run")
}

// garp-locktime-edge keeps every window at most 1 ms wide, so the DFS's
// two endpoints are every integer time: its "holds" is a proof.
func TestGARPLocktimeEdgeExhaustive(t *testing.T) {
	sc, err := Find("garp-locktime-edge")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prof string
		want explore.Verdict
	}{{"linux-3.10", explore.Violated}, {"linux-4.11", explore.Holds}, {"linux-4.12", explore.Holds}} {
		p, _ := profile.Lookup(tc.prof)
		c, err := sc.Compile(sc.Variants[0], p)
		if err != nil {
			t.Fatal(err)
		}
		res := c.Check(context.Background(), neighOpts(sc, 0))
		if res.Verdict != tc.want || (tc.want == explore.Holds && !res.Exhaustive) {
			t.Errorf("%s: %s (exhaustive %v), want %s", tc.prof, res.Verdict, res.Exhaustive, tc.want)
		}
		if tc.want == explore.Violated {
			rep := c.Replay(res.Choices, neighOpts(sc, 0))
			var gaps int
			for _, e := range rep.Events {
				if strings.Contains(e.Reason, "updated 1.000 s ago by an ignored ARP packet") {
					gaps++
				}
			}
			if gaps != 2 {
				t.Errorf("%s: counterexample has %d replies exactly locktime after the last, want 2", tc.prof, gaps)
			}
		}
	}
}
