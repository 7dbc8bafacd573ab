package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"raceroute/check"
)

// runProcesses runs raceroute once per argument list, as separate
// processes at the same time, and fails t unless each exits 0.
func runProcesses(t *testing.T, argss [][]string) {
	t.Helper()
	cmds := make([]*exec.Cmd, len(argss))
	outs := make([]strings.Builder, len(argss))
	for i, args := range argss {
		cmds[i] = exec.Command(os.Args[0])
		cmds[i].Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\n"))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("raceroute %s: %v\n%s", strings.Join(argss[i], " "), err, outs[i].String())
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func decodeReport(t *testing.T, s string) check.Report {
	t.Helper()
	var r check.Report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return r
}

// Four shards of a large scenario, run as four processes, merge to the
// single run's verdict; the shards' own counts overlap (their sum exceeds
// the single run's), the union of their fingerprints is the single run's
// state count exactly, and the merged report says how it counted; with
// sleep sets and with the default (persistent sets: the family has no
// interchangeable actors, docs/reductions.md says why symmetry beside
// persistent sets would let the counts differ).
func TestShardProcessesMergeToTheSingleRun(t *testing.T) {
	file, _ := filepath.Abs(filepath.Join("testdata", "family-4-flows.yaml"))
	var dir string
	for _, reduce := range []string{"default", "sleep"} {
		dir = t.TempDir()
		const n = 4
		var argss [][]string
		for i := 0; i < n; i++ {
			argss = append(argss, []string{"check", file, "--kernel", "linux-3.16", "--format", "json", "--reduce", reduce,
				"--shard", fmt.Sprintf("%d/%d", i, n), "--fingerprints", dir, "-o", filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))})
		}
		runProcesses(t, argss)
		code, single, stderr := runCLI(t, "check", file, "--kernel", "linux-3.16", "--format", "json", "--reduce", reduce)
		if code != 0 {
			t.Fatalf("single run: exit %d: %s", code, stderr)
		}
		want := decodeReport(t, single)
		var sum int64
		for i := 0; i < n; i++ {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)))
			if err != nil {
				t.Fatal(err)
			}
			r := decodeReport(t, string(b))
			if r.Part == nil || r.Part.Index != i || r.Match || !strings.Contains(r.Explanation, "shard") || r.Reductions != want.Reductions {
				t.Fatalf("shard %d's report does not say it is one shard, or ran other reductions than %s: %s", i, want.Reductions, b)
			}
			sum += r.States
		}
		code, out, stderr := runCLI(t, "merge-results", "--format", "json", dir)
		if code != 0 {
			t.Fatalf("merge-results: exit %d: %s %s", code, stderr, out)
		}
		got := decodeReport(t, out)
		if got.Verdict != want.Verdict || !got.Exhaustive || !got.Match {
			t.Errorf("--reduce %s: merged: %s exhaustive %v match %v; single run: %s", reduce, got.Verdict, got.Exhaustive, got.Match, want.Verdict)
		}
		if got.Merged == nil || got.Merged.DistinctStates == nil {
			t.Fatalf("--reduce %s: merged report without distinct states: %v", reduce, got.Merged)
		}
		distinct := *got.Merged.DistinctStates
		if distinct != want.States || want.Reductions != map[string]string{"default": "por", "sleep": "sleep"}[reduce] {
			t.Fatalf("--reduce %s (ran %s): merged distinct states %d, single run %d", reduce, want.Reductions, distinct, want.States)
		}
		if sum <= distinct || got.States < distinct || !strings.Contains(got.Merged.Counting, "counted once per shard") {
			t.Errorf("--reduce %s: shards' states %d in all, merged %d (%q), distinct %d", reduce, sum, got.States, got.Merged.Counting, distinct)
		}
		t.Logf("--reduce %s (ran %s): single run %d states; 4 shards %d in all, merged count %d, distinct %d", reduce, want.Reductions, want.States, sum, got.States, distinct)
	}

	// A missing shard is refused, naming it.
	if err := os.Remove(filepath.Join(dir, "shard-2.json")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "merge-results", dir)
	if code != 2 || !strings.Contains(stderr, "missing shard 2 of 4") {
		t.Errorf("merge without shard 2: exit %d, %s", code, stderr)
	}
}

// Swarm members run as processes merge into a report that says plainly
// it is not exhaustive, with no verdict of holds; a violation found by a
// member is the merged verdict.
func TestSwarmProcessesSayWhatTheyCovered(t *testing.T) {
	file, _ := filepath.Abs(filepath.Join("testdata", "family-4-flows.yaml"))
	dir := t.TempDir()
	var argss [][]string
	for i := 0; i < 3; i++ {
		argss = append(argss, []string{"check", file, "--kernel", "linux-3.16", "--format", "json", "--max-states", "20000",
			"--swarm", fmt.Sprintf("%d/3", i), "-o", filepath.Join(dir, fmt.Sprintf("m%d.json", i))})
	}
	runProcesses(t, argss)
	code, out, stderr := runCLI(t, "merge-results", dir)
	if code != 1 || !strings.Contains(out, "UNKNOWN") || !strings.Contains(out, "NOT exhaustive") {
		t.Fatalf("swarm merge: exit %d: %s %s", code, out, stderr)
	}
	// Violations: every member finds the clone race of babeld-two-flows.
	dir2 := t.TempDir()
	argss = nil
	for i := 0; i < 2; i++ {
		argss = append(argss, []string{"check", "babeld-two-flows", "--kernel", "linux-3.16", "--format", "json",
			"--swarm", fmt.Sprintf("%d/2", i), "-o", filepath.Join(dir2, fmt.Sprintf("m%d.json", i))})
	}
	runProcesses(t, argss)
	code, out, stderr = runCLI(t, "merge-results", "--format", "json", dir2)
	if code != 0 {
		t.Fatalf("swarm merge: exit %d: %s %s", code, out, stderr)
	}
	if r := decodeReport(t, out); r.Verdict != "violated" || r.Counterexample == nil || r.Counterexample.Replay == "" {
		t.Fatalf("merged swarm of a violated scenario: %s", out)
	}
}

func TestPartFlagsRefuseBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "4/4"}, "0 <= I < N"},
		{[]string{"--shard", "x"}, "want I/N"},
		{[]string{"--swarm", "1/0"}, "N >= 1"},
		{[]string{"--shard", "0/2", "--swarm", "0/2"}, "give one"},
		{[]string{"--fingerprints", "/tmp"}, "only a shard"},
		{[]string{"--shard", "0/2", "--strategy", "pct"}, "depth-first"},
		{[]string{"--workers", "-1"}, "--workers -1"},
		{[]string{"--max-states", "-5"}, "--max-states -5"},
	} {
		code, _, stderr := runCLI(t, append([]string{"check", "babeld-two-flows", "--kernel", "linux-3.16"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("check %v: exit %d, %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	for _, args := range [][]string{{"/nonexistent"}, {os.DevNull}} {
		code, _, stderr := runCLI(t, append([]string{"merge-results"}, args...)...)
		if code != 2 || stderr == "" {
			t.Errorf("merge-results %v: exit %d, %q; want 2 and an error", args, code, stderr)
		}
	}
}
