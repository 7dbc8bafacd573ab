#!/bin/sh
# watch-vs-ip-monitor.sh [EVENTS] [BATCH]: run `ip monitor` beside
# `raceroute watch` on the same storm of route events (default 600000,
# written in batches of 512 messages per sendmsg) in a fresh namespace,
# and print each tool's events received, lost, overflows, resynced
# routes, routes wrong at the end, events per second and events per CPU
# second, and the ratios. Needs root, iproute2 and Go.
set -eu
cd "$(dirname "$0")/.."
events=${1:-600000}
batch=${2:-512}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/raceroute" ./cmd/raceroute
go build -o "$tmp/stormcmp" ./bench/stormcmp
"$tmp/stormcmp" -events "$events" -batch "$batch" -raceroute "$tmp/raceroute"
