#!/usr/bin/env bash
# Prints, after `make test`, which of its parts failed and the lines of each part's output that say
# what failed. `make test` prints each part's whole output when the part ends, so on a CI page that
# shows only the last lines the failure of an early part would scroll away: this summary comes last.
# Usage: test_summary.sh DIR (DIR/<part>.rc and DIR/<part>.log, written by the Makefile's parts).
set -uo pipefail

dir=$1
failed=0
echo "=== make test: exit code of each part"
for rc_file in "$dir"/*.rc; do
  [[ -e $rc_file ]] || continue
  part=$(basename "$rc_file" .rc)
  rc=$(<"$rc_file")
  printf '%-10s exit %s\n' "$part" "$rc"
  [[ $rc == 0 ]] && continue
  failed=1
  echo "--- $part: the lines that name failures (whole output above, or in $dir/$part.log)"
  # pytest's FAILED/ERROR lines and short summary, Molecule's failed scenarios and tasks, lint findings.
  grep -E '^(FAILED|ERROR) |^=+ .*(failed|error)|molecule_lanes: failed|fatal: \[|failed=[1-9]|^[^ ]+:[0-9]+:[0-9]+: |^ERROR:|Error [0-9]+$|\*\*\* ' \
    "$dir/$part.log" | tail -n 40
done
exit "$failed"
