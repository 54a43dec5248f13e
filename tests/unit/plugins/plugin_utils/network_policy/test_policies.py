"""plugin_utils/network_policy/policies.py: the objects of steps 2 and 3, namespace choice, and
which objects differ or are stale."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies

NODES = ["10.0.0.11", "10.0.0.12", "fd00::11"]


def by_name(objects):
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}


def test_precise_blocks_only_the_ports_on_the_nodes():
    objs = by_name(policies.build(NODES, ["team-a"], labels={"clusterguard.portworx/instance": "default"}))
    block = objs[("team-a", "block-9001-for-non-system-users")]
    assert block["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "clusterguard.portworx",
                                           "clusterguard.portworx/instance": "default"}
    world, nodes = block["spec"]["egress"]
    assert world["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.11/32", "10.0.0.12/32"]}},
                           {"ipBlock": {"cidr": "::/0", "except": ["fd00::11/128"]}}]
    assert {"protocol": "TCP", "port": 1, "endPort": 9000} in nodes["ports"]
    assert {"protocol": "TCP", "port": 9024, "endPort": 65535} in nodes["ports"]
    system = objs[("kube-system", "block-9001-for-non-system-users")]
    assert {"key": "component", "operator": "NotIn", "values": ["stork"]} in system["spec"]["podSelector"]["matchExpressions"]
    api = objs[("team-a", "allow-api")]
    assert api["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 6443}]


def test_seed_is_the_document_as_written():
    objs = by_name(policies.build(NODES, ["team-a"], mode="seed"))
    assert objs[("team-a", "block-9001-for-non-system-users")]["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.11/32", "10.0.0.12/32"]}}]}]
    assert objs[("kube-system", "block-9001-for-non-system-users")]["spec"]["egress"][0]["ports"] == [
        {"protocol": "TCP", "port": 8099}]


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "strict"}, "mode must be"), ({"ports": []}, "no ports"), ({"block_name": "Bad_Name"}, "policy name"),
    ({"exempt": [{"key": "name", "values": "scheduler"}]}, "non-empty list of values"),
])
def test_build_refuses(kwargs, message):
    with pytest.raises((policies.PolicyError, ValueError), match=message):
        policies.build(NODES, ["team-a"], **kwargs)


def test_a_trailing_newline_is_not_a_namespace():
    with pytest.raises(policies.PolicyError, match="not a valid name"):
        policies.select_namespaces(["a"], names=["default\n"])


def test_select_namespaces():
    got = policies.select_namespaces(["a", "b", "kube-system"], names=["a", "c"])
    assert got == {"selected": ["a"], "missing": ["c"]}
    got = policies.select_namespaces(["a", "b", "kube-system"], all_namespaces=True, exclude=["kube-system"])
    assert got == {"selected": ["a", "b"], "missing": []}


def test_changed_and_stale():
    wanted = policies.build(NODES, ["team-a"])
    assert policies.changed(wanted, wanted) == []
    edited = [dict(o, spec={"podSelector": {}}) if o["metadata"]["name"] == "allow-api" else o for o in wanted]
    assert [o["metadata"]["name"] for o in policies.changed(wanted, edited)] == ["allow-api"]
    old = [{"metadata": {"namespace": "gone", "name": "allow-api"}}]
    assert policies.stale(wanted + old, wanted) == [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                                     "metadata": {"name": "allow-api", "namespace": "gone"}}]
