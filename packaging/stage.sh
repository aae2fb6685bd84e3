#!/usr/bin/env bash
# Runs one stage of the build and says how long it took, so that a log (CI's, or a first
# `make test` on a new machine) shows where the time goes:
#
#   packaging/stage.sh NAME COMMAND [ARGS...]
#
# Prints "stage NAME: started …" and "stage NAME: 123.4 s" on stderr and appends
# "NAME<TAB>SECONDS<TAB>DATE" to .deps/stages.tsv (read by `make bench`) when the stage did
# real work (2 s or more; a no-op `cargo build` is not a build time). The command's exit status
# is passed on; a failed stage is logged as failed and not recorded.
set -uo pipefail
name=${1:?usage: stage.sh NAME COMMAND [ARGS...]}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$(date +%s.%N)
printf 'stage %s: started %s UTC\n' "$name" "$(date -u +%H:%M:%S)" >&2
"$@"
status=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
if [[ $status -ne 0 ]]; then
  printf 'stage %s: FAILED after %s s (exit %d)\n' "$name" "$secs" "$status" >&2
  exit "$status"
fi
printf 'stage %s: %s s\n' "$name" "$secs" >&2
if awk -v s="$secs" 'BEGIN { exit !(s < 2) }'; then exit 0; fi
mkdir -p "$root/.deps"
printf '%s\t%s\t%s\n' "$name" "$secs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$root/.deps/stages.tsv"
