#!/usr/bin/env bash
# make run: validate the example SLOs, generate everything from them, and
# show what came out.
set -euo pipefail
bin=${1:-bin/slokeeper}
out=${2:-out}
specs=testdata/slos

echo "==> $bin validate $specs"
"$bin" validate "$specs"
echo
echo "==> $bin generate -o $out $specs"
rm -rf "$out"
"$bin" generate -o "$out" "$specs"
echo
echo "==> what came out"
find "$out" -type f | sort | while read -r f; do
  printf '  %-60s %8d bytes\n' "$f" "$(wc -c <"$f")"
done
first=$(find "$out/rules" -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort | head -1)
if [ -n "$first" ]; then
  echo
  echo "==> the first alert of $first"
  awk '/- alert:/{p=1} p{print; n++} n==24{exit}' "$first"
fi
echo
echo "Next: load $out/rules into Prometheus (rule_files), or see README.md for the tour."
