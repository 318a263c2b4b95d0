#!/usr/bin/env bash
# CPU time per HTTP/1 head through the byte-level scanner (BreakwaterHTTP1Wire), optimised build.
# Usage: bench/h1-scan.sh [MESSAGES]   (default 200000 per case)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/bench
mkdir -p "$out"
swiftc -O -wmo -parse-as-library -module-name H1Scan Sources/BreakwaterHTTP1Wire/*.swift bench/h1scan/main.swift -o "$out/h1-scan" 2>&1 \
    | grep -v 'Cannot export' >&2 || true
echo "machine: $(uname -srm) | $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | load $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/h1-scan" "${1:-200000}"
