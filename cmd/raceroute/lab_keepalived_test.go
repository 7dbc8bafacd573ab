package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"raceroute/live/netns/nstest"
)

// procsUnder returns the pids of the processes descending from pid,
// read from /proc/*/stat, with their command lines.
func procsUnder(t *testing.T, pid int) map[int]string {
	t.Helper()
	parent := map[int]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after
		// its closing parenthesis.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		var p, pp int
		var state string
		if _, err := fmt.Sscan(s[:strings.IndexByte(s, ' ')], &p); err != nil {
			continue
		}
		if _, err := fmt.Sscan(s[i+1:], &state, &pp); err != nil {
			continue
		}
		parent[p] = pp
	}
	out := map[int]string{}
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
				out[p] = strings.ReplaceAll(string(b), "\x00", " ")
				break
			}
		}
	}
	return out
}

// running reports whether process pid exists and is not a zombie (a
// zombie runs nothing; its reaper, here the host's init, collects it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// TestLabKilledLeavesNoKeepalived: a `raceroute lab` run whose keepalived
// sender runs keepalived, SIGKILLed mid-way, leaves no keepalived
// process (neither keepalived nor its VRRP child): keepalived dies by
// Pdeathsig, its VRRP process with its PID namespace.
func TestLabKilledLeavesNoKeepalived(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.RequireBinary(t, "keepalived")
	cmd, out := startLabMidway(t, "keepalived-short.yaml")
	pid := cmd.Process.Pid
	// Past the sender's start (t <= 1.3 s): keepalived is MASTER, and
	// its VRRP process, left to itself, takes its time to leave.
	time.Sleep(2 * time.Second)
	// A loaded machine may not have started both yet: wait for them.
	var kas []int
	var dir string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		kas = kas[:0]
		for p, line := range procsUnder(t, pid) {
			if strings.Contains(line, "keepalived") {
				kas = append(kas, p)
				f := strings.Fields(line)
				for i := range f[:max(len(f)-1, 0)] {
					if f[i] == "-f" {
						dir = filepath.Dir(f[i+1])
					}
				}
			}
		}
		if len(kas) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) }) // what a SIGKILLed run leaves
	}
	if len(kas) < 2 {
		t.Fatalf("the lab run has %d keepalived processes (%v) 10 s into the wait, want keepalived and its VRRP process; it said:\n%s", len(kas), kas, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The kernel kills a PID namespace's processes when its init dies;
	// keepalived's VRRP process left to itself lived on for seconds to
	// minutes after keepalived was killed.
	deadline := time.Now().Add(time.Second)
	for {
		var alive []int
		for _, p := range kas {
			if running(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keepalived processes %v of the killed run still run 1 s after it died", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
