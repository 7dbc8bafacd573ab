#!/usr/bin/env bash
# parallel.sh -- raceroute's parallel search against one worker on the
# same scenario: the fib6 benchmark family (model/fib6/bench_test.go,
# BenchmarkParallel) at k flows and m changes, one exhaustive search per
# run, as
#   seq    the sequential dfs, one worker (sleep sets alone, as the parallel search)
#   par-2  WORKERS workers sharing one visited set (default 2)
# each the best of REPS runs, and prints states, transitions, seconds to
# verdict, CPU seconds (user+sys), peak RSS, bytes per state (of the visited
# set's peak), the wall-clock speed-up seq/par, and the parallel search's
# transitions and CPU seconds against the sequential one's (what it
# explores again: the bound of its speed-up).
#
# The default size (k=5, m=3) has 17,578,919 states. On a machine shared
# with other work the wall-clock ratio measures the load, not the search:
# the script prints the load average before and after, and the CPU
# seconds, so that a busy run can be told from a quiet one; the
# transitions do not depend on the load.
#
# Then, with the default reductions (persistent sets and symmetry, which
# the parallel search runs too), the seed-000 family at NL actors
# (internal/seed000; default 13: 27.9 M states, the 10 M of issue 15's
# target and more), as `raceroute check --workers 1` and `--workers
# WORKERS`, best of REPS each: states (the parallel search's may differ
# from the sequential one's by a few hundredths of a percent:
# docs/reductions.md, "Persistent sets and symmetry in the parallel
# search"), seconds (the check's own elapsed_ms), CPU seconds and peak RSS.
#
# Usage: bench/parallel.sh                 k=5 m=3 and NL=13, 3 runs each
#        K=4 M=3 REPS=1 bench/parallel.sh
#        NL=0 bench/parallel.sh            the family alone
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
k=${K:-5}
m=${M:-3}
reps=${REPS:-3}
workers=${WORKERS:-2}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "# $(go version | cut -d' ' -f3-4); k=$k m=$m; best of $reps runs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$root" && go test -c -o "$work/fib6.test" ./model/fib6/)

# field LINE UNIT: the number before UNIT in a benchmark line.
field() { awk -v u="$2" '{ for (i = 2; i <= NF; i++) if ($i == u) { print $(i-1); exit } }' <<<"$1"; }

# run NAME: prints "states seconds cpu_seconds peak_rss_mib bytes_per_state transitions" of the best run.
run() {
	local best="" line t
	for _ in $(seq "$reps"); do
		/usr/bin/time -f '%U %S %M' -o "$work/time" \
			env RACEROUTE_K="$k" RACEROUTE_M="$m" RACEROUTE_WORKERS="$workers" "$work/fib6.test" -test.run '^$' \
			-test.bench "^BenchmarkParallel\$/^k=$k\$/^m=$m\$/^$1\$" -test.benchtime 1x >"$work/out"
		line=$(grep '^BenchmarkParallel' "$work/out")
		read -r u s rss <"$work/time"
		t=$(field "$line" s-to-verdict)
		local this
		this="$(field "$line" states) $t $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') $((rss / 1024)) $(field "$line" bytes/state) $(field "$line" transitions)"
		if [ -z "$best" ] || awk -v a="$t" -v b="${best#* }" 'BEGIN { split(b, x, " "); exit !(a < x[1]) }'; then
			best=$this
		fi
	done
	echo "$best"
}

seq=$(run seq)
par=$(run "par-$workers")
printf '%-8s %12s %10s %10s %10s %12s %12s\n' search states seconds cpu-s peak-MiB bytes/state transitions
printf '%-8s %12s %10s %10s %10s %12s %12s\n' seq $seq
printf '%-8s %12s %10s %10s %10s %12s %12s\n' "par-$workers" $par
read -r s1 t1 c1 _ _ n1 <<<"$seq"
read -r s2 t2 c2 _ _ n2 <<<"$par"
if [ "$s1" != "$s2" ]; then
	echo "parallel: state counts differ ($s1 sequential, $s2 parallel)" >&2
	exit 1
fi
awk -v t1="$t1" -v t2="$t2" -v c1="$c1" -v c2="$c2" -v n1="$n1" -v n2="$n2" -v w="$workers" 'BEGIN {
	printf "speed-up (seq seconds / par-%d seconds): %.2fx\n", w, t1 / t2
	printf "transitions of the parallel search (par-%d / seq): %.3fx\n", w, n2 / n1
	printf "CPU cost of the parallel search (par-%d cpu-s / seq cpu-s): %.2fx, so at most %.2fx on %d idle cores\n", w, c2 / c1, w * c1 / c2, w
}'

nl=${NL:-13}
if [ "$nl" -gt 0 ]; then
	command -v python3 >/dev/null || { echo "parallel.sh: NL=$nl needs python3 (NL=0 skips it)" >&2; exit 2; }
	echo
	echo "# seed000 NL=$nl on linux-3.16, default reductions: raceroute check --workers 1 and --workers $workers; best of $reps runs"
	(cd "$root" && go build -o "$work/raceroute" ./cmd/raceroute && go run ./bench/seed000 -nl "$nl" >"$work/seed000.yaml")
	check() {
		local best="" this
		for _ in $(seq "$reps"); do
			/usr/bin/time -f '%U %S %M' -o "$work/time" "$work/raceroute" check "$work/seed000.yaml" --kernel linux-3.16 \
				--budget 30m --format json --workers "$1" >"$work/check.json"
			read -r u s rss <"$work/time"
			this=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["verdict"] == "holds" and d["exhaustive"], (d["verdict"], d["exhaustive"])
print(d["states"], "%.2f" % (d["elapsed_ms"] / 1000), "%.2f" % (float(sys.argv[2]) + float(sys.argv[3])), int(sys.argv[4]) // 1024, d["reductions"])' "$work/check.json" "$u" "$s" "$rss")
			if [ -z "$best" ] || awk -v a="$this" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
				best=$this
			fi
		done
		echo "$best"
	}
	one=$(check 1)
	many=$(check "$workers")
	printf '%-10s %12s %10s %10s %10s %12s\n' workers states seconds cpu-s peak-MiB reductions
	printf '%-10s %12s %10s %10s %10s %12s\n' 1 $one
	printf '%-10s %12s %10s %10s %10s %12s\n' "$workers" $many
	read -r s1 t1 c1 _ <<<"$one"
	read -r s2 t2 c2 _ <<<"$many"
	awk -v s1="$s1" -v s2="$s2" -v t1="$t1" -v t2="$t2" -v c1="$c1" -v c2="$c2" -v w="$workers" 'BEGIN {
		printf "speed-up (1 worker seconds / %d workers seconds): %.2fx\n", w, t1 / t2
		printf "states of the parallel search (%d workers / 1): %.5fx; CPU: %.2fx\n", w, s2 / s1, c2 / c1
	}'
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
