#!/bin/sh
# apply-no-blackhole.sh [PREFIXES] [MOVES] [RATE]: a sender, a router and
# a sink in fresh namespaces; a steady UDP stream (RATE packets/s,
# default 20000) to addresses under PREFIXES prefixes (default 1000)
# while the router moves all of them between two next hops MOVES times
# (default 10): with `raceroute apply` (nexthop objects; and a replace a
# route), and with `ip route del` + `ip route add` in ip -batch (a prefix
# at a time; and every delete before every add). Prints the packets
# sent, received and lost for each. Needs root, iproute2 and Go.
set -eu
cd "$(dirname "$0")/.."
prefixes=${1:-1000}
moves=${2:-10}
rate=${3:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/raceroute" ./cmd/raceroute
go build -o "$tmp/applybench" ./bench/applybench
"$tmp/applybench" blackhole -prefixes "$prefixes" -moves "$moves" -rate "$rate" -raceroute "$tmp/raceroute"
