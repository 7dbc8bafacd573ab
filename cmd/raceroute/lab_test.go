package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

// childArgs, in the environment, makes the test binary run raceroute
// with these arguments (separated by newlines) instead of the tests: a real
// `raceroute lab ...` process a test can kill.
const childArgs = "RACEROUTE_TEST_CHILD_ARGS"

// runChild runs raceroute instead of the tests when the environment asks
// for it (childArgs); TestMain calls it first.
func runChild() {
	if a := os.Getenv(childArgs); a != "" {
		os.Exit(runMain(strings.Split(a, "\n")))
	}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "lab", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startLabMidway starts `raceroute lab` on file of lab/testdata (one
// of the short Neutron and keepalived scenarios) in a child process and
// returns once every host is built (seg, tempest, router-a, -b, -c) and the timeline is under way. The child is killed
// and whatever it left removed when the test ends.
func startLabMidway(t *testing.T, file string) (*exec.Cmd, *nstest.Output) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"lab", testdata(t, file)}, "\n"))
	out := &nstest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		// Whatever happened, leave nothing.
		runCLI(t, "lab", "--cleanup")
	})
	deadline := time.Now().Add(30 * time.Second)
	for len(nstest.NamespacesOf(t, cmd.Process.Pid)) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the lab run did not build its namespaces in 30 s; it said:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	return cmd, out
}

// TestLabInterruptedCleansUp sends SIGINT to a `raceroute lab` run
// mid-way: it stops, says so, and has deleted every namespace and its
// registry itself, with no --cleanup.
func TestLabInterruptedCleansUp(t *testing.T) {
	nstest.RequireRoot(t)
	cmd, out := startLabMidway(t, "neutron-garp-short.yaml")
	pid := cmd.Process.Pid
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitMismatch {
		t.Errorf("interrupted run: %v, want exit status %d", err, cli.ExitMismatch)
	}
	if !strings.Contains(out.String(), "lab interrupted (everything it created is deleted)") {
		t.Errorf("the interrupted run did not say so:\n%s", out.String())
	}
	if left := nstest.NamespacesOf(t, pid); len(left) > 0 {
		t.Errorf("the interrupted run left %v", left)
	}
	if regs, _ := filepath.Glob(filepath.Join(netns.RegistryDir, fmt.Sprintf("%d-*", pid))); len(regs) > 0 {
		t.Errorf("the interrupted run's registry survived: %v", regs)
	}
}

// TestLabKilledThenCleanup kills a `raceroute lab` run mid-way with
// SIGKILL, which no handler sees: its namespaces stay, and `raceroute
// lab --cleanup` removes them, so that `ip netns list` holds nothing of
// the run.
func TestLabKilledThenCleanup(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.RequireBinary(t, "ip")
	cmd, _ := startLabMidway(t, "neutron-garp-short.yaml")
	pid := cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	left := nstest.NamespacesOf(t, pid)
	if len(left) < 5 {
		t.Fatalf("after SIGKILL only %v are left: the kill came too late to prove anything", left)
	}
	code, stdout, stderr := runCLI(t, "lab", "--cleanup")
	if code != 0 {
		t.Fatalf("lab --cleanup: exit %d: %s", code, stderr)
	}
	for _, n := range left {
		if !strings.Contains(stdout, "deleted namespace "+n) {
			t.Errorf("lab --cleanup did not report %s:\n%s", n, stdout)
		}
	}
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, list)
	}
	if strings.Contains(string(list), fmt.Sprintf("rr-%d-", pid)) {
		t.Errorf("ip netns list after lab --cleanup still holds the killed run's namespaces:\n%s", list)
	}
	regs, _ := filepath.Glob(filepath.Join(netns.RegistryDir, fmt.Sprintf("%d-*", pid)))
	if len(regs) > 0 {
		t.Errorf("the killed run's registry survived: %v", regs)
	}
}

// TestLabRefusesBeforeCreating: a scenario the kernel cannot host is
// refused with the reason (exit 2), and nothing is created.
func TestLabRefusesBeforeCreating(t *testing.T) {
	data, err := os.ReadFile(testdata(t, "neutron-garp-short.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "        addrs: [172.24.4.5/24]\n", "        addrs: [172.24.4.5/24]\n        sysctl: {locktime: 1005ms}\n", 1)
	if bad == string(data) {
		t.Fatal("the test scenario changed: no tempest addrs line to break")
	}
	file := filepath.Join(t.TempDir(), "odd-locktime.yaml")
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := netns.List()
	code, _, stderr := runCLI(t, "lab", file)
	if code != cli.ExitBadInput {
		t.Errorf("exit %d, want %d", code, cli.ExitBadInput)
	}
	if want := "locktime is 1005 ms, but the kernel's sysctl locktime counts in units of 10 ms"; !strings.Contains(stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr)
	}
	after, _ := netns.List()
	if len(after) > len(before) || len(nstest.NamespacesOf(t, os.Getpid())) > 0 {
		t.Errorf("namespaces were created: before %v, after %v", before, after)
	}
	if regs, _ := filepath.Glob(filepath.Join(netns.RegistryDir, fmt.Sprintf("%d-*", os.Getpid()))); len(regs) > 0 {
		t.Errorf("a run was registered: %v", regs)
	}
}

func TestLabUsage(t *testing.T) {
	for _, args := range [][]string{
		{"lab"},
		{"lab", "--all", "neutron-garp-2017"},
		{"lab", "--cleanup", "--all"},
		{"lab", "neutron-garp-2017", "--format", "xml"},
		{"lab", "--window", "--rate", "0"},
		{"lab", "no-such-scenario"},
		{"lab", "--fuzz", "0"},
		{"lab", "--fuzz", "3", "--all"},
		{"lab", "--fuzz", "3", "--category", "ndisc"},
		{"lab", "--category", "arp", "neutron-garp-2017"},
	} {
		if code, _, stderr := runCLI(t, args...); code != cli.ExitBadInput {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, cli.ExitBadInput, stderr)
		}
	}
}

// TestLabFib6 runs a fib6 scenario live through the command line: the
// report has the live verdict, the model's check report and the
// comparison, in text and JSON.
func TestLabFib6(t *testing.T) {
	nstest.RequireRoot(t)
	code, out, stderr := runCLI(t, "lab", "babeld-add-before-delete", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Release string
		Profile string
		Live    struct {
			Verdict    string
			Properties []struct{ Name, Verdict string }
			Events     []map[string]any
		}
		Model      []map[string]any
		Comparison struct{ Agreement string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Release == "" || r.Profile == "" || r.Live.Verdict != "violated" || len(r.Model) != 1 || r.Model[0]["verdict"] != "violated" || r.Comparison.Agreement != "agree" || len(r.Live.Events) == 0 {
		t.Errorf("report: %s", out)
	}
	code, out, stderr = runCLI(t, "lab", "babeld-route-modify/replace")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"running kernel ", "babeld-route-modify/replace live on ", ": HOLDS", "property clones-agree (final) holds live:", "[OP]", "ip -6 route replace 2001:67c:1254:e:10::/80", "model:\nbabeld-route-modify/replace on ", "comparison: AGREE", "covers: "} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

// TestLabFuzz runs `raceroute lab --fuzz` with a few cases through the
// command line: the flags reach fuzz.Run (count, seed, category), the
// report is written in both formats, and a run that agrees exits 0
// leaving no namespace behind.
func TestLabFuzz(t *testing.T) {
	nstest.RequireRoot(t)
	code, out, stderr := runCLI(t, "lab", "--fuzz", "6", "--seed", "7", "--category", "route", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	var r struct {
		Kernel     string
		Seed       uint64
		Cases      int
		Agree      int
		Categories []struct {
			Name  string
			Cases int
		}
		Agreement      float64
		CasesPerSecond float64 `json:"cases_per_second"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Kernel == "" || r.Seed != 7 || r.Cases != 6 || r.Agree != 6 || len(r.Categories) != 1 || r.Categories[0].Name != "route" || r.Categories[0].Cases != 6 || r.Agreement != 1 || r.CasesPerSecond <= 0 {
		t.Errorf("report: %s", out)
	}
	code, out, stderr = runCLI(t, "lab", "--fuzz", "2", "--category", "route")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	for _, want := range []string{"running kernel ", "differential test of the models against the running kernel (model profile ", "seed 1\n", "route     2 of    2 cases agree (100.00 %)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if left := nstest.NamespacesOf(t, os.Getpid()); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}

// TestLabCleanupKeepalivedDirs: `lab --cleanup` removes the keepalived
// directories a killed run left (named after a process that is gone)
// and keeps the ones of a live process.
func TestLabCleanupKeepalivedDirs(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	start, err := netns.ProcessStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(tmp, "raceroute-keepalived-999999999-1-7")
	live := filepath.Join(tmp, fmt.Sprintf("raceroute-keepalived-%d-%s-7", os.Getpid(), start))
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "keepalived.conf"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, "lab", "--cleanup")
	if code != 0 {
		t.Fatalf("lab --cleanup: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "deleted directory "+dead) || strings.Contains(stdout, live) {
		t.Errorf("lab --cleanup should report %s and not %s:\n%s", dead, live, stdout)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("%s survived lab --cleanup (%v)", dead, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("lab --cleanup removed a live run's directory: %v", err)
	}
}
