#!/usr/bin/env bash
# Installs everything raceroute's tests and CI need on a Debian machine
# with Go, as root. It installs every time (never "only if missing"), so a
# broken install step fails here, on any machine:
#   - the real peers the live tests run (iproute2, babeld, keepalived,
#     iputils arping: the one the Neutron agent runs, whose -A sends
#     gratuitous replies, not Thomas Habets' arping of the same name;
#     tcpdump, ping), spin and gcc for the explorer-vs-Spin benchmark;
#   - Debian's chromium (and a font) for the tests and benchmark that
#     open the HTML timelines in a headless browser (internal/chromium);
#   - the Go modules of go.mod;
#   - the Go tools CI runs (staticcheck), into .bin/ inside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

pkgs=(iproute2 babeld keepalived iputils-arping tcpdump iputils-ping spin gcc procps chromium fonts-dejavu-core)
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
for bin in ip babeld keepalived arping tcpdump ping spin gcc chromium; do
  command -v "$bin" >/dev/null || { echo "install-deps: $bin is missing after installing ${pkgs[*]}" >&2; exit 1; }
done
v=$(arping -V 2>&1 || true)
case "$v" in *iputils*) ;; *) echo "install-deps: arping is not iputils arping: ${v%%$'\n'*}" >&2; exit 1 ;; esac

go mod download
# staticcheck: a version the module proxy serves (module versions are
# semver; the 2026.x names are release names, not module versions).
GOBIN="$PWD/.bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
"$PWD/.bin/staticcheck" -version
