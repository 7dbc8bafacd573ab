package netns_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

// exists reports whether a named namespace exists.
func exists(t *testing.T, name string) bool {
	t.Helper()
	all, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(all, name)
}

func TestRunCreatesNamesAndCloses(t *testing.T) {
	nstest.RequireRoot(t)
	r, err := netns.NewRun()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pid := os.Getpid()
	if got, prefix := r.Name("seg"), fmt.Sprintf("rr-%d-", pid); !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, "-seg") || len(got) != len(prefix)+len("xxxx-seg") {
		t.Errorf("Name(seg) = %q, want %sRUN-seg", got, prefix)
	}
	r2, err := netns.NewRun()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if r2.Name("seg") == r.Name("seg") {
		t.Errorf("two runs of one process name their namespaces alike: %s", r.Name("seg"))
	}
	for _, tag := range []string{"a", "b"} {
		if _, err := r.Create(tag); err != nil {
			t.Fatal(err)
		}
	}
	file := registryOf(t, r.Name(""))
	reg, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("registry of a live run: %v", err)
	}
	for _, tag := range []string{"a", "b"} {
		name := r.Name(tag)
		if !exists(t, name) {
			t.Errorf("%s was not created", name)
		}
		if !strings.Contains(string(reg), name+"\n") {
			t.Errorf("registry does not list %s:\n%s", name, reg)
		}
	}
	if !strings.HasPrefix(string(reg), "start ") {
		t.Errorf("registry does not start with the process's start time:\n%s", reg)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b"} {
		if exists(t, r.Name(tag)) {
			t.Errorf("%s survived Close", r.Name(tag))
		}
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("registry survived Close: %v", err)
	}
	if _, err := r.Create("c"); err == nil {
		t.Error("Create after Close succeeded")
	}
}

// registryOf is the registry file of the run whose names start with
// prefix (rr-PID-RUN-).
func registryOf(t *testing.T, prefix string) string {
	t.Helper()
	return filepath.Join(netns.RegistryDir, strings.TrimSuffix(strings.TrimPrefix(prefix, netns.RunPrefix), "-"))
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

// fakeRun leaves what a run of pid killed outright leaves: its
// namespaces and a registry with the given start time listing names.
func fakeRun(t *testing.T, pid int, start string, names []string, create ...string) {
	t.Helper()
	for _, n := range create {
		ns, err := netns.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
		t.Cleanup(func() { netns.Delete(n) })
	}
	if names == nil {
		return
	}
	if err := os.MkdirAll(netns.RegistryDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(netns.RegistryDir, strconv.Itoa(pid))
	body := "start " + start + "\n" + strings.Join(names, "\n") + "\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })
}

func startTimeOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[19]
}

func TestCleanupRemovesOnlyDeadRuns(t *testing.T) {
	nstest.RequireRoot(t)
	dead := deadPid(t)
	// A run of a process still alive but not ours: its namespace stays.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	live := sleeper.Process.Pid
	// A pid reused by another process: the registry's start time is not
	// the process's.
	reused := exec.Command("sleep", "60")
	if err := reused.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { reused.Process.Kill(); reused.Wait() }()

	deadNS := fmt.Sprintf("rr-%d-seg", dead)
	deadUnlisted := fmt.Sprintf("rr-%d-host", dead) // not in the registry: its name alone tells whose it is
	liveNS := fmt.Sprintf("rr-%d-seg", live)
	reusedNS := fmt.Sprintf("rr-%d-seg", reused.Process.Pid)
	victim := nstest.Prefix + fmt.Sprintf("victim-%d", dead)
	fakeRun(t, dead, "1", []string{deadNS, fmt.Sprintf("rr-%d-gone", dead)}, deadNS, deadUnlisted)
	fakeRun(t, live, startTimeOf(t, live), []string{liveNS}, liveNS)
	fakeRun(t, reused.Process.Pid, "1", []string{reusedNS}, reusedNS)
	// A registry of a dead run that names a namespace not of that run:
	// Cleanup must refuse it, whatever the file says.
	other := deadPid(t)
	fakeRun(t, other, "1", []string{victim}, victim)

	removed, err := netns.Cleanup()
	if err == nil || !strings.Contains(err.Error(), victim) {
		t.Errorf("Cleanup took a registry naming %s without complaint (err %v)", victim, err)
	}
	slices.Sort(removed)
	for _, n := range []string{deadNS, deadUnlisted, reusedNS} {
		if exists(t, n) {
			t.Errorf("%s of a dead run survived Cleanup", n)
		}
		if !slices.Contains(removed, n) {
			t.Errorf("Cleanup did not report %s removed (removed %v)", n, removed)
		}
	}
	if slices.Contains(removed, fmt.Sprintf("rr-%d-gone", dead)) {
		t.Errorf("Cleanup reported a namespace that never existed: %v", removed)
	}
	for _, n := range []string{liveNS, victim} {
		if !exists(t, n) {
			t.Errorf("Cleanup removed %s, which it must leave", n)
		}
	}
	if _, err := os.Stat(filepath.Join(netns.RegistryDir, strconv.Itoa(dead))); !os.IsNotExist(err) {
		t.Errorf("registry of the dead run survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(netns.RegistryDir, strconv.Itoa(live))); err != nil {
		t.Errorf("registry of the live run was removed: %v", err)
	}
}
