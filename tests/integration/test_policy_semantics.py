"""The policies as the real API server stores them, evaluated flow by flow.

Each mode is applied with the network_policy role to a fresh namespace, read
back from kube-apiserver (with its defaults filled in) and evaluated by
netpol_eval, an implementation of NetworkPolicy semantics of our own."""

import re

import pytest

from conftest import LAB_NET, lab_address, run_playbook
from hostfw import WORKERS
from labapi import network_policies as read_policies
from netpol_eval import egress_allowed

NODE = lab_address("w1")
NODE6 = lab_address("w1", 6)
POD = "10.244.1.5"  # another pod: not a node address
DNS = "10.96.0.10"  # the cluster DNS service
OUTSIDE = "93.184.216.34"
OUTSIDE6 = "2001:db8::1"
STORK = {"component": "stork"}
COREDNS = {"k8s-app": "kube-dns"}

# (namespace, pod labels, destination, protocol, port) -> allowed?  "USER" is the test namespace.
FLOWS = {
    "precise": [
        ("USER", {}, NODE, "TCP", 9001, False),
        ("USER", {}, NODE, "TCP", 9022, False),
        ("USER", {}, NODE6, "TCP", 9001, False),
        ("USER", {}, NODE, "TCP", 9000, True),
        ("USER", {}, NODE, "TCP", 9023, False),  # the TLS REST API
        ("USER", {}, NODE, "TCP", 9024, True),
        ("USER", {}, NODE, "TCP", 6443, True),
        ("USER", {}, NODE, "TCP", 10250, True),
        ("USER", {}, NODE, "UDP", 9001, True),
        ("USER", {}, POD, "TCP", 9001, True),
        ("USER", {}, OUTSIDE, "TCP", 443, True),
        ("USER", {}, OUTSIDE6, "TCP", 443, True),
        ("USER", {}, DNS, "UDP", 53, True),
        ("kube-system", COREDNS, NODE, "TCP", 9001, False),
        ("kube-system", COREDNS, OUTSIDE, "UDP", 53, True),
        ("kube-system", STORK, NODE, "TCP", 9001, True),
        ("kube-system", {"tier": "control-plane"}, NODE, "TCP", 9022, True),
        ("kube-system", {"name": "portworx-operator"}, NODE, "TCP", 9020, True),
        ("kube-system", {"name": "px-plugin-proxy"}, NODE, "TCP", 9021, True),
    ],
    # The document as written: what it blocks, and what it cuts besides.
    "seed": [
        ("USER", {}, NODE, "TCP", 9001, False),
        ("USER", {}, NODE, "TCP", 9022, False),
        ("USER", {}, NODE, "TCP", 6443, True),   # allow-api
        ("USER", {}, NODE, "TCP", 10250, False),  # the kubelet is cut
        ("USER", {}, OUTSIDE, "TCP", 443, True),
        ("USER", {}, OUTSIDE6, "TCP", 443, False),  # IPv6 egress is cut
        ("USER", {}, DNS, "UDP", 53, True),
        ("kube-system", COREDNS, NODE, "TCP", 9001, False),
        ("kube-system", COREDNS, OUTSIDE, "UDP", 53, False),  # CoreDNS upstream is cut
        ("kube-system", COREDNS, OUTSIDE, "TCP", 8099, True),
        ("kube-system", STORK, NODE, "TCP", 9001, True),
    ],
}


@pytest.mark.parametrize("mode", ["precise", "seed"])
def test_flows(mode, api, kubeconfig, inventory, namespace):
    run_playbook("tests/integration/playbooks/network_policy.yml", inventory, {
        "network_policy_kubeconfig": kubeconfig,
        "network_policy_mode": mode,
        "network_policy_namespaces": [namespace],
        "portworx_node_address_vars": ["ansible_host", "node_ipv6"],
    })
    policies = read_policies(api, [namespace, "kube-system"])
    assert {p["metadata"]["name"] for p in policies if p["metadata"]["namespace"] == namespace} == {
        "block-9001-for-non-system-users", "allow-api"}
    # The API server kept every spec exactly as the role built it; the role's "nothing to change"
    # test relies on that. Built here from the same inputs with the collection's own builder.
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies as builder
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils import spec
    exempt = spec.load_options("network_policy")["network_policy_exempt_pods"]["default"]
    nodes = [lab_address(host, family) for family in (4, 6) for host in WORKERS]
    built = builder.build(nodes, [namespace], mode=mode, api_cidrs=[LAB_NET + ".1"], exempt=exempt)
    stored = {(p["metadata"]["namespace"], p["metadata"]["name"]): p["spec"] for p in policies}
    for obj in built:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        assert stored[key] == obj["spec"], key
    wrong = []
    for ns, labels, dest, proto, port, expected in FLOWS[mode]:
        ns = namespace if ns == "USER" else ns
        got = egress_allowed(policies, ns, labels, dest, proto, port)
        if got != expected:
            wrong.append((ns, labels, dest, proto, port, "allowed" if got else "denied"))
    assert not wrong, wrong


def test_second_run_changes_nothing_and_check_mode_reports(api, kubeconfig, inventory, namespace):
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
             "portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    run_playbook("tests/integration/playbooks/network_policy.yml", inventory, extra)
    out = run_playbook("tests/integration/playbooks/network_policy.yml", inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out), out[-2000:]
    # check mode on a new namespace says it would change, and changes nothing
    extra["network_policy_namespaces"] = [namespace, "default"]
    before = read_policies(api, ["default"])
    out = run_playbook("tests/integration/playbooks/network_policy.yml", inventory, extra, check=True)
    assert re.search(r"changed=[1-9]", out)
    assert read_policies(api, ["default"]) == before


def test_bad_input_fails_before_anything_is_applied(api, kubeconfig, inventory, namespace):
    out = run_playbook("tests/integration/playbooks/network_policy.yml", inventory, {
        "network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
        "portworx_extra_ports": ["9001-90x2"]}, expect_rc=2)
    assert "portworx_extra_ports" in out and "9001-90x2" in out
    assert read_policies(api, [namespace]) == []


def test_unauthorised_user_gets_a_clear_error(api, kubeconfig, inventory, namespace):
    out = run_playbook("tests/integration/playbooks/network_policy.yml", inventory, {
        "network_policy_kubeconfig": kubeconfig, "network_policy_context": "lab-nobody",
        "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "cannot read the cluster" in out and "nothing was changed" in out and "forbidden" in out
    assert read_policies(api, [namespace]) == []


def test_subnet_mode_refuses_overlap_with_pod_cidr(api, kubeconfig, inventory, namespace):
    out = run_playbook("tests/integration/playbooks/network_policy.yml", inventory, {
        "network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
        "network_policy_node_cidr_mode": "subnet", "network_policy_pod_cidrs": ["10.231.128.0/17"]},
        expect_rc=2)
    assert "overlaps 10.231.128.0/17" in out
    assert read_policies(api, [namespace]) == []


def test_absent_removes_only_ours(api, kubeconfig, inventory, namespace):
    from kubernetes import client

    net = client.NetworkingV1Api(api)
    net.create_namespaced_network_policy(namespace, {
        "metadata": {"name": "someone-elses"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
             "network_policy_pod_security": "baseline"}
    run_playbook("tests/integration/playbooks/network_policy.yml", inventory, extra)
    labels = client.CoreV1Api(api).read_namespace(namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    # Pod Security Admission now refuses hostNetwork pods in that namespace
    with pytest.raises(client.exceptions.ApiException) as err:
        client.CoreV1Api(api).create_namespaced_pod(namespace, {
            "metadata": {"name": "hostnet"},
            "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "busybox"}]}})
    assert err.value.status == 403 and "hostNetwork" in err.value.body
    extra["network_policy_state"] = "absent"
    run_playbook("tests/integration/playbooks/network_policy.yml", inventory, extra)
    assert [p["metadata"]["name"] for p in read_policies(api, [namespace])] == ["someone-elses"]
    labels = client.CoreV1Api(api).read_namespace(namespace).metadata.labels
    assert not any(k.startswith("pod-security.kubernetes.io/") for k in labels)
