#!/usr/bin/env bash
# Runs every fuzz target of the repository for the given time each, one after
# the other (go test -fuzz takes a single target per run).
set -euo pipefail
time=${1:-10m}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "==> $pkg $target ($time)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
  done
done
