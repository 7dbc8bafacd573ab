#!/bin/sh
# apply-vs-ip-batch.sh [ROUTES] [RUNS]: install ROUTES (default 200000)
# IPv4 routes in a fresh namespace, then move them all to another next
# hop, with `ip -batch` and with `raceroute apply` (with nexthop objects,
# and --nexthops off), RUNS times each (default 3), interleaved; print
# the seconds and routes/s of each and the ratios to ip -batch (of the
# median run, and of the best). Needs
# root, iproute2 and Go.
set -eu
cd "$(dirname "$0")/.."
routes=${1:-200000}
runs=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/raceroute" ./cmd/raceroute
go build -o "$tmp/applybench" ./bench/applybench
"$tmp/applybench" speed -routes "$routes" -runs "$runs" -raceroute "$tmp/raceroute"
