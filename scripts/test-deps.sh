#!/usr/bin/env bash
# Installs the real components the tests use, when missing: Debian's
# prometheus (server + promtool), prometheus-alertmanager (server + amtool)
# and chromium (the web UI tests). Needs root for apt-get; without root it says
# what is missing and the tests that need it skip (outside CI) or fail (in CI).
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing Debian packages: ${need[*]} (run as root to install them with apt-get)" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package starts its own service where systemd runs; tests start
# their own servers on free ports, so stop it if it came up.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop prometheus prometheus-alertmanager 2>/dev/null || true
fi
