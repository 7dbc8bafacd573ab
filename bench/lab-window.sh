#!/bin/sh
# lab-window.sh [MOVES] [RATE] [EVERY]: the seed's window on the running
# kernel (raceroute lab --window): babeld-route-modify's host, a steady
# stream of RATE echo requests/s (default 10000) to 2001:67c:1254:e:10::1
# from the host and another from a client it routes for, while the /80
# moves MOVES times (default 10000), one move every EVERY (default 1ms),
# by delete then add (babeld), by replace, and not at all (the control).
# Prints, per strategy: the time from the delete's acknowledgement to the
# add's, and each stream's packets sent, replies, errors (sendto's errno
# on the host, ICMPv6 errors at the client) and losses (FORMAT=json for
# JSON lines). Needs root and Go; docs/lab.md has the numbers.
set -eu
cd "$(dirname "$0")/.."
moves=${1:-10000}
rate=${2:-10000}
every=${3:-1ms}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/raceroute" ./cmd/raceroute
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/raceroute" lab --window --moves "$moves" --rate "$rate" --move-every "$every" --format "${FORMAT:-text}"
