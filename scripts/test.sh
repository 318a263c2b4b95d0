#!/usr/bin/env bash
# The README's test command: install what the tests need, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
swift build --build-tests
BREAKWATER_BIN="$PWD/.build/debug/breakwater" swift test --skip-build 2>&1 | tee .build/test-output.txt
