#!/usr/bin/env bash
# Installs the Debian packages the tests talk to (real peers: curl, h2load, openssl, haproxy,
# nginx, php-fpm, socat) and the OpenSSL headers the TLS target builds against.
set -euo pipefail
need=()
for pkg in curl haproxy nginx socat procps nghttp2-client openssl libssl-dev php-fpm php-cli; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# jobs section: the leaking job of BreakwaterJobsTests allocates with python3 until OOM-killed
dpkg -s python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# nginx and haproxy may be started by their packages; tests start their own copies.
systemctl stop nginx haproxy php8.2-fpm >/dev/null 2>&1 || true
command -v haproxy >/dev/null || { echo "haproxy missing after install" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl missing after install" >&2; exit 1; }
