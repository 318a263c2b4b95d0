#!/usr/bin/env bash
# The README's test command: install what the tests need, build, run every test.
# Each test target runs on its own (its suites still run in parallel inside it), so the suites that
# start MariaDB, Redis, Chromium or HAProxy do not all compete for the 2 cores at once.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh || exit 1
swift build --build-tests || exit 1
export BREAKWATER_BIN="$PWD/.build/debug/breakwater"
: > .build/test-output.txt
failed=()
for dir in Tests/*/; do
    target=$(basename "$dir")
    echo "=== $target"
    if ! swift test --skip-build --filter "^$target\\." 2>&1 | tee -a .build/test-output.txt; then
        failed+=("$target")
    fi
done
# The HTTP/1 scanners under libFuzzer for a bounded time (its corpus is also replayed by BreakwaterHTTP1WireTests).
echo "=== fuzz-http1 (60 s)"
if ! scripts/fuzz-http1.sh 60 > .build/fuzz-http1.log 2>&1; then
    tail -40 .build/fuzz-http1.log
    failed+=("fuzz-http1")
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED test targets: ${failed[*]}" >&2
    exit 1
fi
echo "all test targets passed"
