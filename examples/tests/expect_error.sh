#!/bin/bash
# Runs a command that must fail with a message: exit status non-zero, and the output (stdout and
# stderr) containing the expected text.
#   expect_error.sh "<expected text>" command args...
expected=$1
shift
out=$("$@" 2>&1) && { echo "FAIL: succeeded: $*"; exit 1; }
grep -qF -- "$expected" <<< "$out" || { echo "FAIL: expected '$expected' in:"; echo "$out"; exit 1; }
echo "refused as expected: $(grep -F -- "$expected" <<< "$out" | head -1)"
