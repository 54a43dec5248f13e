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

# What does not hold the main lab runs beside pytest, each with its own log, shown when it is waited for:
#   - the checks that need no lab (lint, sanity, release, docs, the unit tests, the matrix's venvs, unit tests
#     and sanity), niced 19;
#   - the booted workers' tests, on their own lab (systemd-nspawn machines, 10.231.6.0/24), niced 10;
#   - once pytest's first part is done, the second lab's share of the integration tests (SECOND_LAB_TESTS)
#     on a lab of its own, then two of the molecule scenarios (their own labs; the third follows pytest on
#     the main lab, so that the two jobs end together and the scenarios, which wait on SSH and their API
#     servers more than they use the CPU, run side by side at the end);
#   - once the checks are done (they build the matrix's venvs), the matrix's lab part on a lab of its own:
#     the CPU the checks used is free then.
# pytest on one lab keeps about one of the 2 cores busy: it waits on the workers and the API server. With all
# of the above beside it, the run is bound by the CPU of the machine (2 cores on CI).
# The matrix's row of the stack .venv runs is covered by this run's pytest and sanity (COMPAT_SAME_AS).
export COMPAT_SAME_AS="$repo/.venv"
declare -A bg_pid bg_log
background() {  # name nice command...: started in its own process group, its output in a log
  local name=$1 niceness=$2
  shift 2
  bg_log[$name]=$(mktemp)
  setsid nice -n "$niceness" "$@" > "${bg_log[$name]}" 2>&1 &
  bg_pid[$name]=$!
}
no_tests() {  # rc what: pytest's exit code 5 (it collected no tests) is a failure of the suite's layout
  if [[ $1 -eq 5 ]]; then echo "$2 collected no tests (exit 5): treated as a failure of the suite layout" >&2; fi
}
collect() {  # name: wait for it, print its log; the run fails with its name when it failed
  local name=$1 rc=0 start=$SECONDS
  wait "${bg_pid[$name]}" || rc=$?
  cat "${bg_log[$name]}"
  rm -f "${bg_log[$name]}"
  unset "bg_pid[$name]"
  echo "--- waited $((SECONDS - start)) s for $name"
  no_tests "$rc" "$name"
  [[ $rc -eq 0 ]] || { echo "FAILED in step: $name (rc=$rc)" >&2; exit 1; }
}
stop_background() {  # a failed step stops what still runs in the background
  local name
  for name in "${!bg_pid[@]}"; do kill -- "-${bg_pid[$name]}" 2>/dev/null || true; done
  for name in "${!bg_log[@]}"; do rm -f "${bg_log[$name]}"; done
  rm -f "$first_part_done" "$venvs_built"
}
first_part_done=$(mktemp -u) venvs_built=$(mktemp -u)
trap stop_background EXIT
wait_for() { while [[ ! -e $1 ]]; do sleep 1; done; }

checks() {  # the checks that need no lab; the matrix's lab part waits for the venvs they build
  local rc=0
  scripts/offline_checks.sh || rc=$?
  touch "$venvs_built"
  return "$rc"
}
# The labs beside the main one wait for the first pytest part: test_host_firewall_boot.py turns IPv6 off
# through the last resort, whose marker (/run/clusterguard-ipv6-off) every namespace lab of this machine
# shares, as workers share /run here.
SECOND_LAB=(LAB_NAME=cgpd LAB_NET=10.231.7 LAB_API_PORT=19443 LAB_ETCD_PORT=19379)
# Chosen so that the second lab's job (these, then two molecule scenarios) ends about when the main one does
SECOND_LAB_TESTS=(test_verify_role.py test_network_policy_faults.py test_portworx_deployed.py test_cluster_scope.py
  test_readme.py test_compat.py test_policy_semantics.py test_installed_collection.py)
MATRIX_LAB=(LAB_NAME=cgpc LAB_NET=10.231.5 LAB_API_PORT=15443 LAB_ETCD_PORT=15379)
lab() {  # up|down settings...: a lab's workers and control plane
  local action=$1
  shift
  if [[ $action == up ]]; then
    env "$@" tests/lab/workers.sh up && env "$@" tests/lab/controlplane.sh up >/dev/null
  else
    env "$@" tests/lab/controlplane.sh down >/dev/null 2>&1 || true
    env "$@" tests/lab/workers.sh down >/dev/null 2>&1 || true
  fi
}
molecule_test() {  # scenario...: the first that fails stops it with its rc (background jobs run without set -e)
  local scenario start rc
  for scenario in "$@"; do
    echo "--- molecule test -s $scenario"
    start=$SECONDS rc=0
    (cd extensions && env -u ANSIBLE_CONFIG molecule test -s "$scenario") || rc=$?  # molecule brings its own settings
    echo "--- molecule test -s $scenario: $((SECONDS - start)) s, rc=$rc"
    ((rc == 0)) || return "$rc"
  done
}
MAIN_MOLECULE=(host_firewall) SECOND_MOLECULE=(network_policy default)
second_lab() {  # then molecule: these scenarios start an API server each, late, when the load is lower
  local rc=0 tests=()
  wait_for "$first_part_done"
  echo "=== pytest on a second lab (${SECOND_LAB[*]}): ${SECOND_LAB_TESTS[*]}"
  for t in "${SECOND_LAB_TESTS[@]}"; do tests+=("tests/integration/$t"); done
  lab up "${SECOND_LAB[@]}" || rc=$?
  ((rc)) || env "${SECOND_LAB[@]}" pytest -q -p no:cacheprovider --durations=15 "${tests[@]}" || rc=$?
  lab down "${SECOND_LAB[@]}"
  no_tests "$rc" "pytest on the second lab"
  ((rc == 0)) || return "$rc"
  echo; echo "=== the molecule scenarios ${SECOND_MOLECULE[*]}"
  molecule_test "${SECOND_MOLECULE[@]}"
}
matrix_lab() {
  local rc=0
  wait_for "$venvs_built"
  echo "=== ansible-core matrix on a lab of its own (${MATRIX_LAB[*]}), once the checks built its venvs"
  lab up "${MATRIX_LAB[@]}" || rc=$?
  ((rc)) || env "${MATRIX_LAB[@]}" COMPAT_PARTS=lab scripts/compat.sh || rc=$?
  lab down "${MATRIX_LAB[@]}"
  return "$rc"
}

current=background; step "started in the background: the checks that need no lab (niced 19), the booted workers' tests (niced 10), the second lab and molecule, the matrix's lab part"
background checks 19 bash -c "venvs_built=$venvs_built; $(declare -f checks); checks"
background booted 10 pytest -q -p no:cacheprovider --durations=10 tests/integration/test_booted_workers.py
background second 0 bash -c "first_part_done=$first_part_done SECOND_LAB=(${SECOND_LAB[*]}) SECOND_LAB_TESTS=(${SECOND_LAB_TESTS[*]})
  SECOND_MOLECULE=(${SECOND_MOLECULE[*]}); $(declare -f wait_for lab no_tests molecule_test second_lab); second_lab"
background matrix 0 bash -c "venvs_built=$venvs_built MATRIX_LAB=(${MATRIX_LAB[*]})
  $(declare -f wait_for lab matrix_lab); matrix_lab"

pytest_part() {  # name args...
  local name=$1 rc=0
  shift
  pytest -q -p no:cacheprovider "$@" || rc=$?
  no_tests "$rc" "pytest ($name)"
  [[ $rc -eq 0 ]] || { echo "FAILED in step: pytest ($name)" >&2; exit 1; }
}
current=pytest; step "pytest on the main lab, first part: the tests that touch what every namespace lab shares"
pytest_part "first part" --durations=5 tests/integration/test_host_firewall_boot.py
touch "$first_part_done"

current=pytest; step "pytest on the main lab: the integration tests that are not the second lab's"
ignore=(--ignore=tests/integration/test_booted_workers.py --ignore=tests/integration/test_host_firewall_boot.py)
for t in "${SECOND_LAB_TESTS[@]}"; do ignore+=("--ignore=tests/integration/$t"); done
pytest_part "main lab" --durations=25 "${ignore[@]}" tests/integration

current=molecule; step "the molecule scenario ${MAIN_MOLECULE[*]} (it starts no API server); the others end the second lab's job"
molecule_test "${MAIN_MOLECULE[@]}"

current=booted; step "the booted workers' tests (tests/integration/test_booted_workers.py): their log"
collect booted
current=checks; step "the checks that need no lab: their log"
collect checks
current=matrix; step "the ansible-core matrix's lab part: its log"
collect matrix
# The molecule scenarios with an API server end the second lab's job: one started beside both labs' pytest,
# the checks and the booted workers answered its first request with a 504 (fresh16), as one was gone before its
# converge before (stop 32). At the end of that job the checks are long done.
current=second; step "the second lab's tests, then the molecule scenarios ${SECOND_MOLECULE[*]}: their log"
collect second

current=finished; step "all test steps passed in $SECONDS s"
