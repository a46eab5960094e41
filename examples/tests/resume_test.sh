#!/bin/bash
# A run stopped part-way and resumed with --resume ends exactly where an uninterrupted run with
# the same seed ends (same model bytes, same metrics), and the same seed gives the same run.
#   resume_test.sh <example binary> <scratch dir> <stop after steps> <training options...>
set -euo pipefail
bin=$1 dir=$2 stop=$3
shift 3
rm -rf "$dir" && mkdir -p "$dir"
common=(--runs "$dir" "$@")
"$bin" "${common[@]}" --name whole > "$dir/whole.log"
"$bin" "${common[@]}" --name again > "$dir/again.log"
"$bin" "${common[@]}" --name parts --max-steps "$stop" > "$dir/parts1.log"
"$bin" --runs "$dir" --name parts --resume > "$dir/parts2.log"
grep -q "resumed from .*step $stop\$" "$dir/parts2.log" || { echo "FAIL: did not resume at step $stop"; exit 1; }
# the metrics without the wall-clock column
for r in whole again parts; do cut -d, -f1,2,4- "$dir/$r/metrics.csv" > "$dir/$r.csv"; done
cmp "$dir/whole/model.npz" "$dir/again/model.npz" || { echo "FAIL: same seed, different model"; exit 1; }
cmp "$dir/whole.csv" "$dir/again.csv" || { echo "FAIL: same seed, different metrics"; exit 1; }
cmp "$dir/whole/model.npz" "$dir/parts/model.npz" || { echo "FAIL: resumed model differs"; exit 1; }
# every validation of the uninterrupted run appears in the resumed one (which adds one where it stopped)
grep -vxFf "$dir/parts.csv" "$dir/whole.csv" && { echo "FAIL: metrics rows above differ"; exit 1; }
[ "$(tail -1 "$dir/whole.csv")" = "$(tail -1 "$dir/parts.csv")" ] || { echo "FAIL: final metrics differ"; exit 1; }
echo "resume == uninterrupted: $(tail -1 "$dir/whole.csv")"
