#!/usr/bin/env bash
# The README's first command: installs the libraries the build links against (Debian packages,
# only what is missing), builds the release binary and runs the bundled example, which needs no
# other server. Extra arguments go to `breakwater proxy`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-build-deps.sh
exec swift run -c release breakwater proxy -f examples/quickstart.cfg "$@"
