#!/usr/bin/env bash
# make run: the whole product on this machine, with nothing else installed.
# Validates and generates the example SLOs (rules, dashboards, Alertmanager
# routing under out/), then runs the daemon in demo mode on 127.0.0.1:9740:
# the embedded Prometheus engine, synthetic traffic with history, budgets,
# a freeze of checkout that starts and lifts, the gate, notifications to a
# file, the web UI and the reports. Ctrl-C stops it.
set -euo pipefail
bin=${1:-bin/slokeeper}
out=${2:-out}
addr=${SLOKEEPER_ADDR:-127.0.0.1:9740}
specs=testdata/slos

echo "==> $bin validate $specs"
"$bin" validate "$specs"
echo
echo "==> $bin generate -o $out $specs"
rm -rf "$out"
"$bin" generate -o "$out" "$specs"
find "$out" -type f | sort | while read -r f; do
  printf '  %-60s %8d bytes\n' "$f" "$(wc -c <"$f")"
done
echo
echo "==> $bin serve --demo --web.listen-address $addr (backfilling history first; Ctrl-C to stop)"
exec "$bin" serve --demo --demo.specs "$specs" --web.listen-address "$addr" --storage.path data
