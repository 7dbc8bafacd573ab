package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"raceroute/explore"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckJSONContract(t *testing.T) {
	code, out, stderr := runCLI(t, "check", "babeld-route-modify/delete-add", "--kernel", "linux-3.16,linux-4.2", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per profile, got %d lines", len(lines))
	}
	for i, want := range []string{"violated", "holds"} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"scenario", "kernel", "property", "verdict", "expected", "exhaustive", "states", "transitions", "elapsed_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i, k, lines[i])
			}
		}
		if r["verdict"] != want || r["expected"] != want {
			t.Errorf("line %d: verdict %v expected %v, want %s", i, r["verdict"], r["expected"], want)
		}
		if want == "holds" && r["exhaustive"] != true {
			t.Errorf("holds on 4.2 must be exhaustive: %s", lines[i])
		}
		if want == "violated" {
			ce, _ := r["counterexample"].(map[string]any)
			if ce == nil || ce["replay"] == nil || len(ce["events"].([]any)) == 0 {
				t.Errorf("violation without counterexample events and replay: %s", lines[i])
			}
		}
	}
}

func TestReplayIsByteForByte(t *testing.T) {
	code, out, stderr := runCLI(t, "check", "babeld-two-flows", "--kernel", "linux-3.16", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Counterexample struct{ Replay string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Counterexample.Replay == "" {
		t.Fatalf("no replay token: %v %s", err, out)
	}
	_, a, _ := runCLI(t, "replay", r.Counterexample.Replay)
	code, b, stderr := runCLI(t, "replay", r.Counterexample.Replay)
	if code != 0 || a != b || !strings.Contains(a, "[RTCAH]+") || !strings.Contains(a, "VIOLATED") {
		t.Fatalf("exit %d (%s); replays differ or lack the clone:\n%s\n---\n%s", code, stderr, a, b)
	}
	// The text report of the check tells the same story as the replay.
	_, text, _ := runCLI(t, "check", "babeld-two-flows", "--kernel", "linux-3.16")
	for _, line := range strings.Split(a, "\n") {
		if strings.Contains(line, "[") && !strings.Contains(text, strings.TrimSpace(line)) {
			t.Fatalf("check's story lacks replay line %q", line)
		}
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.yaml")
	data := `name: wrong-expectation
model: fib6
host:
  devices: [lo, eth0]
  routes: |
    unreachable 2001:db8::/48 dev lo
    2001:db8:0:10::/80 via fe80::1 dev eth0
actors:
  - name: agent
    ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0, add 2001:db8:0:10::/80 via fe80::2 dev eth0]
  - name: flow
    flow: {dst: "2001:db8:0:10::1"}
properties: [clones-agree]
expect: {"*": holds}
`
	if err := os.WriteFile(wrong, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(data, "fe80::2 dev eth0", "fe80::2 dev eth7", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"check", "babeld-retract-replace", "--kernel", "linux-4.12"}, 0, ""},
		{[]string{"check", wrong, "--kernel", "linux-3.16"}, 1, "did not match"},
		{[]string{"check", wrong, "--kernel", "linux-4.2"}, 0, ""},
		{[]string{"check", broken}, 2, `broken.yaml:10`},
		{[]string{"check", "no-such-scenario"}, 2, "no scenario"},
		{[]string{"check", "babeld-route-modify/nope"}, 2, "no variant"},
		{[]string{"check", "babeld-route-modify", "--kernel", "linux-2.6"}, 2, "unknown kernel profile"},
		{[]string{"check", "babeld-route-modify", "--format", "xml"}, 2, "--format"},
		{[]string{"check", "babeld-route-modify", "--strategy", "bfs"}, 2, "unknown strategy"},
		{[]string{"check", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"replay", "rr1-garbage!"}, 2, "replay token"},
		{[]string{"check", "--all", "babeld-route-modify"}, 2, "--all checks the whole library"},
		{[]string{"check", "--all", "--kernel", "linux-5.6", "--format", "json"}, 0, ""},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("raceroute %s: exit %d (stderr %q), want %d with %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.msg)
		}
	}
}

func TestListings(t *testing.T) {
	code, out, _ := runCLI(t, "kernels")
	if code != 0 || !strings.Contains(out, "linux-3.16") || !strings.Contains(out, "linux-6.12") {
		t.Fatalf("kernels: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "scenarios")
	if code != 0 || !strings.Contains(out, "babeld-route-modify/delete-add") {
		t.Fatalf("scenarios: %d %s", code, out)
	}
}

// The README's first command: the whole library on every profile, every
// verdict as expected.
func TestMainJob(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole library takes a few seconds")
	}
	code, out, stderr := runCLI(t)
	if code != 0 {
		t.Fatalf("raceroute: exit %d\n%s\n%s", code, out, stderr)
	}
	var n, of int
	for _, line := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(line, "%d of %d verdicts match", &n, &of); err == nil {
			break
		}
	}
	if n == 0 || n != of {
		t.Fatalf("matrix summary: %d of %d\n%s", n, of, out)
	}
	for _, s := range []string{"babeld-route-modify/delete-add", "neutron-garp-2017", "holds*:   no violation in 2000 seeded runs"} {
		if !strings.Contains(out, s) {
			t.Errorf("matrix lacks %s", s)
		}
	}
}

// The bare command is check --all, with the same defaults (seed
// included): the same matrix, rates and all.
func TestBareIsCheckAll(t *testing.T) {
	var got checkOptions
	cmd := newCheckCmdWith(func(_ *cobra.Command, args []string, o checkOptions) error {
		if len(args) != 0 {
			t.Errorf("check --all passes scenarios %v", args)
		}
		got = o
		return nil
	})
	cmd.SetArgs([]string{"--all"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := defaultCheckOptions(true); !reflect.DeepEqual(got, want) {
		t.Fatalf("check --all runs with %+v, the bare command with %+v", got, want)
	}
}

// --reduce takes explore.ParseReductions's names; a bad one is bad input.
func TestReduceFlag(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want explore.Reductions
		err  bool
	}{
		{"", 0, false}, {"--reduce=none", explore.ReduceNone, false}, {"--reduce=por,sym", explore.ReducePOR | explore.ReduceSymmetry, false},
		{"--reduce=all", explore.ReduceAll, false}, {"--reduce=fast", 0, true},
	} {
		var got checkOptions
		cmd := newCheckCmdWith(func(_ *cobra.Command, _ []string, o checkOptions) error {
			got = o
			return nil
		})
		args := []string{"babeld-two-flows"}
		if tc.arg != "" {
			args = append(args, tc.arg)
		}
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.arg, err)
			continue
		}
		if err == nil && got.Reduce != tc.want {
			t.Errorf("%q: Reduce %v, want %v", tc.arg, got.Reduce, tc.want)
		}
	}
}

// The JSON report says which reductions ran, and --reduce=none changes
// the states, not the verdict.
func TestReportSaysReductions(t *testing.T) {
	states := map[string]int64{}
	for _, tc := range []struct{ flag, want string }{{"--reduce=all", "sleep,por"}, {"--reduce=none", "none"}, {"--reduce=sleep", "sleep"}} {
		code, out, errs := runCLI(t, "check", "babeld-two-flows", "--kernel", "linux-3.16", "--format", "json", tc.flag)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.flag, code, errs)
		}
		var r struct {
			Verdict    string `json:"verdict"`
			Reductions string `json:"reductions"`
			States     int64  `json:"states"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", tc.flag, err, out)
		}
		if r.Reductions != tc.want || r.Verdict != "violated" {
			t.Errorf("%s: %+v, want reductions %s, violated", tc.flag, r, tc.want)
			continue
		}
		states[tc.flag] = r.States
	}
	if states["--reduce=all"] >= states["--reduce=none"] {
		t.Errorf("states: %v", states)
	}
}
