// Package nstest gives tests that need the real kernel their own network
// namespaces, removed when the test ends even if it fails, and the root
// check of the project's convention: such a test skips when not root,
// but fails when RACEROUTE_REQUIRE_ROOT=1 is set.
package nstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"raceroute/live/netns"
)

// Prefix starts the name of every namespace a test creates.
const Prefix = "rrtest-"

// RequireRoot skips the test when not running as root, or fails it
// when RACEROUTE_REQUIRE_ROOT=1 demands the real kernel.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("RACEROUTE_REQUIRE_ROOT") == "1" {
		t.Fatal("this test needs root (RACEROUTE_REQUIRE_ROOT=1 is set)")
	}
	t.Skip("needs root to create network namespaces")
}

// New creates a namespace named rrtest-TAG-RANDOM and deletes it when the
// test and its subtests finish.
func New(t testing.TB, tag string) *netns.NS {
	t.Helper()
	RequireRoot(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random namespace name: %v", err)
	}
	name := Prefix + tag + "-" + hex.EncodeToString(b[:])
	ns, err := netns.Create(name)
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := netns.Delete(name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return ns
}
