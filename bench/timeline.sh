#!/usr/bin/env bash
# Loads a timeline page of a 10,000-event story (a real run of the
# neighbour model on RHEL 7.3) in headless Chromium and prints the time
# until it is drawn, with the time of a zoom step, a jump and a scroll to
# the end; the target is under 2 s. EVENTS=N RUNS=N to change the size
# and the number of loads. Needs Debian's chromium (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "bench/timeline.sh: chromium is missing (apt-get install chromium)" >&2; exit 1; }
go run ./bench/timeline -events "${EVENTS:-10000}" -runs "${RUNS:-5}"
