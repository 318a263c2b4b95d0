#!/usr/bin/env bash
# Installs the Debian -dev packages the build links against (OpenSSL for TLS, SQLite for the embedded
# tables, librdkafka and librabbitmq for the Kafka and AMQP engines, pkg-config to find them).
# Called by scripts/quickstart.sh and scripts/install-test-deps.sh; installs only what is missing.
set -euo pipefail
need=()
for pkg in libssl-dev libsqlite3-dev librdkafka-dev librabbitmq-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing build dependencies: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
