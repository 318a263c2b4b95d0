#!/usr/bin/env bash
# Fuzzes the HTTP/1 request and response scanners with libFuzzer for SECONDS (default 60).
# Usage: scripts/fuzz-http1.sh [SECONDS]
# Builds Fuzz/HTTP1FuzzTarget.swift with Sources/BreakwaterHTTP1Wire/*.swift (-sanitize=fuzzer,address)
# into .build/fuzz/, runs it over a copy of Fuzz/corpus/http1 (new inputs stay in .build/fuzz/corpus,
# the checked-in corpus is not touched). A crash leaves its input in .build/fuzz/ and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/corpus"
if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HTTP1Fuzz \
        Sources/BreakwaterHTTP1Wire/*.swift Fuzz/HTTP1FuzzTarget.swift -o "$out/http1-fuzz" 2> "$out/build.log"; then
    cat "$out/build.log" >&2
    echo "fuzz-http1: cannot build the fuzz target with swiftc -sanitize=fuzzer (the toolchain's libFuzzer is needed; see $out/build.log)" >&2
    exit 1
fi
cp -n Fuzz/corpus/http1/* "$out/corpus/" 2>/dev/null || true
# The Swift runtime backtracer fights ASan over a trap; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
exec "$out/http1-fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" Fuzz/corpus/http1
