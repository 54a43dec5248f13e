#!/usr/bin/env bash
# make bench: figures and ratios against the by-hand baselines, into BENCHMARKS.md.
# Needs the lab API server (make lab-up, which `make bench` runs first).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# kube-router would resync on every namespace the benchmarks create and take CPU from them.
tests/lab/engine.sh down >/dev/null
# Benchmark-only extras (Mitogen, measured as a lever for large fleets); never a collection requirement.
.venv/bin/pip install -q -r tests/bench/requirements.txt
exec .venv/bin/python tests/bench/bench.py "$@"
