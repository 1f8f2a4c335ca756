#!/bin/sh
# The reference over MPI, end to end (ctest registers each case when the
# build has GPT2_ORACLE_MPI): usage  mpi_test.sh GPT2_ORACLE MPIRUN CASE
#   identical-np2   tiny, 2 ranks: the trace bit for bit the single process's
#   identical-np3   small, 3 ranks (uneven: 4 heads, 3/4/8 column blocks),
#                   full and incremental: bit for bit
#   fixtures-np2    fixtures generate under 2 ranks: the same case, byte for byte
#   killed-rank     rank 1 killed mid-run: the job fails, mpirun names rank 1,
#                   and nothing is left under the output's name (nor a temporary)
#   bad-input       bad input under 2 ranks: exit 2, our one line said once;
#                   a verb that does not split its work is refused alike
set -u
binary=$1 mpirun=$2 case=$3
# CI runs as root; Open MPI refuses that unless told (its documented variables).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "mpi_test $case: $*"; exit 1; }
mpi() { np=$1; shift; "$mpirun" --oversubscribe -np "$np" "$@"; }

case $case in
identical-np2)
  args="run --impl reference --model tiny --tokens 5,0,63,17,9 --trace-level ops --threads 1"
  $binary $args --out one.safetensors >/dev/null || fail "single run"
  mpi 2 $binary $args --out two.safetensors >/dev/null || fail "2 ranks"
  cmp one.safetensors two.safetensors || fail "2 ranks differ from one process"
  ;;
identical-np3)
  for mode in full incremental; do
    args="run --impl reference --model small --tokens 3,0,511,17,42 --trace-level ops --mode $mode --threads 1"
    $binary $args --out one.safetensors >/dev/null || fail "single run ($mode)"
    mpi 3 $binary $args --out three.safetensors >/dev/null || fail "3 ranks ($mode)"
    cmp one.safetensors three.safetensors || fail "3 ranks differ from one process ($mode)"
  done
  ;;
fixtures-np2)
  args="fixtures generate --model tiny --tokens 1,2,3 --no-truth-cache --threads 1"
  $binary $args --out one >/dev/null || fail "single run"
  mpi 2 $binary $args --out two >/dev/null || fail "2 ranks"
  diff -r one two || fail "the case differs"
  ;;
killed-rank)
  tokens=$(seq -s, 0 127)
  # Rank 1 is killed half a second in (the run takes seconds at 100 digits).
  mpi 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then (sleep 0.5; kill -9 $$) & fi; exec "$0" "$@"' \
    $binary run --impl reference --model small --precision 100 --tokens "$tokens" --threads 1 \
    --out killed.safetensors >out.txt 2>err.txt
  status=$?
  [ $status -ne 0 ] || fail "the job succeeded although rank 1 was killed"
  grep -q "process rank 1 .*signal 9" err.txt || { cat err.txt; fail "no line names rank 1"; }
  [ -z "$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$')" ] || { ls -A; fail "files left behind"; }
  ;;
bad-input)
  mpi 2 $binary run --impl reference --model tiny --tokens 1,999 --out x.safetensors 2>err.txt
  status=$?
  [ $status -ne 0 ] || fail "exit $status for bad input"
  [ "$(grep -c '^gpt2-oracle: ' err.txt)" = 1 ] || { cat err.txt; fail "not one line of ours"; }
  grep -q "^gpt2-oracle: --tokens: token 1 is 999" err.txt || { cat err.txt; fail "the line"; }
  [ ! -e x.safetensors ] || fail "an output was written"
  # A verb that does not split its work is refused, once, before any work.
  mpi 2 $binary conformance --model tiny --json c.json 2>err.txt
  [ $? -eq 2 ] || fail "conformance under mpirun not refused"
  [ "$(grep -c '^gpt2-oracle: conformance: does not run under mpirun' err.txt)" = 1 ] ||
    { cat err.txt; fail "not one line saying so"; }
  [ ! -e c.json ] || fail "conformance wrote its report"
  ;;
*) fail "unknown case" ;;
esac
