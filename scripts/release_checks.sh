#!/usr/bin/env bash
# What a release meets outside the lab, on the tarball a release would build:
#   - galaxy-importer (the checks Galaxy runs: docs of every plugin, role READMEs, ansible-lint), without
#     containers; any error or warning fails, and so does a tarball that ships the lab, tests or scripts;
#   - antsibull-changelog: the fragments and changelogs/changelog.yaml lint clean, and CHANGELOG.md is
#     what they generate;
#   - the Execution Environment: ansible-builder finds the collection's Python and system dependencies
#     in the installed tarball, and writes a build context from docs/execution-environment.yml
#     (building the image needs podman or docker, which this machine does not have).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$repo"

ansible-galaxy collection build --output-path "$out" >/dev/null
tarball=$(ls "$out"/clusterguard-portworx-*.tar.gz)
shipped=$(tar tzf "$tarball" | grep -E '^(tests|scripts|extensions|inventories/lab)/|^ansible\.cfg$|^Makefile$' || true)
if [[ -n $shipped ]]; then echo "the tarball ships what users do not need:" >&2; echo "$shipped" | head >&2; exit 1; fi
cat > "$out/importer.cfg" <<'CFG'
[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
RUN_FLAKE8 = False
CFG
log=$out/import.log
(cd "$out" && GALAXY_IMPORTER_CONFIG="$out/importer.cfg" python -m galaxy_importer.main "$tarball") >"$log" 2>&1 || {
  cat "$log" >&2; echo "galaxy-importer failed" >&2; exit 1; }
if grep -qiE 'warning|error' "$log"; then
  grep -iE 'warning|error' "$log" >&2; echo "galaxy-importer: warnings or errors (above)" >&2; exit 1
fi
grep -q "Importer processing completed successfully" "$log"
echo "galaxy-importer: $(basename "$tarball") imports with no error or warning ($(tar tzf "$tarball" | wc -l) files)"

antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
cp CHANGELOG.md "$out/CHANGELOG.before"
antsibull-changelog generate
if ! diff -u "$out/CHANGELOG.before" CHANGELOG.md >"$out/changelog.diff"; then
  head -40 "$out/changelog.diff" >&2
  cp "$out/CHANGELOG.before" CHANGELOG.md
  echo "CHANGELOG.md is not what changelogs/ generates: run antsibull-changelog generate" >&2; exit 1
fi
echo "antsibull-changelog: fragments and changelog.yaml lint clean, CHANGELOG.md is generated"

ansible-galaxy collection install "$tarball" -p "$out/ee" --no-deps --force >/dev/null 2>&1
deps=$(ansible-builder introspect --sanitize "$out/ee")
for want in kubernetes jmespath netaddr "openssh-client \[platform:dpkg\]" "openssh-clients \[platform:rpm\]"; do
  grep -q "$want" <<<"$deps" || { echo "$deps" >&2; echo "ansible-builder does not find $want" >&2; exit 1; }
done
if grep -q "ansible-core" <<<"$deps"; then echo "$deps" >&2; echo "ansible-core must not be an EE dependency" >&2; exit 1; fi
ansible-builder create -f docs/execution-environment.yml --context "$out/context" >/dev/null
grep -q "clusterguard.portworx" "$out/context/_build/requirements.yml"
echo "ansible-builder: the collection's Python (kubernetes, jmespath, netaddr) and system (SSH client) dependencies" \
  "are found; docs/execution-environment.yml makes a build context (an image needs podman, not here)"
