package check

import (
	"context"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
)

// libraryJobs is one job per distinct search of the library on every
// profile (as SearchAll shares them), exhaustive ones only.
func libraryJobs(t *testing.T) []Job {
	t.Helper()
	lib, err := scenario.Library()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var jobs []Job
	for _, sc := range lib {
		for _, v := range sc.Variants {
			for _, p := range profile.All() {
				for _, q := range p.Resolve(sc.Switches()) {
					j := Job{Scenario: sc, Variant: v, Profile: q, Column: p.Name}
					if k := SearchKey(j); !seen[k] && sc.Strategy(scenario.Overrides{}) == explore.DFS {
						seen[k] = true
						jobs = append(jobs, j)
					}
				}
			}
		}
	}
	return jobs
}

func report(t *testing.T, j Job, o Settings) Report {
	t.Helper()
	d, err := Search(context.Background(), j, o, time.Minute, NewProgress(nil))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReportJob(j, o, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verdicts(r Report) string {
	var b strings.Builder
	b.WriteString(string(r.Verdict))
	for _, p := range r.Properties {
		b.WriteString(" " + p.Name + "=" + string(p.Verdict))
	}
	return b.String()
}

// Every exhaustive library search gives, with 2 workers and as 4 shards
// merged, the sequential search's verdicts; when it holds (the whole
// space searched), the same state count, and the shards' fingerprint sets
// unite to it. A violation's counterexample replays to the violation.
func TestParallelAndShardsMatchSequentialOnTheLibrary(t *testing.T) {
	dir := t.TempDir()
	jobs := libraryJobs(t)
	var n partCounts
	for _, j := range jobs {
		// the default where it runs other reductions than sleep sets
		// (persistent sets: the fib6 scenarios)
		if ran := compareParts(t, j, explore.ReduceSleep, "", dir, &n); ran != "" {
			compareParts(t, j, 0, ran, dir, &n)
		}
	}
	if len(jobs) < 20 || n.holds == 0 || n.holds == n.compared || n.defaults == 0 {
		t.Fatalf("%d library searches, %d comparisons (%d with the default reductions), %d of them holds: too few to compare", len(jobs), n.compared, n.defaults, n.holds)
	}
	t.Logf("%d library searches, %d comparisons (%d with the default reductions), %d of them exhaustive holds", len(jobs), n.compared, n.defaults, n.holds)
}

// partCounts counts compareParts's comparisons.
type partCounts struct{ compared, defaults, holds int }

// compareParts compares one job's search with 2 workers and as 4 shards
// merged with the sequential one, all with reductions red (the default
// runs persistent sets on the library's fib6 scenarios, which have no
// interchangeable actors, and sleep sets on neigh's: the state counts
// must then be the same, TestReductionsLoseNothing says why and what is
// compared where persistent sets and symmetry run together).
//
// It returns the reductions the sequential search ran, and compares
// nothing when they are skip's or the kernel refuses the scenario (then
// it returns "").
func compareParts(t *testing.T, j Job, red explore.Reductions, skip string, dir string, n *partCounts) string {
	t.Helper()
	name := j.Scenario.FullName(j.Variant) + " on " + j.Profile.ID() + " reduce=" + red.String()
	seq := report(t, j, Settings{Bound: -1, Reduce: red})
	if seq.Verdict == scenario.Refused || seq.Reductions == skip {
		return "" // nothing searched (the kernel lacks what the scenario uses), or compared already
	}
	n.compared++
	if red == 0 {
		n.defaults++
	}
	if seq.Verdict == explore.Holds {
		n.holds++
	}
	if strings.Contains(seq.Reductions, "por") && strings.Contains(seq.Reductions, "sym") {
		t.Fatalf("%s: ran %s: the states of the parts need not be the sequential search's", name, seq.Reductions)
	}
	par := report(t, j, Settings{Bound: -1, Workers: 2, Reduce: red})
	if verdicts(par) != verdicts(seq) || par.Reductions != seq.Reductions || (seq.Verdict == explore.Holds && par.States != seq.States) {
		t.Errorf("%s: 2 workers: %s, %d states, %s; sequential: %s, %d states, %s", name, verdicts(par), par.States, par.Reductions, verdicts(seq), seq.States, seq.Reductions)
	}
	var parts []PartsFile
	for i := 0; i < 4; i++ {
		r := report(t, j, Settings{Bound: -1, Reduce: red, Shard: explore.Part{Index: i, Count: 4}, Fingerprints: dir})
		if r.Part == nil || r.Match && r.Verdict == explore.Holds {
			t.Fatalf("%s: shard %d's report does not say it is one shard: %+v", name, i, r.Part)
		}
		parts = append(parts, PartsFile{Name: "shard", Reports: []Report{r}})
	}
	merged, err := MergeParts(parts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m := merged[0]
	if verdicts(m) != verdicts(seq) || m.Match != seq.Match {
		t.Errorf("%s: merged shards: %s (match %v); sequential: %s (match %v)", name, verdicts(m), m.Match, verdicts(seq), seq.Match)
	}
	if seq.Verdict == explore.Holds && (m.Merged.DistinctStates == nil || *m.Merged.DistinctStates != seq.States || m.States < seq.States) {
		t.Errorf("%s: merged shards: %d states counted, %v distinct; sequential %d", name, m.States, m.Merged.DistinctStates, seq.States)
	}
	for _, r := range []Report{par, m} {
		if r.Counterexample == nil {
			continue
		}
		tok, err := explore.ParseToken(r.Counterexample.Replay)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := j.Scenario.CompileFor(j.Variant, j.Profile, scenario.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := c.ReplayUntil(tok.Choices, tok.Property, j.Scenario.Options(scenario.Overrides{})); err != nil || rep.Verdict != explore.Violated {
			t.Errorf("%s: the counterexample of %s does not replay to its violation (%v)", name, tok.Property, err)
		}
	}
	return seq.Reductions
}
