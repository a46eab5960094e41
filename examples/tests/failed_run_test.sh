#!/bin/bash
# A fresh run that fails (bad --data) leaves an existing run folder of the same name untouched.
#   failed_run_test.sh <example binary> <scratch dir> <training options that make a tiny run...>
set -euo pipefail
bin=$1 dir=$2
shift 2
rm -rf "$dir" && mkdir -p "$dir"
"$bin" --runs "$dir" --name run "$@" > "$dir/first.log"
cp -r "$dir/run" "$dir/before"
printf 'no tab on this line\n' > "$dir/bad.tsv"
if "$bin" --runs "$dir" --name run --data "$dir/bad.tsv" "$@" > "$dir/second.log" 2>&1; then
  echo "FAIL: a run on bad data succeeded"; exit 1
fi
grep -q "error:" "$dir/second.log" || { echo "FAIL: no error message"; cat "$dir/second.log"; exit 1; }
diff -r "$dir/before" "$dir/run" > /dev/null || { echo "FAIL: the failed run changed the existing run folder"; exit 1; }
echo "failed run left the folder as it was: $(head -1 "$dir/second.log")"
