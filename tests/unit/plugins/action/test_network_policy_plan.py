"""The network_policy_plan action, run with Ansible's own objects: every row of the bad-input
matrix is refused with an error that names the variable and the value, before any cluster is
read and before any file is written; good input in render mode plans the manifests."""

import os
import sys

import pytest

from harness import run_action

from ansible_collections.clusterguard.portworx.plugins.action import network_policy_plan

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "cases"))
from network_policy_bad_input import CASES  # noqa: E402  pylint: disable=wrong-import-position

WORKERS = {"w1": ("10.231.0.11", "fd42::11"), "w2": ("10.231.0.12", "fd42::12"), "w3": ("10.231.0.13", "fd42::13")}


def task_vars(extra, tmp_path, mode):
    hostvars = {"cgpx-%s" % w: {"ansible_host": v4, "node_ipv6": v6, "lab_netns": "cgpx-%s" % w}
                for w, (v4, v6) in WORKERS.items()}
    out = {"groups": {"workers": sorted(hostvars), "all": sorted(hostvars)}, "hostvars": hostvars,
           "network_policy_namespaces": ["default"], "portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    if mode == "render":
        out["network_policy_render_dir"] = str(tmp_path / "manifests")
    else:  # a cluster is configured, and cannot be read: a row that gets that far was not refused
        out["network_policy_kubeconfig"] = str(tmp_path / "no-such-kubeconfig")
    out.update(extra)
    return out


def test_the_matrix_has_at_least_fifty_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)
    assert sum(len(c[2]) for c in CASES) >= 100


# Rows whose check needs what the cluster says (the Nodes and Service CIDRs beside the subnet):
# in lab mode only tests/integration can show them refused.
AFTER_READ = {"subnet-overlap"}
PARAMS = [(c, mode) for c in CASES for mode in c[2] if not (mode == "lab" and c[0] in AFTER_READ)]


@pytest.mark.parametrize("case, mode", PARAMS, ids=["%s-%s" % (c[0], m) for c, m in PARAMS])
def test_bad_input_is_refused_before_the_cluster_is_read(case, mode, tmp_path):
    _name, extra, _modes, expected = case
    result = run_action(network_policy_plan, task_vars=task_vars(extra, tmp_path, mode))
    assert result.get("failed"), result
    assert result["msg"].startswith("network_policy: "), result["msg"]
    assert "nothing was changed" in result["msg"]
    assert "cannot read the cluster" not in result["msg"], result["msg"]
    for word in expected:
        assert word in result["msg"], (word, result["msg"])
    assert "auth" not in result
    assert not os.path.exists(tmp_path / "manifests")


def test_good_input_in_render_mode_plans_the_manifests_and_reads_no_cluster(tmp_path):
    result = run_action(network_policy_plan, task_vars=task_vars({}, tmp_path, "render"))
    assert not result.get("failed"), result
    assert result["render_dir"] == str(tmp_path / "manifests")
    assert result["auth"]["kubeconfig"] is None and result["auth"]["temporary"] is False
    names = sorted(result["files"])
    assert names and all(n.endswith(".yaml") for n in names), names
    assert any("default" in n for n in names) and any("kube-system" in n for n in names), names
    assert result["render_stale"] == []


def test_a_cluster_that_cannot_be_read_is_an_error_naming_the_kubeconfig(tmp_path):
    result = run_action(network_policy_plan, task_vars=task_vars({}, tmp_path, "lab"))
    assert result.get("failed")
    assert "cannot read the cluster (%s)" % (tmp_path / "no-such-kubeconfig") in result["msg"], result["msg"]
    assert result["msg"].startswith("network_policy: error, nothing was changed"), result["msg"]
