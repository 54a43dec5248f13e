#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked files laid out as
# ansible_collections/clusterguard/portworx (ansible-test needs that path).
# Each sanity test gets its own venv with pinned tools from PyPI.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH="${SANITY_VENV:-$repo/.venv}/bin:$PATH"
# the pip version ansible-test pins for its venvs, e.g. 24.2
pip_version=$(python -c "import inspect, re, ansible_test._internal.python_requirements as r; print(re.search(r\"pip='([0-9.]+)'\", inspect.getsource(r)).group(1))")
cache=~/.ansible/test/cache
mkdir -p "$cache"
cp "$repo/tests/sanity/get_pip_offline.py" "$cache/get_pip_${pip_version//./_}.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/clusterguard/portworx"
mkdir -p "$dest"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - ) | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity
ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --requirements --color no "$@"
