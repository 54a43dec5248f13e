"""network_policy_scope cluster and both on the lab: the objects as the real API
server stores them (validated against the CRDs of sigs.k8s.io/network-policy-api,
CEL rules included), evaluated tier by tier, with a namespace created after the run."""

import os
import re
import subprocess
import uuid

import pytest

from conftest import LAB, ROOT, lab_address, run_playbook
from labapi import GROUP, OURS
from labapi import cluster_objects as read_cluster_objects
from labapi import network_policies as read_policies
from netpol_eval import connection_allowed

PLAYBOOK = "tests/integration/playbooks/network_policy.yml"
NODE, NODE6, POD, DNS, OUTSIDE = lab_address("w2"), lab_address("w3", 6), "10.244.1.5", "10.96.0.10", "93.184.216.34"


def cluster_objects(api, mine_only=True):
    return read_cluster_objects(api, OURS if mine_only else None)


def settings(kubeconfig, **more):
    out = {"network_policy_kubeconfig": kubeconfig, "portworx_node_address_vars": ["ansible_host", "node_ipv6"],
           "network_policy_all_namespaces": True}
    out.update({"network_policy_" + k: v for k, v in more.items()})
    return out


@pytest.fixture
def clean(api, kubeconfig, inventory):
    """Leaves the lab as the other tests expect it: none of our cluster-scoped objects."""
    yield
    run_playbook(PLAYBOOK, inventory, settings(kubeconfig, state="absent", all_namespaces=False))
    assert cluster_objects(api) == []


def new_namespace(api, labels=None):
    from kubernetes import client

    name = "late-" + uuid.uuid4().hex[:6]
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name, "labels": labels or {}}})
    return name


@pytest.mark.parametrize("cluster_api, peer", [("ClusterNetworkPolicy", "networks"), ("ClusterNetworkPolicy", "nodes"),
                                               ("AdminNetworkPolicy", "networks")])
def test_a_namespace_created_after_the_run_is_blocked_from_the_node_ports_only(
        cluster_api, peer, api, kubeconfig, inventory, clean):
    from kubernetes import client

    extra = settings(kubeconfig, scope="cluster", cluster_api=cluster_api, cluster_peer=peer)
    run_playbook(PLAYBOOK, inventory, extra)
    out = run_playbook(PLAYBOOK, inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out), out[-2000:]
    late = new_namespace(api)  # after the run: no run of the role has seen it
    objects = cluster_objects(api)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        (cluster_api, "block-9001-for-non-system-users"), (cluster_api, "block-9001-for-non-system-users-kube-system")]
    # scope cluster alone leaves no NetworkPolicy of ours behind
    assert not [p for p in read_policies(api, ["default", "kube-system"])
                if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "clusterguard.portworx"]
    nodes = [api.sanitize_for_serialization(n) for n in client.CoreV1Api(api).list_node().items]
    policies = read_policies(api, [late, "kube-system"])
    flows = [  # (namespace, pod labels, destination, protocol, port, allowed?)
        (late, {}, NODE, "TCP", 9001, False), (late, {}, NODE, "TCP", 9022, False), (late, {}, NODE6, "TCP", 9010, False),
        (late, {}, NODE, "TCP", 9000, True), (late, {}, NODE, "TCP", 9023, False), (late, {}, NODE, "TCP", 9024, True),
        (late, {}, NODE, "TCP", 6443, True),
        (late, {}, NODE, "TCP", 10250, True), (late, {}, NODE, "UDP", 9001, True), (late, {}, POD, "TCP", 9001, True),
        (late, {}, DNS, "UDP", 53, True), (late, {}, OUTSIDE, "TCP", 443, True),
        ("kube-system", {"k8s-app": "kube-dns"}, NODE, "TCP", 9001, False),
        ("kube-system", {"k8s-app": "kube-dns"}, OUTSIDE, "UDP", 53, True),
        ("kube-system", {"component": "stork"}, NODE, "TCP", 9001, True),
        ("kube-system", {"tier": "control-plane"}, NODE, "TCP", 9022, True),
        ("kube-system", {"name": "portworx-operator"}, NODE, "TCP", 9020, True),
        ("kube-system", {"name": "px-plugin-proxy"}, NODE, "TCP", 9021, True),
        ("portworx", {}, NODE, "TCP", 9001, True),  # excluded
    ]
    wrong = []
    for ns, labels, dest, proto, port, expected in flows:
        got = connection_allowed(policies, objects, nodes, ns, {"kubernetes.io/metadata.name": ns}, labels, dest, proto,
                                 port)
        if got != expected:
            wrong.append((ns, labels, dest, proto, port, "allowed" if got else "denied"))
    assert not wrong, wrong


def test_switching_scope_prunes_what_the_other_left_and_absent_keeps_others(
        api, kubeconfig, inventory, namespace, clean):
    from kubernetes import client

    custom = client.CustomObjectsApi(api)
    theirs = {"apiVersion": GROUP + "/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": {"name": "someone-elses"},
              "spec": {"tier": "Baseline", "priority": 50, "subject": {"namespaces": {}},
                       "egress": [{"action": "Deny", "to": [{"networks": ["192.0.2.0/24"]}]}]}}
    custom.create_cluster_custom_object(GROUP, "v1beta1", "clusternetworkpolicies", theirs)
    try:
        base = settings(kubeconfig, all_namespaces=False, namespaces=[namespace])
        run_playbook(PLAYBOOK, inventory, dict(base, network_policy_scope="both"))
        assert len(cluster_objects(api)) == 2
        assert {p["metadata"]["name"] for p in read_policies(api, [namespace])} == {
            "block-9001-for-non-system-users", "allow-api"}
        run_playbook(PLAYBOOK, inventory, dict(base, network_policy_scope="cluster",
                                               network_policy_cluster_api="AdminNetworkPolicy"))
        assert sorted(o["kind"] for o in cluster_objects(api)) == ["AdminNetworkPolicy", "AdminNetworkPolicy"]
        assert read_policies(api, [namespace]) == []
        run_playbook(PLAYBOOK, inventory, dict(base, network_policy_scope="namespaces"))
        assert cluster_objects(api) == []
        assert len(read_policies(api, [namespace])) == 2
        run_playbook(PLAYBOOK, inventory, dict(base, network_policy_scope="cluster"))
        # check mode against a change of API: reports, changes nothing
        before = cluster_objects(api)
        out = run_playbook(PLAYBOOK, inventory, dict(base, network_policy_scope="cluster",
                                                     network_policy_cluster_api="AdminNetworkPolicy"), check=True)
        assert re.search(r"changed=[1-9]", out)
        assert cluster_objects(api) == before
        run_playbook(PLAYBOOK, inventory, dict(base, network_policy_state="absent"))
        assert cluster_objects(api) == [] and read_policies(api, [namespace]) == []
        assert [o["metadata"]["name"] for o in cluster_objects(api, mine_only=False)] == ["someone-elses"]
    finally:
        custom.delete_cluster_custom_object(GROUP, "v1beta1", "clusternetworkpolicies", "someone-elses")


def test_a_cluster_without_the_api_is_refused_by_name_before_anything_changes(api, kubeconfig, inventory, namespace):
    from kubernetes import client

    ext = client.ApiextensionsV1Api(api)
    ext.delete_custom_resource_definition("adminnetworkpolicies.policy.networking.k8s.io")
    try:
        for _attempt in range(50):  # the API server stops serving it a moment later
            try:
                client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, "v1alpha1", "adminnetworkpolicies")
            except client.exceptions.ApiException as exc:
                if exc.status == 404:
                    break
            __import__("time").sleep(0.2)
        out = run_playbook(PLAYBOOK, inventory, settings(kubeconfig, all_namespaces=False, namespaces=[namespace],
                                                         scope="both", cluster_api="AdminNetworkPolicy"), expect_rc=2)
        assert "network_policy_scope: 'both' needs the AdminNetworkPolicy API" in out
        assert "adminnetworkpolicies.policy.networking.k8s.io" in out and "nothing was changed" in out
        assert read_policies(api, [namespace]) == [] and cluster_objects(api) == []
        # the namespace scope still works on such a cluster
        run_playbook(PLAYBOOK, inventory, settings(kubeconfig, all_namespaces=False, namespaces=[namespace]))
        assert len(read_policies(api, [namespace])) == 2
    finally:
        subprocess.run([os.path.join(ROOT, "tests/lab/install_crds.sh"), os.path.join(LAB, "kubeconfig"),
                        "AdminNetworkPolicy"], check=True, capture_output=True)
