// Command applybench measures `raceroute apply` beside the tools a user
// would otherwise use, in network namespaces of its own:
//
//	applybench speed      200,000 IPv4 routes installed, then all moved to
//	                      another next hop, by `ip -batch` and by
//	                      `raceroute apply` (with nexthop objects, and
//	                      without), one after the other in one run: the
//	                      seconds, routes/s and the ratios
//	applybench blackhole  a steady UDP stream through a router to
//	                      addresses under 1,000 prefixes while all of them
//	                      move between two next hops 10 times, by `raceroute
//	                      apply` and by `ip route del` + `ip route add`:
//	                      packets sent, received and lost for each
//
// bench/apply-vs-ip-batch.sh and bench/apply-no-blackhole.sh build and
// run it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"raceroute/live/netns"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: applybench speed|blackhole [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "speed":
		err = speed(os.Args[2:])
	case "blackhole":
		err = blackhole(os.Args[2:])
	default:
		err = fmt.Errorf("unknown benchmark %q (speed, blackhole)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "applybench:", err)
		os.Exit(1)
	}
}

// nsName is a fresh namespace name.
func nsName(tag string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "rrbench-" + tag + "-" + hex.EncodeToString(b[:])
}

// topo holds namespaces that are deleted at the end.
type topo struct{ names []string }

func (t *topo) create(tag string) (*netns.NS, error) {
	name := nsName(tag)
	ns, err := netns.Create(name)
	if err != nil {
		return nil, err
	}
	t.names = append(t.names, name)
	if err := ns.LinkUp("lo"); err != nil {
		return nil, err
	}
	return ns, nil
}

func (t *topo) close() {
	for _, n := range t.names {
		netns.Delete(n)
	}
	t.names = nil
}

// run runs a command, returning how long it took; its output is kept
// for the error.
func run(ctx context.Context, name string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(string(out)))
	}
	return d, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = append(lines[:10], "...")
	}
	return strings.Join(lines, "\n")
}

func writeFile(dir, name string, lines func(func(string))) (string, error) {
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	lines(func(l string) {
		b.WriteString(l)
		b.WriteByte('\n')
		if b.Len() > 1<<20 {
			f.WriteString(b.String())
			b.Reset()
		}
	})
	_, err = f.WriteString(b.String())
	return p, err
}

// prefix32 is the i-th /32 of 10.64.0.0/10.
func prefix32(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)}), 32)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func header(what string) {
	host, _ := os.Hostname()
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	out, _ := exec.Command("ip", "-V").Output()
	fmt.Printf("# %s, %s UTC, host %s, kernel %s, %d CPUs, %s; load average before: %s\n",
		what, time.Now().UTC().Format("2006-01-02 15:04"), host, strings.TrimSpace(string(rel)), numCPU(), strings.TrimSpace(string(out)), loadavg())
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

// execOutput runs a command and returns its standard output.
func execOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
