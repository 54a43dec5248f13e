#!/usr/bin/env bash
# The checks of `make test` that need no lab: the unit tests, ansible-lint, ansible-test sanity, the release checks,
# the docs, and the ansible-core matrix's venvs, unit tests and sanity (scripts/compat.sh with
# COMPAT_PARTS=offline). scripts/test.sh runs this in the background, niced, while pytest holds the
# lab, and then the matrix's lab part on a lab of its own. Run alone it is the same checks, one after the other.
# The first failing check stops it with its name; each check prints the seconds it took.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collections"
export ANSIBLE_CONFIG="$repo/tests/lab/ansible.cfg"

check() {  # name command...
  local name=$1 start=$SECONDS
  shift
  echo; echo "=== $name"
  "$@" || { echo "FAILED in check: $name" >&2; exit 1; }
  echo "--- $name: $((SECONDS - start)) s"
}

docs() {
  docs/site/build.sh
  antsibull-docs lint-collection-docs --plugin-docs .
}

check "unit tests (tests/unit, .venv)" pytest -q -p no:cacheprovider tests/unit
check "ansible-lint (production profile)" ansible-lint --offline -q
check "ansible-test sanity" scripts/sanity.sh
check "release: galaxy-importer, antsibull-changelog, Execution Environment (scripts/release_checks.sh)" scripts/release_checks.sh
check "docs: the antsibull-docs site (docs/site/build.sh) and lint-collection-docs" docs
check "ansible-core matrix, 2.16 to 2.21: venvs, unit tests and sanity (scripts/compat.sh)" env COMPAT_PARTS=offline scripts/compat.sh
