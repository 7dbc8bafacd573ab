package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/internal/seed000"
	"raceroute/profile"
	"raceroute/scenario"
)

// checker compiles the family at nl on linux-3.16 (clone-on-lookup).
func checker(tb testing.TB, nl int) explore.Checker {
	tb.Helper()
	var b bytes.Buffer
	if err := seed000.Write(&b, nl); err != nil {
		tb.Fatal(err)
	}
	sc, err := scenario.Parse(fmt.Sprintf("seed000-nl%d.yaml", nl), b.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	p, err := profile.Lookup("linux-3.16")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := sc.Compile(sc.Variants[0], p)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkSeed000 reports the states and time of an exhaustive check of
// the family, with the default reductions, with every one and with none:
//
//	go test ./bench/seed000 -run '^$' -bench 'Seed000/nl=8/' -benchtime 1x
func BenchmarkSeed000(b *testing.B) {
	for _, nl := range []int{4, 6, 8, 10, 12, 14} {
		for _, red := range []string{"default", "all", "none"} {
			if red == "none" && nl > 6 {
				continue // hours at NL=8 (issue 15)
			}
			b.Run(fmt.Sprintf("nl=%d/reduce=%s", nl, red), func(b *testing.B) {
				c := checker(b, nl)
				opts := explore.DefaultOptions()
				opts.Reduce, _ = explore.ParseReductions(red)
				opts.Budget = 10 * time.Minute
				var res explore.Result
				for i := 0; i < b.N; i++ {
					res = c.Check(context.Background(), opts)
				}
				if res.Verdict != explore.Holds || !res.Exhaustive {
					b.Fatalf("verdict %s exhaustive %v", res.Verdict, res.Exhaustive)
				}
				b.ReportMetric(float64(res.States), "states")
				b.ReportMetric(float64(res.Transitions), "transitions")
				b.ReportMetric(res.Elapsed.Seconds(), "s-to-verdict")
			})
		}
	}
}

// The scenario files beside the generator are what it prints.
func TestFilesAreGenerated(t *testing.T) {
	for _, nl := range []int{8, 14} {
		name := fmt.Sprintf("seed000-nl%d.yaml", nl)
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := seed000.Write(&want, nl); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s is not what the generator prints: go run ./bench/seed000 -nl %d > bench/seed000/%s", name, nl, name)
		}
	}
}

// Write refuses sizes the model cannot hold.
func TestWriteRefusesTooMany(t *testing.T) {
	for _, nl := range []int{-1, seed000.MaxNL + 1} {
		if err := seed000.Write(io.Discard, nl); err == nil {
			t.Errorf("nl=%d: no error", nl)
		}
	}
	// the largest size compiles
	checker(t, seed000.MaxNL)
}
