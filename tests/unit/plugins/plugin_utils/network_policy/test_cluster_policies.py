"""plugin_utils/network_policy/cluster_policies.py: the cluster-scoped objects for both APIs."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import cluster_policies as cnp

EXEMPT = [{"key": "component", "values": ["stork"]}, {"key": "name", "values": ["scheduler"]}]


def test_clusternetworkpolicy_denies_tcp_to_the_node_networks_for_all_but_the_excluded():
    users, system = cnp.build("ClusterNetworkPolicy", ["10.0.0.12", "10.0.0.11", "fd42::11"], ["9001-9022", 9100],
                              ["portworx", "kube-public"], "kube-system", EXEMPT, 20, "block")
    assert users["apiVersion"] == "policy.networking.k8s.io/v1beta1" and "namespace" not in users["metadata"]
    assert users["spec"]["tier"] == "Admin" and users["spec"]["priority"] == 20 and system["spec"]["priority"] == 21
    assert users["spec"]["subject"] == {"namespaces": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-public", "kube-system", "portworx"]}]}}
    assert users["spec"]["egress"] == [{
        "name": "deny-portworx-ports", "action": "Deny", "to": [{"networks": ["10.0.0.11/32", "10.0.0.12/32", "fd42::11/128"]}],
        "protocols": [{"tcp": {"destinationPort": {"range": {"start": 9001, "end": 9022}}}},
                      {"tcp": {"destinationPort": {"number": 9100}}}]}]
    assert system["metadata"]["name"] == "block-kube-system"
    assert system["spec"]["subject"] == {"pods": {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchExpressions": [{"key": "component", "operator": "NotIn", "values": ["stork"]},
                                             {"key": "name", "operator": "NotIn", "values": ["scheduler"]}]}}}
    assert system["spec"]["egress"] == users["spec"]["egress"]


def test_adminnetworkpolicy_has_its_own_port_syntax_and_no_tier():
    users, _system = cnp.build("AdminNetworkPolicy", ["10.0.0.11"], "9001-9022,9100", [], "kube-system", EXEMPT,
                               20, "block", labels={"x": "y"})
    assert users["apiVersion"] == "policy.networking.k8s.io/v1alpha1" and "tier" not in users["spec"]
    assert users["spec"]["egress"][0]["ports"] == [
        {"portRange": {"protocol": "TCP", "start": 9001, "end": 9022}}, {"portNumber": {"protocol": "TCP", "port": 9100}}]
    assert users["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "clusterguard.portworx", "x": "y"}


def test_nodes_peer_needs_no_addresses_and_a_selector_narrows_the_namespaces():
    users, _system = cnp.build("ClusterNetworkPolicy", [], "9001-9022", [], "kube-system", [], 5, "block", peer="nodes",
                               namespace_selector={"matchExpressions": [{"key": "guard", "operator": "In", "values": ["on"]}]})
    assert users["spec"]["egress"][0]["to"] == [{"nodes": {}}]
    assert users["spec"]["subject"]["namespaces"]["matchExpressions"][1] == {"key": "guard", "operator": "In", "values": ["on"]}
    assert _system["spec"]["subject"]["pods"]["podSelector"] == {}


def test_many_node_cidrs_are_split_into_peers_of_25():
    addresses = ["10.0.%d.1" % i for i in range(60)]  # 60 CIDRs that do not merge
    users, _system = cnp.build("ClusterNetworkPolicy", addresses, "9001-9022", [], "kube-system", [], 20, "block")
    assert [len(p["networks"]) for p in users["spec"]["egress"][0]["to"]] == [25, 25, 10]


def test_more_than_the_schema_holds_is_refused_with_the_way_out():
    addresses = ["10.%d.%d.1" % (i // 200, i % 200) for i in range(25 * 25 * 25 + 1)]
    with pytest.raises(cnp.ClusterPolicyError, match="network_policy_cluster_peer 'nodes'"):
        cnp.build("ClusterNetworkPolicy", addresses, "9001-9022", [], "kube-system", [], 20, "block")


@pytest.mark.parametrize("kwargs, message", [
    ({"priority": 1000}, "priority must be 0-999"),
    ({"peer": "pods"}, "peer must be one of"),
    ({"api": "NetworkPolicy"}, "api must be one of"),
])
def test_bad_arguments(kwargs, message):
    args = {"api": "ClusterNetworkPolicy", "node_cidrs": ["10.0.0.1"], "ports": "9001", "excluded": [],
            "system_namespace": "kube-system", "exempt": [], "priority": 20, "block_name": "b"}
    args.update(kwargs)
    with pytest.raises(cnp.ClusterPolicyError, match=message):
        cnp.build(**args)
