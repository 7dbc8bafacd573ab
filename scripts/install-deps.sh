#!/usr/bin/env bash
# Installs what raceroute's tests need on a fresh Debian machine (as root):
# the real peers the live tests run (iproute2, babeld, keepalived, arping,
# tcpdump), spin for the explorer benchmark, and staticcheck.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(iproute2 babeld keepalived arping tcpdump spin gcc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  go install honnef.co/go/tools/cmd/staticcheck@2026.2.2
fi
