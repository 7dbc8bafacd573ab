#!/usr/bin/env bash
# seed000.sh -- the seed-000 scaling family (internal/seed000: 4 addresses
# under 2 /80s under an unreachable /48, NL lookup actors of 2 packets
# each, babeld moving the first /80 twice by delete then add; the property
# holds, so each check searches the whole space), checked on linux-3.16
# (clone-on-lookup) on one core, with the default reductions (persistent
# sets and symmetry; REDUCE=all adds sleep sets) and, up to PLAIN_MAX,
# without any (--reduce=none).
#
# Prints per NL: which /80 the added actor looks up under, states,
# transitions, seconds (the check's own elapsed_ms), peak memory (the
# process's maximum resident set, /usr/bin/time), and the growth in states
# against NL-1.
#
# Usage: bench/seed000.sh                 NL 1 to 14, plain up to 6
#        NLS="8 14" PLAIN_MAX=0 bench/seed000.sh
#        REDUCE=all NLS=14 PLAIN_MAX=0 bench/seed000.sh   sleep sets too
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nls=${NLS:-"$(seq -s ' ' 1 14)"}
plain_max=${PLAIN_MAX:-6}
budget=${BUDGET:-10m}
reduce=${REDUCE:-default}

for tool in go /usr/bin/time python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "seed000: missing $tool" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/raceroute" ./cmd/raceroute && go build -o "$work/seed000" ./bench/seed000)

one_core=""
if command -v taskset >/dev/null 2>&1; then one_core="taskset -c 0"; fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); one core (${one_core:-no taskset}, GOMAXPROCS=1)"
echo "# $(go version | cut -d' ' -f3-4); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NL REDUCE: prints "states transitions seconds peak_MB reductions verdict exhaustive"
run() {
	local nl=$1 red=$2 f="$work/nl$1.yaml"
	"$work/seed000" -nl "$nl" >"$f"
	GOMAXPROCS=1 /usr/bin/time -f '%M' -o "$work/time" $one_core "$work/raceroute" check "$f" --kernel linux-3.16 \
		--reduce="$red" --budget "$budget" --format json >"$work/out.json" || true
	python3 - "$work/out.json" "$work/time" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d = d[0] if isinstance(d, list) else d
kb = int(open(sys.argv[2]).read().split()[-1])
print(d["states"], d["transitions"], d["elapsed_ms"] / 1000, kb / 1024, d.get("reductions", "?"), d["verdict"], d["exhaustive"])
PY
}

printf '| NL | added actor | reduce=%s states | transitions | s | peak MB | growth | reduce=none states | s | peak MB | growth |\n' "$reduce"
printf '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
# prev and prevp are the states of NL-1 (empty when NL-1 was not run:
# the growth is per added actor, not against whichever NL came before).
prev="" prevp="" prevnl=""
for nl in $nls; do
	if [ "$prevnl" != $((nl - 1)) ]; then
		prev="" prevp=""
	fi
	prevnl=$nl
	case $(((nl - 1) % 4)) in
	0 | 2) where="changed /80" ;;
	*) where="untouched /80" ;;
	esac
	read -r st tr s mb red verdict ex <<<"$(run "$nl" "$reduce")"
	if [ "$verdict" != holds ] || [ "$ex" != True ]; then
		echo "seed000: NL=$nl reduce=$reduce: verdict $verdict, exhaustive $ex (want holds, exhaustive)" >&2
	fi
	g=""
	[ -n "$prev" ] && g=$(awk -v a="$st" -v b="$prev" 'BEGIN { printf "%.2fx", a / b }')
	pst="" ps="" pmb="" pg=""
	if [ "$nl" -le "$plain_max" ]; then
		read -r pst _ ps pmb _ _ _ <<<"$(run "$nl" none)"
		ps=$(printf '%.3f' "$ps")
		pmb=$(printf '%.0f' "$pmb")
		[ -n "$prevp" ] && pg=$(awk -v a="$pst" -v b="$prevp" 'BEGIN { printf "%.2fx", a / b }')
	fi
	prevp=$pst
	printf '| %d | %s | %d | %d | %.3f | %.0f | %s | %s | %s | %s | %s |\n' "$nl" "$where" "$st" "$tr" "$s" "$mb" "$g" "$pst" "$ps" "$pmb" "$pg"
	prev=$st
done
echo
echo "reductions that ran with --reduce=$reduce: $red (sleep: sleep sets, por: persistent sets, sym: symmetry); growth is states(NL)/states(NL-1)"
