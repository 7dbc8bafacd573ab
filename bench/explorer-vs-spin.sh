#!/usr/bin/env bash
# explorer-vs-spin.sh -- raceroute's explicit-state explorer against Spin on
# the same model: the fib6 benchmark family (model/fib6/bench_test.go,
# BenchmarkExhaustive) and its Promela twin bench/spin/fib6.pml.
#
# For each size (k flows, m agent changes), one after the other on this
# machine:
#   raceroute  BenchmarkExhaustive/k=K/m=M/por=false, por=true and por=all
#              (-benchtime 1x, one exhaustive DFS each: no reduction, sleep
#              sets alone, every reduction: persistent sets, symmetry and
#              sleep sets, which store fewer states)
#   spin       spin -DK=K -DM=M -a fib6.pml; gcc -O2 -DSAFETY, then pan, in
#              three builds:
#                nored  -DNOREDUCE          exact state storage (Spin default)
#                por    (Spin's POR on)     exact state storage
#                hc     -DNOREDUCE -DHC     hash-compaction (pan.h: HC4)
#              pan -w is set to raceroute's table size for the same count
#              (the smallest 2^w >= 4/3 states, at least 2^12), so neither
#              side pays for an oversized hash table.
# and prints one table: states (both, and whether they are equal),
# states/s, bytes/state, seconds to verdict, and the ratios raceroute/spin
# for states/s (> 1: raceroute faster) and seconds (< 1: raceroute faster).
#
# Needs go, spin and gcc (Debian: apt-get install -y spin gcc).
# Usage: bench/explorer-vs-spin.sh            sizes 2,2 3,2 4,2 4,3
#        SIZES="1,1 4,3" bench/explorer-vs-spin.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pml="$root/bench/spin/fib6.pml"
sizes=${SIZES:-"2,2 3,2 4,2 4,3"}
reps=${REPS:-3} # each measurement is the best of reps runs

missing=""
for tool in go spin gcc; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "explorer-vs-spin: missing:$missing" >&2
	echo "  on Debian/Ubuntu: apt-get install -y spin gcc  (and Go >= 1.26 for raceroute)" >&2
	exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "# $(go version | cut -d' ' -f3-4); $(spin -V); $(gcc --version | head -1)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); best of $reps runs per measurement"

# Build the benchmark binary once, so that compile time is not measured.
(cd "$root" && go test -c -o "$work/fib6.test" ./model/fib6/)

# field VALUE-BEFORE-UNIT: "1357 states" -> 1357
bench_field() { # line unit
	awk -v u="$2" '{ for (i = 2; i <= NF; i++) if ($i == u) { print $(i-1); exit } }' <<<"$1"
}

# spin_run K M VARIANT W: prints "stored seconds bytes_per_state build_s".
# seconds: the best of $reps wall-clock runs of ./pan (pan's own timer
# ticks in 10 ms steps), which includes process start-up, the hash table
# allocation and pan's report, a millisecond or so.
spin_run() {
	local k=$1 m=$2 variant=$3 w=$4 flags d out t0 t1 best r
	case $variant in
	nored) flags="-DNOREDUCE" ;;
	por) flags="" ;;
	hc) flags="-DNOREDUCE -DHC" ;;
	esac
	d="$work/spin-k$k-m$m-$variant"
	mkdir -p "$d"
	t0=$(date +%s.%N)
	(cd "$d" && spin -DK="$k" -DM="$m" -a "$pml" >/dev/null &&
		gcc -w -O2 -DSAFETY -DMEMLIM=8192 $flags -o pan pan.c)
	t1=$(date +%s.%N)
	build=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	out="$d/pan.out"
	best=""
	for r in $(seq "$reps"); do
		t0=$(date +%s.%N)
		(cd "$d" && ./pan -m10000 -w"$w" >"$out" 2>&1) || true
		t1=$(date +%s.%N)
		if ! grep -q 'errors: 0' "$out" || grep -q 'max search depth too small' "$out"; then
			echo "explorer-vs-spin: spin k=$k m=$m $variant did not verify:" >&2
			cat "$out" >&2
			exit 1
		fi
		best=$(awk -v a="$t0" -v b="$t1" -v best="$best" 'BEGIN { t = b - a; print (best == "" || t < best) ? t : best }')
	done
	awk -v build="$build" -v secs="$best" '
		/states, stored/ { stored = $1 }
		/actual memory usage for states/ { ms = $1 }
		/memory used for hash table/ { mh = $1 }
		END { printf "%s %.6f %.2f %.2f\n", stored, secs, (ms + mh) * 1048576 / stored, build }' "$out"
}

rows="$work/rows"
: >"$rows"
for km in $sizes; do
	k=${km%,*}
	m=${km#*,}
	bout=$(cd "$root/model/fib6" && "$work/fib6.test" -test.run '^$' \
		-test.bench "^BenchmarkExhaustive\$/^k=$k\$/^m=$m\$/^por=(true|false|all)\$" \
		-test.benchtime 1x -test.count "$reps")
	for por in false true all; do
		lines=$(grep "^BenchmarkExhaustive/k=$k/m=$m/por=$por" <<<"$bout" || true)
		if [ -z "$lines" ]; then
			echo "explorer-vs-spin: no benchmark k=$k m=$m por=$por (BenchmarkExhaustive only has some sizes):" >&2
			echo "$bout" >&2
			exit 1
		fi
		# the run with the least s-to-verdict
		line=$(while read -r l; do echo "$(bench_field "$l" s-to-verdict) $l"; done <<<"$lines" | sort -g | head -1 | cut -d' ' -f2-)
		eval "rr_$por=\"$(bench_field "$line" states) $(bench_field "$line" states/s) $(bench_field "$line" bytes/state) $(bench_field "$line" s-to-verdict)\""
	done
	read -r rst _ _ _ <<<"$rr_false"
	rst=$(printf '%.0f' "$rst") # small counts print as 37.00
	# raceroute's visited set: 2^12 slots, doubled while 4*n > 3*slots.
	w=12
	while [ $((4 * rst)) -gt $((3 * (1 << w))) ]; do w=$((w + 1)); done
	for variant in nored por hc; do
		if [ $variant = por ]; then rr=$rr_true; else rr=$rr_false; fi
		spin=$(spin_run "$k" "$m" "$variant" "$w")
		echo "$k $m $variant $rr $spin $w" >>"$rows"
		# every reduction of raceroute's beside Spin's partial-order reduction
		if [ $variant = por ]; then echo "$k $m all $rr_all $spin $w" >>"$rows"; fi
	done
done

echo
echo "raceroute: BenchmarkExhaustive (64-bit fingerprints): no reduction in nored/hc rows, sleep sets alone in por rows,"
echo "           every reduction (persistent sets, symmetry, sleep sets: --reduce=all; the default leaves sleep sets out) in all rows"
echo "spin:      nored = -DNOREDUCE, exact; por and all = Spin's partial-order reduction, exact; hc = -DNOREDUCE -DHC (hash-compaction)"
echo "seconds: raceroute s-to-verdict (in-process); spin wall clock of ./pan (excludes spin -a and gcc: see spin build)"
echo "ratios are raceroute/spin: states/s > 1 and seconds < 1 mean raceroute is faster"
echo
awk '
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : (x >= 1 ? sprintf("%.2f", x) : (x >= 0.001 ? sprintf("%.4f", x) : sprintf("%.1e", x))) }
BEGIN {
	exact = 1
	printf "| k,m | spin build | states raceroute | states spin | equal | states/s raceroute | states/s spin | ratio | bytes/state raceroute | bytes/state spin | s raceroute | s spin | ratio |\n"
	printf "|-----|------------|-----------------:|------------:|-------|-------------------:|--------------:|------:|----------------------:|-----------------:|------------:|-------:|------:|\n"
}
{
	k = $1; m = $2; v = $3
	rs = $4; rrate = $5; rb = $6; rt = $7
	ss = $8; st = $9; sb = $10; build = $11
	eq = (rs == ss) ? "yes" : "NO"
	if (v == "all") { eq = (rs <= ss) ? sprintf("%.3gx", rs / ss) : "MORE"; if (rs > ss) more = more " " k "," m }
	srate = ss / st; r1 = fmt(rrate / srate); r2 = fmt(rt / st); sr = fmt(srate)
	printf "| %s,%s %s | %.2f s | %d | %d | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s |\n",
		k, m, v, build, rs, ss, eq, fmt(rrate), sr, r1, rb, sb, fmt(rt), fmt(st), r2
	if (rs != ss && v != "all") { mismatch = mismatch " " k "," m "/" v " (" ss - rs ")"; if (v != "hc") exact = 0 }
}
END {
	print ""
	if (more == "") print "all rows: raceroute with every reduction stores at most as many states as Spin with its POR (equal column: the ratio)."
	else print "all rows with more states than Spin POR:" more
	if (mismatch == "") print "state counts: raceroute and Spin agree on every row (same reachable state space)."
	else {
		print "state counts differ (spin - raceroute) on:" mismatch
		if (exact) print "only in hc rows: Spin hash-compaction stores a short hash per state, and states whose hash collides are dropped as already seen (the exact Spin rows match)."
		else print "an exact Spin row differs: the Promela model and model/fib6 no longer describe the same state space."
	}
}' "$rows"
