#!/usr/bin/env bash
# make bench: Go benchmarks, then whole-command figures (wall time and peak
# RSS through GNU time) for the targets in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/time ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 5x ./slo/... ./rules/... 2>/dev/null | grep -E '^(Benchmark|ok|FAIL)' || true

go build -o bin/slokeeper ./cmd/slokeeper
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./internal/benchspecs/cmd/genspecs -slos 10000 -files 1000 -o "$tmp/specs"

measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; return 1; }
  read -r secs kib <"$tmp/time"
  printf '%-52s %6.2f s  %6d MiB peak RSS\n' "$label" "$secs" "$((kib / 1024))"
}
echo "== commands (10,000 SLOs in 1,000 files)"
for i in 1 2 3; do measure "slokeeper validate (run $i)" bin/slokeeper validate "$tmp/specs"; done
if bin/slokeeper generate --help >/dev/null 2>&1; then
  for i in 1 2 3; do measure "slokeeper generate rules (run $i)" bin/slokeeper generate -o "$tmp/out" "$tmp/specs"; done
fi
if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then echo "== daemon: 10,000 SLOs against a real Prometheus (bench/daemon)"; go run ./bench/daemon; fi
if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && [ -d ../shared/peers/bench ]; then echo "== rule evaluation cost vs Sloth and Pyrra (bench/rulecost)"; go run ./bench/rulecost; fi
echo "== embedded engine: 200 SLOs, 14 days of history (bench/embedded)"; go run ./bench/embedded
