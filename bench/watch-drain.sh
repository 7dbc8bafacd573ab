#!/bin/sh
# watch-drain.sh [ROUTES] [PROCS...]: how fast `raceroute watch` can take
# events, with no writer to wait for. In a fresh namespace the watch is
# started and stopped (SIGSTOP); ROUTES routes (default 200000) are added
# and deleted with ip -batch, so that 2*ROUTES notifications wait in the
# watch's receive buffer (1 GiB, forced); the watch is let go (SIGCONT)
# and timed until it has printed the last delete. Runs once per PROCS
# value given to --procs (default: 1 2). Prints events per second and the
# watch's CPU seconds. Needs root, iproute2 and Go.
set -eu
cd "$(dirname "$0")/.."
routes=${1:-200000}
[ $# -gt 0 ] && shift
procs=${*:-1 2}
tmp=$(mktemp -d)
ns=rrdrain$$
cleanup() {
	[ -n "${pid:-}" ] && kill -CONT "$pid" 2>/dev/null && kill "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
go build -o "$tmp/raceroute" ./cmd/raceroute
ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" link set va up
ip -n "$ns" link set vb up
ip -n "$ns" addr add 10.9.0.1/24 dev va
i=0
while [ $i -lt "$routes" ]; do
	echo "route add 10.$((64 + i / 65536)).$((i / 256 % 256)).$((i % 256))/32 via 10.9.0.2 proto 4"
	i=$((i + 1))
done > "$tmp/add"
sed 's/^route add/route del/' "$tmp/add" > "$tmp/del"
last=$(tail -n1 "$tmp/add" | awk '{sub("/32$", "", $3); print $3}')
hz=$(getconf CLK_TCK)
for p in $procs; do
	"$tmp/raceroute" watch --netns "$ns" --family 4 --cache-poll -1s --drops-poll -1s --neigh-poll -1s \
		--rcvbuf $((1 << 30)) --procs "$p" > "$tmp/out" &
	pid=$!
	sleep 1
	kill -STOP "$pid"
	ip -n "$ns" -batch "$tmp/add"
	ip -n "$ns" -batch "$tmp/del"
	cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	t0=$(date +%s.%N)
	kill -CONT "$pid"
	# The watch prints ip -ts monitor lines: [time] [nsid NS][ROUTE]Deleted ...
	# An overflow loses part of the backlog (the last delete may never
	# come): looked for once a second while waiting, and once at the end,
	# so that the output is not read through all the time.
	overflowed() {
		if grep -q "\[OVERFLOW\]" "$tmp/out"; then
			echo "watch-drain.sh: --procs $p: the receive buffer overflowed, so the backlog was not all kept: no rate to give" >&2
			exit 1
		fi
	}
	deadline=$(($(date +%s) + 120))
	n=0
	until tail -n1 "$tmp/out" | grep -q "]Deleted $last via"; do
		n=$((n + 1))
		if [ $((n % 100)) = 0 ]; then
			overflowed
			if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge $deadline ]; then
				echo "watch-drain.sh: --procs $p: the watch did not print the delete of $last (it exited, or 120 s passed)" >&2
				exit 1
			fi
		fi
		sleep 0.01
	done
	t1=$(date +%s.%N)
	cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	overflowed
	kill "$pid"
	wait "$pid" || true
	pid=
	got=$(grep -c . "$tmp/out")
	awk -v p="$p" -v got="$got" -v n=$((2 * routes)) -v t0="$t0" -v t1="$t1" -v c="$((cpu1 - cpu0))" -v hz="$hz" 'BEGIN {
		printf "--procs %s: %d lines (%d events) drained in %.3f s: %.0f events/s, %.2f CPU s\n",
			p, got, n, t1 - t0, n / (t1 - t0), c / hz
	}'
done
