#!/usr/bin/env bash
# make compat: the collection on every ansible-core minor from 2.16 to 2.21.
# Per version: a venv with that ansible-core on its Python (built once per machine, kept in
# ~/.cache/clusterguard/compat-venvs), kubernetes.core as PyPI's
# "ansible" package of the same core line bundles it, then
#   - the unit tests,
#   - ansible-test sanity (the tests listed in SANITY_TESTS),
#   - on the lab: site.yml converge, a re-run with changed=0, the policy semantics,
#     state: absent, and no deprecation warning from our code (tests/integration/test_compat.py).
# A missing interpreter is a failure, not a skip. Needs the lab (make lab-up).
#   scripts/compat.sh [core-version ...]      e.g. scripts/compat.sh 2.16 2.21
# COMPAT_PARTS=offline runs the venvs, unit tests and sanity only (no lab: make test runs that part in
# the background while pytest holds the lab), COMPAT_PARTS=lab the lab part only; the default is both.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# ansible-core  python  ansible (the PyPI package whose kubernetes.core we take)
MATRIX="
2.16.19 3.11 9.13.0
2.17.14 3.11 10.7.0
2.18.19 3.11 11.13.0
2.19.14 3.11 12.3.0
2.20.10 3.12 13.8.0
2.21.5  3.13 14.5.0
"
SANITY_TESTS=${SANITY_TESTS:-"ansible-doc action-plugin-docs compile import validate-modules"}
wheels=~/.cache/clusterguard/ansible-wheels
venvs=~/.cache/clusterguard/compat-venvs
mkdir -p "$wheels" "$venvs" .compat
# venvs of requirements or interpreters no checkout has used for 30 days
find "$venvs" -mindepth 1 -maxdepth 1 -name 'core-*' -type d -mtime +30 -exec rm -rf {} + 2>/dev/null || true

interpreter() {  # the python of a minor version, on PATH or in pyenv, as its real base interpreter
  local v=$1 p version path
  for p in "$(command -v "python$v" || true)" ~/.pyenv/versions/"$v".*/bin/python"$v"; do
    [[ -n $p && -x $p ]] || continue
    # a pyenv shim exists for every version pyenv knows, but runs only the selected ones
    read -r version path < <("$p" scripts/interpreter.py 2>/dev/null) || continue
    if [[ ${version%.*} == "$v" ]]; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

# COMPAT_SAME_AS=VENV (make test sets it to .venv): that venv already runs the whole suite (unit, sanity
# and the lab), so the row of the same ansible-core, Python minor and "ansible" package is reported as
# covered by it instead of running the same tests on the same stack a second time.
same_as=""
if [[ -n ${COMPAT_SAME_AS:-} ]]; then
  same_as=$("$COMPAT_SAME_AS/bin/python" -c 'import sys; from importlib.metadata import version as v
print(v("ansible-core"), "%d.%d" % sys.version_info[:2], v("ansible"))')
fi

parts=${COMPAT_PARTS:-all}
case $parts in all|offline|lab) ;; *) echo "COMPAT_PARTS must be all, offline or lab, not '$parts'" >&2; exit 2 ;; esac
only=("$@")
results=()
failed=0
while read -r core py ansible; do
  [[ -z $core ]] && continue
  if ((${#only[@]})) && ! printf '%s\n' "${only[@]}" | grep -qx "${core%.*}"; then continue; fi
  echo
  echo "=== ansible-core $core on Python $py (kubernetes.core of ansible $ansible)"
  if [[ "$core $py $ansible" == "$same_as" ]]; then
    echo "covered by $COMPAT_SAME_AS, which runs the whole suite on this stack"
    results+=("| $core | $py | (ansible $ansible) | covered by $COMPAT_SAME_AS: the whole suite ran there |")
    continue
  fi
  if ! python=$(interpreter "$py"); then
    echo "FAILED: no python$py on PATH or in ~/.pyenv/versions" >&2
    results+=("| $core | $py | - | missing interpreter |")
    failed=1
    continue
  fi
  # The venv is built once per machine and kept in the cache, named by what it holds (this core, the
  # interpreter, the requirements), for every checkout; each checkout keeps its collections in .compat.
  stamp="$core $("$python" -c 'import sys; print(sys.version)' | head -1) $python $(cat requirements.txt test-requirements.txt | sha256sum | cut -c1-16)"
  venv=$venvs/core-$core-$(echo "$stamp" | sha256sum | cut -c1-16)
  (
    flock 9  # another checkout may be building the same one
    if [[ ! -x $venv/bin/python || "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]]; then
      rm -rf "$venv"
      "$python" -m venv "$venv"
      "$venv/bin/pip" install -q -U pip
      # as a user installs: the controller's requirements.txt, which must admit this ansible-core
      "$venv/bin/pip" install -q -r requirements.txt "ansible-core==$core" \
        "pytest>=8,<10" "hypothesis>=6.100,<7" "junitparser>=5.0.3,<6" pyyaml
      echo "$stamp" > "$venv/.stamp"
    fi
  ) 9> "$venv.lock"
  touch "$venv"  # in use: the pruning below keeps it
  # kubernetes.core as the "ansible" package of this core line ships it (no Galaxy here)
  collections=.compat/core-$core/collections/ansible_collections
  if [[ ! -d $collections/kubernetes/core ]]; then
    ls "$wheels"/ansible-"$ansible"-*.whl >/dev/null 2>&1 ||
      "$venv/bin/pip" download -q --no-deps "ansible==$ansible" -d "$wheels"
    "$venv/bin/python" - "$wheels"/ansible-"$ansible"-*.whl "$collections" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith("ansible_collections/kubernetes/core/")]
    z.extractall(dest.rsplit("/ansible_collections", 1)[0], members)
PY
  fi
  mkdir -p "$collections/clusterguard"
  ln -sfn ../../../../.. "$collections/clusterguard/portworx"
  kcore=$("$venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['collection_info']['version'])" \
          "$collections/kubernetes/core/MANIFEST.json")
  steps=()
  export ANSIBLE_COLLECTIONS_PATH="$repo/.compat/core-$core/collections" CLUSTERGUARD_REQUIRE_LAB=1
  run() {  # name command...
    local name=$1; shift
    echo "--- $name"
    if "$@"; then steps+=("$name ok"); else steps+=("$name FAILED"); failed=1; fi
  }
  if [[ $parts != lab ]]; then
    run unit "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
    sanity_args=()
    for test in $SANITY_TESTS; do sanity_args+=(--test "$test"); done
    run sanity env SANITY_VENV="$venv" scripts/sanity.sh "${sanity_args[@]}"
  fi
  if [[ $parts != offline ]]; then
    run lab "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/integration/test_compat.py \
      "tests/integration/test_policy_semantics.py::test_flows"
  fi
  results+=("| $core | $py ($("$python" -c 'import platform; print(platform.python_version())')) | $kcore | ${steps[*]} |")
done <<< "$MATRIX"

echo
echo "| ansible-core | Python | kubernetes.core | result |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit $failed
