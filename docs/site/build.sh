#!/usr/bin/env bash
# The collection's documentation site, as antsibull-docs renders it for Ansible's docs: every plugin
# and role from their own docs, and the guides of docs/docsite/rst. Made with `antsibull-docs
# sphinx-init --use-current` and kept here; make test builds it into docs/site/build/html.
# Offline, references to ansible-core's own pages cannot resolve: those warnings are listed and
# accepted, any other warning fails the build. Needs the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
rm -rf rst build
mkdir -p rst
chmod og-w rst  # antsibull-docs wants the directory writable by itself only
antsibull-docs --config-file antsibull-docs.cfg collection --use-current --dest-dir rst clusterguard.portworx >/dev/null
cp index.rst rst/index.rst
log=$(mktemp)
sphinx-build -M html rst build -c . -q 2>"$log" || { cat "$log" >&2; exit 1; }
external="undefined label: '(common_return_values|action_plugins|ansible_configuration_settings|ansible_collections\.(ansible|community)\.[a-z_.]+)'"
unexpected=$(grep -i "warning" "$log" | grep -vE "$external" || true)
rm -f "$log"
if [[ -n $unexpected ]]; then echo "$unexpected" >&2; echo "docs: warnings beyond the offline ones (above)" >&2; exit 1; fi
pages=$(find build/html -name '*.html' | wc -l)
echo "docs: $pages HTML pages in docs/site/build/html"
