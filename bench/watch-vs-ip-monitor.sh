#!/bin/sh
# watch-vs-ip-monitor.sh [EVENTS] [BATCH] [IP_RCVBUF]: run `ip monitor` beside
# `raceroute watch` on the same storm of route events (default 600000,
# written in batches of 512 messages per sendmsg) in a fresh namespace,
# and print each tool's events received, lost, overflows, resynced
# routes, routes wrong at the end, events per second and events per CPU
# second, and the ratios. IP_RCVBUF (bytes) is passed to `ip -rcvbuf`;
# the default is iproute2's own (1 MiB). SHUFFLE=1 writes each phase
# (adds, replaces, deletes) in one seeded random order instead of address
# order. The watch prints its ip -ts monitor text, as ip monitor prints
# its own, and then, on a second storm, JSON lines (which ip monitor has
# no counterpart of); FORMATS="text" or "json" runs one. PROCS=N passes
# the watch --procs N (default: not given, one thread; PROCS=0 gives it
# one per core). Needs root, iproute2 and Go.
set -eu
cd "$(dirname "$0")/.."
events=${1:-600000}
batch=${2:-512}
ipbuf=${3:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/raceroute" ./cmd/raceroute
go build -o "$tmp/stormcmp" ./bench/stormcmp
shuffle=false
[ "${SHUFFLE:-0}" = 1 ] && shuffle=true
for format in ${FORMATS:-text json}; do
	case $format in
	text) text=true ;;
	json) text=false ;;
	*) echo "watch-vs-ip-monitor.sh: FORMATS: $format is not text or json" >&2; exit 2 ;;
	esac
	echo "# raceroute watch printing $format"
	"$tmp/stormcmp" -events "$events" -batch "$batch" -ip-rcvbuf "$ipbuf" -procs "${PROCS:--1}" -shuffle="$shuffle" -text="$text" -raceroute "$tmp/raceroute"
	echo
done
