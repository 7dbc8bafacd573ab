package keepalived

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"raceroute/live/netns"
)

func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pid   int
		start string
		ok    bool
	}{
		{"raceroute-keepalived-123-456-789", 123, "456", true},
		{"raceroute-keepalived-123456", 0, "", false}, // the old unnamed form
		{"raceroute-keepalived-x-456-789", 0, "", false},
		{"raceroute-keepalived-123-4x6-789", 0, "", false},
		{"raceroute-keepalived-0-456-789", 0, "", false},
		{"raceroute-keepalived-123-456-", 0, "", false},
		{"other-123-456-789", 0, "", false},
	} {
		pid, start, ok := owner(tc.name)
		if ok != tc.ok || pid != tc.pid || start != tc.start {
			t.Errorf("owner(%q) = %d, %q, %v; want %d, %q, %v", tc.name, pid, start, ok, tc.pid, tc.start, tc.ok)
		}
	}
}

// TestCleanupIn removes the directories of a dead process and of a
// reused pid, and keeps this process's own and what it did not name.
func TestCleanupIn(t *testing.T) {
	tmp := t.TempDir()
	self := os.Getpid()
	start, err := netns.ProcessStart(self)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) string {
		d := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	live := mk(fmt.Sprintf("%s%d-%s-1", dirPrefix, self, start))
	reused := mk(fmt.Sprintf("%s%d-%s1-2", dirPrefix, self, start)) // our pid, another start time
	dead := mk(dirPrefix + "999999999-1-3")                         // beyond pid_max
	old := mk(dirPrefix + "4242")
	other := mk("unrelated-999999999-1-3")
	removed, err := cleanupIn(tmp)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{dead, reused}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	for _, d := range []string{live, old, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s: %v (must be kept)", d, err)
		}
	}
	for _, d := range want {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", d, err)
		}
	}
}
