package apply

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"raceroute/apply/internal/plan"
	"raceroute/apply/internal/rtnl"
	"raceroute/apply/internal/state"
	"raceroute/apply/routefile"
)

// moveFile is a route file of n IPv4 /32s via gw dev dev, as
// bench/applybench writes it.
func moveFile(n int, gw, dev string) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "10.%d.%d.%d via %s dev %s\n", 64+i>>16, byte(i>>8), byte(i), gw, dev)
	}
	return b.Bytes()
}

// applyFile does what `raceroute apply FILE` does with a file's bytes:
// the tables read while the file is, the plan, the writes and the
// read-back.
func applyFile(ctx context.Context, w *Writer, file []byte, hint int) (*Result, error) {
	w.Prefetch(ctx, hint)
	es, err := routefile.Read(bytes.NewReader(file), routefile.Options{Tables: map[string]uint32{}})
	if err != nil {
		return nil, err
	}
	routes := make([]Route, len(es))
	for i := range es {
		routes[i] = es[i].Route
	}
	p, err := w.Plan(ctx, routes)
	if err != nil {
		return nil, err
	}
	res, err := w.Apply(ctx, p)
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

// BenchmarkNexthopMove is the move of bench/apply-vs-ip-batch.sh in
// process: 200,000 IPv4 routes on one nexthop object moved to another
// next hop (one nexthop replace), the file read and validated, the plan
// made, the replace acknowledged and the result read back and verified.
// -benchtime 1x to 5x; go test -cpuprofile to see where it goes.
func BenchmarkNexthopMove(b *testing.B) {
	for _, n := range []int{200_000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			ns := liveNS(b)
			w := open(b, ns, Options{})
			ctx := context.Background()
			files := [][]byte{moveFile(n, "10.9.0.2", "va"), moveFile(n, "10.9.1.2", "vc")}
			if _, err := applyFile(ctx, w, files[0], n); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for i := 0; i < b.N; i++ {
				res, err := applyFile(ctx, w, files[(i+1)%2], n)
				if err != nil {
					b.Fatal(err)
				}
				if res.Requests != 1 || !res.Verified || !strings.Contains(res.Checked, fmt.Sprintf("the %d route(s)", n)) {
					b.Fatalf("move %d: %d requests, verified %v (%s)", i, res.Requests, res.Verified, res.Checked)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "routes/s")
			b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkMovePhases times the parts of BenchmarkNexthopMove's move
// one by one, each on its own (in the command the first four overlap):
// the tables read and decoded (read-state), the dump alone
// (dump-only: the kernel's share and ParseRoute), the file read,
// plan.Prepare, and the plan computed from the state read. Each reports
// its CPU time (cpu-ms/op; the kernel's work in a dump included) beside
// the wall clock. -cpu 1 and GOGC=off for what the command does
// (it collects no garbage below its memory limit).
func BenchmarkMovePhases(b *testing.B) {
	const n = 200_000
	ns := liveNS(b)
	w := open(b, ns, Options{})
	ctx := context.Background()
	fa, fb := moveFile(n, "10.9.0.2", "va"), moveFile(n, "10.9.1.2", "vc")
	if _, err := applyFile(ctx, w, fa, n); err != nil {
		b.Fatal(err)
	}
	owned := w.owned(nil)
	// phaseWith times fn, after setup (not timed) each time.
	phaseWith := func(name string, setup func(), fn func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			var faults int64
			for i := 0; i < b.N; i++ {
				if setup != nil {
					b.StopTimer()
					setup()
					b.StartTimer()
				}
				cpu0, f0 := cpuTime(b), minorFaults(b)
				fn(b)
				cpu += cpuTime(b) - cpu0
				faults += minorFaults(b) - f0
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N)*1000, "cpu-ms/op")
			b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
		})
	}
	phase := func(name string, fn func(b *testing.B)) { phaseWith(name, nil, fn) }
	phase("read-state", func(b *testing.B) {
		st, err := state.Read(ctx, w.c, w.opts.Proto, owned, n)
		if err != nil || st.Ours.Len() != n {
			b.Fatalf("%v (%d routes of ours)", err, st.Ours.Len())
		}
	})
	phase("dump-only", func(b *testing.B) {
		k := 0
		if err := state.ScanRoutes(ctx, w.c, func() { k = 0 }, func(*rtnl.Route) { k++ }); err != nil || k < n {
			b.Fatalf("%v (%d routes)", err, k)
		}
	})
	readFile := func(b *testing.B) []Route {
		routes, _, err := routefile.ReadRoutes(bytes.NewReader(fb), routefile.Options{Tables: map[string]uint32{}})
		if err != nil || len(routes) != n {
			b.Fatalf("%v (%d routes)", err, len(routes))
		}
		return routes
	}
	phase("read-file", func(b *testing.B) { readFile(b) })
	routes := readFile(b)
	phase("prepare", func(b *testing.B) { plan.Prepare(routes, owned) })
	st, err := state.Read(ctx, w.c, w.opts.Proto, owned, n)
	if err != nil {
		b.Fatal(err)
	}
	var prep *plan.Prepared
	cfg := plan.Config{Proto: w.opts.Proto, Owned: owned, Nexthops: w.opts.Nexthops, Profile: w.prof, IDBase: w.opts.NexthopIDBase}
	// As in the command, each plan is of a Prepared of its own, made
	// before (while the dump runs).
	phaseWith("compute", func() { prep = plan.Prepare(routes, owned) }, func(b *testing.B) {
		p, err := plan.ComputePrepared(st, prep, cfg)
		if err != nil || len(plan.Steps(p)) != 1 || len(p.Changes) != n {
			b.Fatalf("%v (%d steps, %d changes: want the one nexthop replace moving %d routes)", err, len(plan.Steps(p)), len(p.Changes), n)
		}
	})
}

// cpuTime is the CPU time (user and system) the process has used: on a
// loaded machine it moves less than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minorFaults is the number of minor page faults the process has taken
// (each maps a page of memory on its first touch).
func minorFaults(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Minflt
}
