#!/usr/bin/env bash
# Runs Molecule scenarios in lanes side by side (two by default, DCS_MOLECULE_LANES): each lane runs its
# scenarios one at a time on a fleet of its own (DCS_MOLECULE_FLEET=dcs-laneN: container names, hence
# backup prefixes, and apt caches; .config/molecule/config.yml), and every scenario has its own S3 world
# (DCS_S3_STATE per scenario, servers on free ports). Scenarios are dealt to lanes longest first by the
# durations measured below; one not listed counts as the longest, so it runs and starts early.
# Each scenario's output is printed whole when it ends; the durations at the end; the exit code is 1
# when any scenario failed (a lane goes on with its next scenario, so one run names every failure).
#
#   tests/support/molecule_lanes.sh SCENARIO...          run them (from the repository's root)
#   tests/support/molecule_lanes.sh --plan SCENARIO...   print which lane runs what, run nothing
set -euo pipefail

# Seconds per scenario from a two-lane run on a 2-core machine beside pytest, sanity and two CPU-bound
# processes (`.ci/run` on a fresh clone, 2026-12-06). Only their order matters. Re-measure after a
# scenario changes much: a run ends with them.
measured_seconds() {
  case "$1" in
    cron) echo 756 ;;
    history) echo 698 ;;
    default) echo 659 ;;
    systemd) echo 519 ;;
    restore) echo 404 ;;
    mc) echo 388 ;;
    buckets) echo 367 ;;
    disaster) echo 353 ;;
    drill) echo 193 ;;
    *) echo "" ;;
  esac
}

lanes=${DCS_MOLECULE_LANES:-2}
[[ $lanes =~ ^[1-9][0-9]*$ ]] || { echo "molecule_lanes: DCS_MOLECULE_LANES must be a positive number, not '$lanes'" >&2; exit 2; }

plan_only=false
if [[ ${1:-} == --plan ]]; then
  plan_only=true
  shift
fi
(($#)) || { echo "usage: $0 [--plan] SCENARIO..." >&2; exit 2; }
for scenario in "$@"; do
  [[ $scenario =~ ^[a-z0-9][a-z0-9_-]*$ && -f molecule/$scenario/molecule.yml ]] \
    || { echo "molecule_lanes: no scenario molecule/$scenario/molecule.yml (run from the repository's root)" >&2; exit 2; }
done

# Longest first, each to the lane with the least work so far (unlisted: longer than any listed one).
longest=0
for scenario in "$@"; do
  known=$(measured_seconds "$scenario")
  if ((${known:-0} > longest)); then longest=$known; fi
done
declare -a lane_load lane_scenarios
for ((lane = 1; lane <= lanes; lane++)); do lane_load[lane]=0; lane_scenarios[lane]=""; done
while read -r seconds scenario; do
  best=1
  for ((lane = 2; lane <= lanes; lane++)); do
    if ((lane_load[lane] < lane_load[best])); then best=$lane; fi
  done
  lane_load[best]=$((lane_load[best] + seconds))
  lane_scenarios[best]+="$scenario "
done < <(for scenario in "$@"; do
           known=$(measured_seconds "$scenario")
           echo "${known:-$((longest + 1))} $scenario"
         done | sort -k1,1nr -k2,2)

for ((lane = 1; lane <= lanes; lane++)); do
  echo "lane $lane (fleet dcs-lane$lane, ~${lane_load[lane]} s measured): ${lane_scenarios[lane]:-nothing}"
done
if $plan_only; then exit 0; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/molecule-lanes.XXXXXX")
lane_pids=()
# Each lane is a session of its own (setsid), so an interrupted run stops the lanes' whole process
# trees: Molecule, ansible-playbook, podman.
stop_lanes() {
  for pid in "${lane_pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
}
trap 'stop_lanes; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

run_lane() {  # lane number, then its scenarios, one after another
  local lane=$1 scenario start rc
  shift
  export DCS_MOLECULE_FLEET="dcs-lane$lane"
  mkdir -p ".cache/apt/$DCS_MOLECULE_FLEET"/vps{1,2}/{archives,lists}/partial
  for scenario; do
    start=$SECONDS
    rc=0
    molecule test -s "$scenario" >"$work/$scenario.log" 2>&1 </dev/null || rc=$?
    echo "$scenario $lane $rc $((SECONDS - start))" >"$work/$scenario.result"
    # One scenario's output at a time on the terminal, whole.
    {
      flock 9
      echo "=== molecule test -s $scenario (lane $lane, fleet $DCS_MOLECULE_FLEET): exit $rc after $((SECONDS - start)) s"
      cat "$work/$scenario.log"
    } 9>"$work/print.lock"
  done
}

started=$SECONDS
for ((lane = 1; lane <= lanes; lane++)); do
  [[ -n ${lane_scenarios[lane]} ]] || continue
  # shellcheck disable=SC2086 # the lane's scenarios, one word each (names are [a-z0-9_-])
  work=$work setsid bash -c "$(declare -f run_lane); run_lane \"\$@\"" run_lane "$lane" ${lane_scenarios[lane]} &
  lane_pids+=("$!")
done
for pid in "${lane_pids[@]}"; do
  wait "$pid" || true
done
lane_pids=()

failed=()
echo "=== Molecule scenarios: seconds per scenario (lane, exit code); $# scenarios in $((SECONDS - started)) s"
for scenario in "$@"; do
  if [[ -f $work/$scenario.result ]]; then
    read -r _ lane rc seconds <"$work/$scenario.result"
  else
    lane=? rc=missing seconds=?
  fi
  printf '%-12s %6s s  lane %s  exit %s\n' "$scenario" "$seconds" "$lane" "$rc"
  [[ $rc == 0 ]] || failed+=("$scenario")
done
if ((${#failed[@]})); then
  echo "molecule_lanes: failed: ${failed[*]}" >&2
  exit 1
fi
