"""Bad input of network_policy, run through the whole role in render mode and against the lab
API server: a few rows of the matrix (tests/cases), each kind of check once.

Every case must fail (rc 2), name the variable and the bad value, show no Python
traceback, change no object on the cluster (every NetworkPolicy and Namespace
keeps its resourceVersion) and write no file."""

import os
import sys

import pytest

from conftest import run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cases"))
from network_policy_bad_input import CASES  # noqa: E402  pylint: disable=wrong-import-position

# Every row runs through the plan action in tests/unit/plugins/action; these run through the
# whole role on the lab: one per kind of check (the spec, a value's meaning, a check after the
# cluster is read, a render-only rule, a connection setting).
ON_THE_LAB = ("state-typo", "nodes-world", "subnet-overlap", "selector-space", "render-all", "host-ftp")


def test_the_lab_cases_are_rows_of_the_matrix():
    assert set(ON_THE_LAB) <= {c[0] for c in CASES}


def cluster_state(api):
    from kubernetes import client
    pols = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
    nss = client.CoreV1Api(api).list_namespace().items
    return (sorted((p.metadata.namespace, p.metadata.name, p.metadata.resource_version) for p in pols),
            sorted((n.metadata.name, n.metadata.resource_version) for n in nss))


@pytest.fixture(scope="module")
def guarded(kubeconfig, inventory):
    """Start from the lab with our policies applied, so that a half-applied run would show."""
    run_playbook(PLAY, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": ["default"]})


PARAMS = [(c, mode) for c in CASES if c[0] in ON_THE_LAB for mode in c[2]]


@pytest.mark.parametrize("case, mode", PARAMS, ids=["%s-%s" % (c[0], m) for c, m in PARAMS])
def test_bad_input_is_refused_before_anything_changes(case, mode, api, kubeconfig, inventory, guarded, tmp_path):
    name, extra, _modes, expected = case
    render_dir = str(tmp_path / "manifests")
    base = {"network_policy_namespaces": ["default"], "portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    base.update({"network_policy_render_dir": render_dir} if mode == "render" else {"network_policy_kubeconfig": kubeconfig})
    base.update(extra)
    before = cluster_state(api)
    out = run_playbook(PLAY, inventory, base, expect_rc=2)
    error = out[out.index("fatal: "):] if "fatal: " in out else out
    error = error.split("argument_spec_data:")[0]
    assert "Traceback" not in out, out[-3000:]
    for word in expected:
        assert word in error, (word, error[-3000:])
    assert cluster_state(api) == before
    assert not os.path.exists(render_dir)
