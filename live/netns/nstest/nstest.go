// Package nstest gives tests that need the real kernel their own network
// namespaces, removed when the test ends even if it fails, and the root
// check of the project's convention: such a test skips when not root,
// but fails when RACEROUTE_REQUIRE_ROOT=1 is set.
package nstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// NamespacesOf lists the namespaces a netns.Run of process pid
// created (rr-PID-...) that still exist.
func NamespacesOf(t testing.TB, pid int) []string {
	t.Helper()
	all, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range all {
		if strings.HasPrefix(n, fmt.Sprintf("rr-%d-", pid)) {
			out = append(out, n)
		}
	}
	return out
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

// RequireBinary skips the test when a program it needs is not
// installed, or fails it when RACEROUTE_REQUIRE_ROOT=1 (CI installs
// every such program).
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("RACEROUTE_REQUIRE_ROOT") == "1" {
		t.Fatalf("%s is not installed (RACEROUTE_REQUIRE_ROOT=1 is set): %v", name, err)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// Start starts a long-running command inside ns and stops it (SIGTERM,
// then SIGKILL after 2 s) when the test ends. Its output goes to the
// returned buffer, which the test may log on failure.
func Start(t testing.TB, ns *netns.NS, name string, args ...string) *Output {
	t.Helper()
	out := &Output{}
	cmd := ns.Command(context.Background(), name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", name, ns.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s in %s said:\n%s", name, ns.Name, out.String())
		}
	})
	return out
}

// Output is a goroutine-safe buffer for a command's output.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Pair builds namespace a with veth "va" (10.9.0.1/24, fd00:9::1/64)
// whose peer "vb" lives in namespace b (10.9.0.2/24, fd00:9::2/64); tag
// names both namespaces. Both are removed when the test ends.
func Pair(t testing.TB, tag string) (a, b *netns.NS) {
	t.Helper()
	a = New(t, tag+"a")
	b = New(t, tag+"b")
	if err := a.Veth("va", b, "vb"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		ns  *netns.NS
		dev string
		p   string
	}{
		{a, "va", "10.9.0.1/24"}, {a, "va", "fd00:9::1/64"},
		{b, "vb", "10.9.0.2/24"}, {b, "vb", "fd00:9::2/64"},
	} {
		if err := x.ns.AddrAdd(x.dev, netip.MustParsePrefix(x.p)); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// SettleIPv6 waits until addrconf has added the routes every IPv6 device
// gets when it comes up (its fe80::/64 prefix route and the ff00::/8
// multicast route, addrconf_dev_config() and addrconf_add_linklocal() in
// net/ipv6/addrconf.c, run from NETDEV_UP and NETDEV_CHANGE after the
// link request returned), and the local route of its link-local address,
// which comes only once duplicate address detection ends
// (addrconf_dad_completed() -> ipv6_ifa_notify(RTM_NEWADDR) ->
// __ipv6_ifa_notify() -> ip6_ins_rt(), read at 6.12): about a second
// later, more on a loaded machine. A test comparing route tables before
// and after then does not see the kernel's own late additions.
func SettleIPv6(t testing.TB, ns *netns.NS, devs ...string) {
	t.Helper()
	for _, dev := range devs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := ns.Run(context.Background(), "ip", "-6", "route", "show", "table", "all", "dev", dev)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "fe80::/64") && strings.Contains(out, "ff00::/8") && strings.Contains(out, "local fe80::") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("netns %s: %s lacks its fe80::/64, ff00::/8 or link-local local route after 20 s:\n%s", ns.Name, dev, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
