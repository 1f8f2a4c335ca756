#!/bin/sh
# expect_verdict.sh CODE PATTERN COMMAND [ARG...]: runs COMMAND and succeeds
# only when it exits with CODE exactly and its output holds PATTERN (a grep
# -E expression): a failure must be both detected (exit 1, not 2) and located.
expected=$1
pattern=$2
shift 2
output=$("$@" 2>&1)
actual=$?
printf '%s\n' "$output"
if [ "$actual" -ne "$expected" ]; then
  echo "expect_verdict.sh: expected exit $expected, got $actual from: $*" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq "$pattern"; then
  echo "expect_verdict.sh: the output does not hold '$pattern'" >&2
  exit 1
fi
exit 0
