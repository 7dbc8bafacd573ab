package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
)

// checkJSON runs check --format json and decodes its one report.
func checkJSON(t *testing.T, args ...string) (int, check.Report) {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{"check", "--format", "json"}, args...)...)
	var r check.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check %v: exit %d, %v: %.300s %s", args, code, err, out, stderr)
	}
	return code, r
}

// Every property has its own verdict in check and replay: the second
// property of a failing run is evaluated, not printed as holding.
func TestEveryPropertyReported(t *testing.T) {
	code, r := checkJSON(t, "neutron-garp-2017", "--kernel", "linux-3.10")
	if code != 0 || r.Verdict != "violated" {
		t.Fatalf("exit %d verdict %s", code, r.Verdict)
	}
	if len(r.Properties) != 2 {
		t.Fatalf("%d properties reported, want 2: %+v", len(r.Properties), r.Properties)
	}
	for _, p := range r.Properties {
		if p.Verdict != "violated" || p.Counterexample == nil || p.Failures == nil || *p.Failures == 0 {
			t.Fatalf("property %s: %s, failures %v", p.Name, p.Verdict, p.Failures)
		}
		_, text, stderr := runCLI(t, "replay", p.Counterexample.Replay)
		if !strings.Contains(text, "VIOLATED") {
			t.Fatalf("replay of %s: %.300s %s", p.Name, text, stderr)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "  property ") && !strings.Contains(line, "VIOLATED") {
				t.Errorf("replay of %s reports a property that this run violates as %q", p.Name, line)
			}
		}
		_, js, _ := runCLI(t, "replay", "--format", "json", p.Counterexample.Replay)
		var rep struct {
			Properties []struct{ Name, Verdict string }
		}
		if err := json.Unmarshal([]byte(js), &rep); err != nil || len(rep.Properties) != 2 {
			t.Fatalf("replay json: %v %.300s", err, js)
		}
		for _, q := range rep.Properties {
			if q.Verdict != "violated" {
				t.Errorf("replay json of %s: %s is %s", p.Name, q.Name, q.Verdict)
			}
		}
	}
	// Where it holds, each property says so, and what covers it.
	_, r = checkJSON(t, "neutron-garp-2017", "--kernel", "linux-4.12")
	if r.Verdict != "holds" || len(r.Properties) != 2 || r.Properties[1].Verdict != "holds" || !strings.Contains(r.Explanation, "2000 seeded runs") {
		t.Fatalf("on 4.12: %s, %d properties, %q", r.Verdict, len(r.Properties), r.Explanation)
	}
}

// A search within a preemption bound is not exhaustive and never matches an
// expected holds.
func TestBoundedSearch(t *testing.T) {
	code, r := checkJSON(t, "babeld-route-modify/delete-add", "--kernel", "linux-3.16", "--preemption-bound", "0")
	if r.Verdict != "holds" || r.Exhaustive || r.Bound == nil || *r.Bound != 0 || r.Match || code != 1 {
		t.Fatalf("bound 0 on a violated scenario: exit %d, verdict %s exhaustive %v bound %v match %v", code, r.Verdict, r.Exhaustive, r.Bound, r.Match)
	}
	code, r = checkJSON(t, "babeld-route-modify/delete-add", "--kernel", "linux-4.2", "--preemption-bound", "0")
	if r.Verdict != "holds" || r.Match || code != 1 {
		t.Fatalf("bound 0 where holds is expected: exit %d, match %v", code, r.Match)
	}
	_, text, _ := runCLI(t, "check", "babeld-route-modify/delete-add", "--kernel", "linux-4.2", "--preemption-bound", "0")
	if !strings.Contains(text, "HOLDS WITHIN PREEMPTION BOUND 0") || strings.Contains(text, "  exhaustive:") {
		t.Fatalf("text of a bounded search:\n%s", text)
	}
	code, r = checkJSON(t, "babeld-route-modify/delete-add", "--kernel", "linux-3.16", "--preemption-bound", "1")
	if r.Verdict != "violated" || !r.Match || code != 0 {
		t.Fatalf("a counterexample within bound 1 is a counterexample: exit %d, verdict %s match %v", code, r.Verdict, r.Match)
	}
	_, out, _ := runCLI(t, "check", "babeld-route-modify", "--kernel", "linux-4.2", "--preemption-bound", "0", "--matrix")
	if !strings.Contains(out, "holds<=0p!") || !strings.Contains(out, "never matches an expected holds") {
		t.Fatalf("matrix of a bounded search:\n%s", out)
	}
}

// --budget is the whole command's: the checks, which would each run until
// their budget (--runs 0), share one. The searches' own times are
// compared, not the command's wall clock: each search stops at its
// deadline however loaded the machine is, while what runs outside them
// (shrinking, the stories) takes CPU time that a loaded machine stretches.
// With budgets of their own the searches would add up to one budget
// each; sharing one, on W workers, they add up to W budgets at most.
func TestBudgetIsTotal(t *testing.T) {
	const workers = 2
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers))
	const budget = time.Second
	code, out, stderr := runCLI(t, "check", "neutron-garp-2017", "--runs", "0", "--budget", budget.String(), "--format", "json")
	// Jobs that share a search (the same switch settings) report its
	// numbers: count each search once.
	type search struct {
		states, transitions, runs int64
		ms                        float64
	}
	searches := map[search]bool{}
	var total float64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r check.Report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("exit %d, %v: %.300s %s", code, err, line, stderr)
		}
		if k := (search{r.States, r.Transitions, r.Runs, r.ElapsedMS}); !searches[k] {
			searches[k] = true
			total += r.ElapsedMS
		}
	}
	// A search overshoots its deadline by at most a run; half a budget
	// more covers them all.
	limit := float64(workers*budget/time.Millisecond) * 1.5
	t.Logf("%d searches took %.0f ms in all (limit %.0f ms)", len(searches), total, limit)
	if len(searches) < 4*workers {
		t.Fatalf("%d searches: too few to tell a shared budget from budgets of their own", len(searches))
	}
	if total > limit {
		t.Fatalf("%d searches with --budget %s on %d workers took %.0f ms in all, want at most %.0f ms", len(searches), budget, workers, total, limit)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"replay"}, "wants a replay token"},
		{[]string{"replay", "a", "b"}, "wants a replay token"},
		{[]string{"kernels", "extra"}, "takes no arguments"},
		{[]string{"scenarios", "extra"}, "takes no arguments"},
		{[]string{"check", "neutron-garp-2017", "--runs", "-5"}, "--runs -5"},
		{[]string{"check", "neutron-garp-2017", "--budget", "-1s"}, "--budget -1s"},
		{[]string{"check", "neutron-garp-2017", "--budget", "0s"}, "--budget 0s"},
		{[]string{"check", "neutron-garp-2017", "--preemption-bound", "-2"}, "--preemption-bound -2"},
		{[]string{"check", "neutron-garp-2017", "--seed", "x"}, "invalid argument"},
		{[]string{"announce", "10.0.0.1", "via", "eth0"}, "wants IP dev IFACE"},
		{[]string{"announce", "10.0.0.x", "dev", "eth0"}, `IP "10.0.0.x"`},
		{[]string{"announce", "10.0.0.1", "dev", "eth0", "--preset", "garp"}, `unknown preset "garp" (want one of neutron, keepalived, metallb, kube-vip, safe)`},
		{[]string{"announce", "10.0.0.1", "dev", "eth0", "--count", "-1"}, "must not be negative"},
		{[]string{"announce", "10.0.0.1", "dev", "eth0", "--mac", "zz"}, `--mac "zz"`},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != cli.ExitBadInput || !strings.Contains(stderr, tt.msg) {
			t.Errorf("raceroute %s: exit %d (%q), want 2 with %q", strings.Join(tt.args, " "), code, stderr, tt.msg)
		}
	}
	// Every command given more arguments than it takes is a usage error.
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "help" || c.Name() == "completion" || c.Name() == "check" {
			continue
		}
		args := []string{c.Name(), "x1", "x2", "x3", "x4", "x5"}
		if code, _, stderr := runCLI(t, args...); code != cli.ExitBadInput {
			t.Errorf("raceroute %s: exit %d (%s), want 2", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "raceroute ") || !strings.Contains(out, "go1.") {
		t.Fatalf("--version: %d %q", code, out)
	}
	_, help, _ := runCLI(t, "check", "--help")
	if !strings.Contains(help, "--kernel PROFILES") || strings.Contains(help, "--kernel raceroute") {
		t.Fatalf("check --help names the --kernel value badly:\n%s", help)
	}
}

// A scenario file's token works from any directory and is refused once the
// file changed; FILE/VARIANT selects a variant.
func TestFileTokens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "race.yaml")
	data := `name: my-race
model: fib6
host:
  devices: [lo, eth0, eth1]
  routes: |
    unreachable 2001:db8::/48 dev lo metric 1024
    2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024
actors:
  - name: agent
    modify:
      from: 2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024
      to:   2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024
      strategy: $strategy
  - name: flow
    flow: {dst: "2001:db8:0:10::1"}
properties: [clones-agree]
variants:
  - {name: delete-add, vars: {strategy: delete-add}, expect: {linux-3.16: violated, "*": holds}}
  - {name: replace, vars: {strategy: replace}, expect: {linux-3.16: violated, "*": holds}}
`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	code, r := checkJSON(t, "race.yaml/replace", "--kernel", "linux-3.16")
	if code != 0 || r.Scenario != "my-race/replace" || r.Counterexample == nil {
		t.Fatalf("race.yaml/replace: exit %d, scenario %q", code, r.Scenario)
	}
	tok := r.Counterexample.Replay
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "replay", tok); code != 0 || !strings.HasPrefix(out, "my-race/replace on linux-3.16: violated") {
		t.Fatalf("replay from another directory: exit %d %.200s %s", code, out, stderr)
	}
	if err := os.WriteFile(path, []byte(data+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "replay", tok); code != cli.ExitBadInput || !strings.Contains(stderr, "has changed since the token was made") {
		t.Fatalf("replay of a changed file: exit %d %s", code, stderr)
	}
}

// --kernel takes profile names, release strings (as uname -r prints
// them), auto, and resolved names; kernels --match explains a release.
func TestKernelArguments(t *testing.T) {
	code, out, stderr := runCLI(t, "kernels", "--match", "5.4.0-190-generic")
	if code != 0 || !strings.Contains(out, "selects ubuntu-20.04") || !strings.Contains(out, "built from 5.4.275") {
		t.Fatalf("kernels --match: %d %.400s %s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "kernels", "--match", "banana"); code != cli.ExitBadInput || !strings.Contains(stderr, "or a kernel release as uname -r prints it") {
		t.Fatalf("kernels --match banana: %d %s", code, stderr)
	}
	if code, out, _ := runCLI(t, "kernels", "--match", "auto"); code != 0 || !strings.Contains(out, "auto: the running kernel is") {
		t.Fatalf("kernels --match auto: %d %.300s", code, out)
	}
	// A release string: the report names it, and the profile it selects.
	code, r := checkJSON(t, "babeld-retract-replace", "--kernel", "4.14.173")
	if code != 0 || r.Kernel != "4.14.173" || r.Profile != "linux-4.14.173" || r.Verdict != "holds" || r.ExpectRule != "*" {
		t.Fatalf("4.14.173: exit %d kernel %s profile %s verdict %s rule %s", code, r.Kernel, r.Profile, r.Verdict, r.ExpectRule)
	}
	code, r = checkJSON(t, "babeld-retract-replace", "--kernel", "4.14.172")
	if code != 0 || r.Verdict != "violated" || r.ExpectRule != "ipv6-replace=ecmp-quirk" {
		t.Fatalf("4.14.172: exit %d verdict %s rule %s", code, r.Verdict, r.ExpectRule)
	}
	// A kernel whose setting could not be pinned is checked under each
	// candidate, and the replay token finds the same assumption again.
	code, out, stderr = runCLI(t, "check", "babeld-retract-replace", "--kernel", "rhel-7.4", "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("rhel-7.4: exit %d, %d reports (%s)", code, len(lines), stderr)
	}
	var q check.Report
	if err := json.Unmarshal([]byte(lines[1]), &q); err != nil || q.Kernel != "rhel-7.4[ipv6-replace=ecmp-quirk]" || q.Verdict != "violated" || q.Counterexample == nil {
		t.Fatalf("rhel-7.4 under the quirk: %v %s %s", err, q.Kernel, q.Verdict)
	}
	if code, out, stderr := runCLI(t, "replay", q.Counterexample.Replay); code != 0 || !strings.HasPrefix(out, "babeld-retract-replace on rhel-7.4[ipv6-replace=ecmp-quirk]: violated") {
		t.Fatalf("replay: %d %.200s %s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "check", "babeld-retract-replace", "--kernel", "linux-3.10-rhel7.3"); code != cli.ExitBadInput || !strings.Contains(stderr, "renamed") {
		t.Fatalf("an old profile name: %d %s", code, stderr)
	}
}

// announce --explain prints the preset's frames and runs its evidence.
func TestAnnounceExplain(t *testing.T) {
	code, stdout, stderr := runCLI(t, "announce", "--explain")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"preset safe:", "+2s     request", "+4s     reply (target MAC = sender's)", "evidence: library scenario announce-safe", "announce-safe  holds*"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
}
