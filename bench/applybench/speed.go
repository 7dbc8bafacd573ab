package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// speedTool is one way of writing the routes.
type speedTool struct {
	name string
	// install and move run the tool on namespace ns with the route files.
	run func(ctx context.Context, ns, file string) (time.Duration, error)
	// files: the install and move files it reads.
	install, move string
}

func speed(args []string) error {
	fs := flag.NewFlagSet("speed", flag.ExitOnError)
	n := fs.Int("routes", 200_000, "IPv4 /32 routes")
	raceroute := fs.String("raceroute", "./raceroute", "the raceroute binary")
	runs := fs.Int("runs", 3, "runs of each tool (interleaved); the median and the best are reported")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "applybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gwA, gwB := "10.255.0.2", "10.255.0.3"
	ipFile := func(name, gw string) (string, error) {
		return writeFile(dir, name, func(w func(string)) {
			for i := 0; i < *n; i++ {
				w("route replace " + prefix32(i).Addr().String() + " via " + gw + " dev va proto 250")
			}
		})
	}
	applyFile := func(name, gw string) (string, error) {
		return writeFile(dir, name, func(w func(string)) {
			for i := 0; i < *n; i++ {
				w(prefix32(i).Addr().String() + " via " + gw + " dev va")
			}
		})
	}
	ipA, err := ipFile("ip-a", gwA)
	if err != nil {
		return err
	}
	ipB, err := ipFile("ip-b", gwB)
	if err != nil {
		return err
	}
	apA, err := applyFile("apply-a", gwA)
	if err != nil {
		return err
	}
	apB, err := applyFile("apply-b", gwB)
	if err != nil {
		return err
	}
	ipBatch := func(ctx context.Context, ns, file string) (time.Duration, error) {
		return run(ctx, "ip", "-n", ns, "-batch", file)
	}
	apply := func(extra ...string) func(ctx context.Context, ns, file string) (time.Duration, error) {
		return func(ctx context.Context, ns, file string) (time.Duration, error) {
			return run(ctx, *raceroute, append([]string{"apply", "--netns", ns, "--list", "0", file}, extra...)...)
		}
	}
	tools := []speedTool{
		{"ip -batch", ipBatch, ipA, ipB},
		{"raceroute apply", apply(), apA, apB},
		{"raceroute apply --nexthops off", apply("--nexthops", "off"), apA, apB},
	}
	header(fmt.Sprintf("apply vs ip -batch: %d IPv4 routes installed, then moved to another next hop; median and best of %d runs", *n, *runs))
	ctx := context.Background()
	type sample struct{ install, move time.Duration }
	res := make([][]sample, len(tools))
	for r := 0; r < *runs; r++ {
		for i, tl := range tools {
			s, err := speedRun(ctx, tl, *n, gwA, gwB)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", tl.name, r+1, err)
			}
			fmt.Printf("# run %d %-32s install %7.3f s  move %7.3f s  (load %s)\n", r+1, tl.name, s.install.Seconds(), s.move.Seconds(), loadavg())
			res[i] = append(res[i], sample{s.install, s.move})
		}
	}
	// pick is the median (the lower middle one of an even count) or the
	// best of a tool's runs.
	pick := func(xs []sample, f func(sample) time.Duration, median bool) time.Duration {
		ds := make([]time.Duration, len(xs))
		for i, x := range xs {
			ds[i] = f(x)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		if median {
			return ds[(len(ds)-1)/2]
		}
		return ds[0]
	}
	inst := func(s sample) time.Duration { return s.install }
	mov := func(s sample) time.Duration { return s.move }
	rate := func(d time.Duration) string { return strconv.FormatFloat(float64(*n)/d.Seconds(), 'f', 0, 64) }
	for _, median := range []bool{true, false} {
		what := "median"
		if !median {
			what = "best"
		}
		ipI, ipM := pick(res[0], inst, median), pick(res[0], mov, median)
		fmt.Printf("\n%s of %d runs:\n\n", what, *runs)
		fmt.Println("| tool | install s | install routes/s | vs ip -batch | move s | move routes/s | vs ip -batch |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
		for i, tl := range tools {
			bi, bm := pick(res[i], inst, median), pick(res[i], mov, median)
			fmt.Printf("| %s | %.3f | %s | %.2fx | %.3f | %s | %.2fx |\n", tl.name, bi.Seconds(), rate(bi), ipI.Seconds()/bi.Seconds(), bm.Seconds(), rate(bm), ipM.Seconds()/bm.Seconds())
		}
	}
	fmt.Println()
	fmt.Println("raceroute apply's times are the whole command: reading the file, dumping the tables, planning,")
	fmt.Println("writing with an acknowledgement per request checked by sequence number, and reading back what")
	fmt.Println("it wrote to verify it (every route it wrote; for the move with nexthop objects, which is one")
	fmt.Println("nexthop replace and writes no route, the replaced object). ip -batch's are its own (one request")
	fmt.Println("and acknowledgement per line, no read-back). Each run starts in a fresh namespace.")
	return nil
}

// speedRun installs n routes via gwA with the tool, checks them, moves
// them to gwB, and checks again, in a fresh namespace.
func speedRun(ctx context.Context, tl speedTool, n int, gwA, gwB string) (struct{ install, move time.Duration }, error) {
	var out struct{ install, move time.Duration }
	var t topo
	defer t.close()
	ns, err := t.create("speed")
	if err != nil {
		return out, err
	}
	if err := ns.Veth("va", ns, "vb"); err != nil {
		return out, err
	}
	if err := ns.AddrAdd("va", netip.MustParsePrefix("10.255.0.1/24")); err != nil {
		return out, err
	}
	name := ns.Name
	if out.install, err = tl.run(ctx, name, tl.install); err != nil {
		return out, err
	}
	if err := countVia(ctx, name, gwA, n); err != nil {
		return out, fmt.Errorf("after the install: %w", err)
	}
	if out.move, err = tl.run(ctx, name, tl.move); err != nil {
		return out, err
	}
	if err := countVia(ctx, name, gwB, n); err != nil {
		return out, fmt.Errorf("after the move: %w", err)
	}
	return out, nil
}

// countVia checks, with ip, that the namespace has n routes of proto 250,
// all via gw.
func countVia(ctx context.Context, ns, gw string, n int) error {
	out, err := execOutput(ctx, "ip", "-n", ns, "route", "show", "proto", "250")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		return fmt.Errorf("%d routes of proto 250, want %d", len(lines), n)
	}
	for _, l := range lines {
		if !strings.Contains(l, " via "+gw+" ") {
			return fmt.Errorf("route %q is not via %s", l, gw)
		}
	}
	return nil
}
