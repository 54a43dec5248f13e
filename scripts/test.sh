#!/usr/bin/env bash
# The whole test suite, from a fresh clone: `make test` (and .ci/run) call this.
# Steps print a line each; the first failing step stops the run with its name.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collections"
export ANSIBLE_CONFIG="$repo/tests/lab/ansible.cfg"  # the lab's settings; the checkout has no ansible.cfg
export CLUSTERGUARD_REQUIRE_LAB=1
# each step's line is followed, when the next starts, by the seconds it took: CI logs carry the figures
# that issue 24 (make test within 15 minutes) is measured by
last_step="" step_start=$SECONDS
step() {
  [[ -z $last_step ]] || echo "--- $last_step: $((SECONDS - step_start)) s"
  last_step=$1 step_start=$SECONDS
  echo; echo "=== $*"
}
trap 'echo; echo "FAILED in step: ${current:-setup}" >&2' ERR

current=deps; step "dependencies"; scripts/deps.sh
# kube-router is built here (cached) but started only by the tests that need it, so that
# its whole-table iptables rewrites cannot race the host_firewall tests' snapshots.
current=lab; step "lab: workers and API server"; make -s lab-up LAB_ENGINE=0; tests/lab/engine.sh build
# `make demo` leaves kube-router running; the tests that need it start it themselves.
tests/lab/engine.sh down >/dev/null

# What needs no lab runs beside pytest, niced so that the lab's tests keep the cores they ask for;
# pytest waits on the lab's workers and API server for most of its time (about 0.8 of 2 cores busy).
current=offline; step "started in the background, niced: scripts/offline_checks.sh (lint, sanity, release, docs, the matrix's unit and sanity)"
offline_log=$(mktemp)
setsid nice -n 19 scripts/offline_checks.sh > "$offline_log" 2>&1 &  # its own process group
offline_pid=$!
trap 'kill -- "-$offline_pid" 2>/dev/null || true; rm -f "$offline_log"' EXIT  # a failed step stops it too

current=pytest; step "pytest: unit, semantic and integration tests"
set +e
pytest -q -p no:cacheprovider --durations=25 tests/unit tests/integration
rc=$?
set -e
if [[ $rc -eq 5 ]]; then echo "pytest collected no tests (exit 5): treated as a failure of the suite layout" >&2; exit 1; fi
[[ $rc -eq 0 ]] || { echo "FAILED in step: pytest" >&2; exit "$rc"; }

current=offline; step "the background checks (scripts/offline_checks.sh): waited for, their log"
set +e
wait "$offline_pid"
rc=$?
set -e
cat "$offline_log"
[[ $rc -eq 0 ]] || { echo "FAILED in step: offline (scripts/offline_checks.sh, rc=$rc)" >&2; exit 1; }

current=compat; step "ansible-core matrix, 2.16 to 2.21, on the lab (scripts/compat.sh)"; COMPAT_PARTS=lab scripts/compat.sh

current=molecule; step "molecule scenarios"
for scenario in host_firewall network_policy default; do
  echo "--- molecule test -s $scenario"
  (cd extensions && env -u ANSIBLE_CONFIG molecule test -s "$scenario")  # molecule brings its own settings
done

current=finished; step "all test steps passed in $SECONDS s"
