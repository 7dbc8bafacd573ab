#!/bin/bash
# bench/lab-fuzz.sh: the differential test of the models against this
# machine's kernel, `raceroute lab --fuzz N` as a Go test, and its
# throughput. Needs root (it builds network namespaces, rr-test-fz-*, and
# removes them). N=1000 by default; SEED, CATEGORY (arp, route or both,
# comma-separated) and PARALLEL choose the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
SEED=${SEED:-1}
CATEGORY=${CATEGORY:-}
PARALLEL=${PARALLEL:-0}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/fuzz.test" ./lab/fuzz
start=$(date +%s.%N)
set +e
"$out/fuzz.test" -test.run '^TestFuzzLive$' -test.v -test.timeout 2h \
	-n "$N" -seed "$SEED" -category "$CATEGORY" -parallel "$PARALLEL" -json "$out/report.json" >"$out/log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
sed -n '/differential test of the models/,$p' "$out/log" | sed 's/^        //'
python3 - "$out/report.json" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"\n{r['cases']} cases in {r['elapsed_ns']/1e9:.1f} s: {r['cases_per_second']:.1f} cases/s "
      f"(wall clock with the build: {wall:.1f} s); agreement {100*r['agreement']:.2f} %")
for c in r['categories']:
    compared = c['cases'] - c.get('late', 0)
    print(f"  {c['name']}: {c['agree']}/{compared} compared ({100*c['agree']/max(compared,1):.2f} %), "
          f"{c['redrawn']} drafts redrawn, {c['reruns']} late runs repeated, {c.get('late', 0)} cases not compared (late)")
PY
exit $rc
