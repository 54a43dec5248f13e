"""Render mode for GitOps, through the role: file names that never collide, manifests of
ours that a run no longer writes removed (listed under --check), other files left alone."""

import os
import re

from conftest import run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
LAB = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"], "network_policy_all_namespaces": False}


def render(inventory, directory, namespaces, check=False, **extra):
    settings = dict(LAB, network_policy_render_dir=str(directory), network_policy_namespaces=namespaces, **extra)
    return run_playbook(PLAY, inventory, settings, check=check)


def test_adversarial_names_give_one_file_per_object(inventory, tmp_path):
    out = tmp_path / "manifests"
    render(inventory, out, ["a", "a--x", "namespace", "cluster"], network_policy_block_name="x--allow",
           network_policy_api_name="allow", network_policy_pod_security="baseline")
    names = sorted(os.listdir(str(out)))
    # 2 per user namespace, kube-system's, and one Namespace per selected namespace
    assert len(names) == 2 * 4 + 1 + 4, names
    assert "networkpolicy_a_x--allow.yaml" in names and "networkpolicy_a--x_allow.yaml" in names
    assert "namespace_namespace.yaml" in names and "networkpolicy_namespace_allow.yaml" in names


def test_manifests_no_longer_wanted_go_and_others_stay(inventory, tmp_path):
    out = tmp_path / "manifests"
    render(inventory, out, ["team-a", "team-b"])
    (out / "notes.yaml").write_text("# the team's own file\n")
    assert "networkpolicy_team-b_allow-api.yaml" in os.listdir(str(out))
    listed = render(inventory, out, ["team-a"], check=True)
    assert "networkpolicy_team-b_allow-api.yaml" in listed and "networkpolicy_team-b_allow-api.yaml" in os.listdir(
        str(out))  # --check lists, does not remove
    render(inventory, out, ["team-a"])
    names = sorted(os.listdir(str(out)))
    assert not [n for n in names if "team-b" in n] and "notes.yaml" in names, names
    assert re.search(r"changed=0", render(inventory, out, ["team-a"]))
    first = open(str(out / "networkpolicy_team-a_allow-api.yaml")).readline()
    assert first.startswith("# clusterguard.portworx network_policy manifest (instance default)")
