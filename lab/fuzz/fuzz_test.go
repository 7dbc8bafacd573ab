package fuzz

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/live/host"
	"raceroute/live/netns/nstest"
)

var (
	flagN    = flag.Int("n", 0, "TestFuzzLive: number of cases (0: the CI size)")
	flagSeed = flag.Uint64("seed", 1, "TestFuzzLive: seed")
	flagCat  = flag.String("category", "", "TestFuzzLive: categories, comma-separated (empty: all)")
	flagPar  = flag.Int("parallel", 0, "TestFuzzLive: cases at once (0: the default)")
	flagJSON = flag.String("json", "", "TestFuzzLive: also write the report as JSON to this file")
)

// ciCases is the size of the CI run: 48 route cases (under a second) and
// 48 arp cases (seconds of real time each, 16 at once: about 20 s).
const ciCases = 96

// TestFuzzLive runs the differential test on the running kernel and
// fails on any disagreement. `go test ./lab/fuzz -run TestFuzzLive -args
// -n 1000` is the full run (bench/lab-fuzz.sh).
func TestFuzzLive(t *testing.T) {
	nstest.RequireRoot(t)
	p, err := host.Profile()
	if err != nil {
		t.Fatal(err)
	}
	n := *flagN
	if n == 0 {
		n = ciCases
	}
	opts := Options{N: n, Seed: *flagSeed, Profile: p, Parallel: *flagPar, Prefix: nstest.Prefix + "fz-"}
	if *flagCat != "" {
		opts.Categories = strings.Split(*flagCat, ",")
	}
	if testing.Verbose() {
		last := time.Now()
		opts.Progress = func(done, total int) {
			if time.Since(last) > 5*time.Second || done == total {
				last = time.Now()
				t.Logf("%d of %d cases", done, total)
			}
		}
	}
	rep, err := Run(context.Background(), opts)
	if rep != nil {
		var b strings.Builder
		rep.Write(&b, "text")
		t.Log("\n" + b.String())
		if *flagJSON != "" {
			f, ferr := os.Create(*flagJSON)
			if ferr == nil {
				rep.Write(f, "json")
				f.Close()
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Disagreements) > 0 {
		t.Errorf("%d of %d cases disagree", len(rep.Disagreements), rep.Cases)
	}
	// A few late cases are noise; many make the run no measurement.
	if late := rep.Late(); late*10 > rep.Cases {
		t.Errorf("%d of %d cases could not keep their schedule: the machine is too loaded for a measurement", late, rep.Cases)
	}
}
