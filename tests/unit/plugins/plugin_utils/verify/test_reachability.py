"""The collection's reachability evaluator: a table of policies that open (or do not open)
the way, every tier, and a cross-check against the tests' own evaluator
(tests/integration/netpol_eval.py), which shares no code with it: on thousands of random
policies and flows the two must agree, and the range answers must agree with port-by-port
answers."""

import os
import random
import sys

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import reachability as reach

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "integration"))
import netpol_eval  # noqa: E402  pylint: disable=wrong-import-position

N1, N2 = "10.0.0.1", "10.0.0.2"
NODES = [{"metadata": {"name": "n1", "labels": {"role": "storage"}},
          "status": {"addresses": [{"type": "InternalIP", "address": N1}]}},
         {"metadata": {"name": "n2", "labels": {"role": "compute"}},
          "status": {"addresses": [{"type": "InternalIP", "address": N2}]}}]
NS_LABELS = {"kubernetes.io/metadata.name": "apps"}
GUARDED = {"TCP": [(9001, 9023)]}
OURS = [p for p in policies.build(["10.0.0.0/24"], ["apps"]) if p["metadata"]["namespace"] == "apps"]


def np(name, egress, selector=None, types=("Egress",), namespace="apps"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": {}},
            "spec": {"podSelector": selector or {}, "policyTypes": list(types), "egress": egress}}


def admin(kind, name, priority, rules, tier="Admin", subject=None):
    spec = {"priority": priority, "subject": subject or {"namespaces": {}}, "egress": rules}
    if kind == "ClusterNetworkPolicy":
        spec["tier"] = tier
    if kind == "BaselineAdminNetworkPolicy":
        del spec["priority"]
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


def anp_rule(action, to=None, ports=None):
    rule = {"name": "r", "action": action, "to": to or [{"networks": ["0.0.0.0/0"]}]}
    if ports:
        rule["ports"] = ports
    return rule


def opened(extra_np=(), cluster_objects=(), labels=None, ours=True):
    model = reach.Cluster((OURS if ours else []) + list(extra_np), list(cluster_objects), NODES)
    finding = reach.reach(model, [("apps", NS_LABELS, labels if labels is not None else {"app": "demo"})],
                          [N1, N2], GUARDED)[0]
    return {a: reach.open_ports(finding, a) for a in (N1, N2)}, finding


ALL = [(9001, 9023)]
CASES = {
    "ours alone": ([], [], {N1: [], N2: []}, None),
    "allow-all egress": ([np("allow-all", [{}])], [], {N1: ALL, N2: ALL}, "NetworkPolicy apps/allow-all"),
    "to the node CIDR on one port": ([np("one-port", [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
                                                       "ports": [{"protocol": "TCP", "port": 9005}]}])], [],
                                     {N1: [(9005, 9005)], N2: [(9005, 9005)]}, "NetworkPolicy apps/one-port"),
    "a port range": ([np("range", [{"ports": [{"protocol": "TCP", "port": 9010, "endPort": 9012}]}])], [],
                     {N1: [(9010, 9012)], N2: [(9010, 9012)]}, "NetworkPolicy apps/range"),
    "pod selector of other pods": ([np("others", [{}], selector={"matchLabels": {"app": "other"}})], [],
                                   {N1: [], N2: []}, None),
    "pod selector of these pods": ([np("these", [{}], selector={"matchLabels": {"app": "demo"}})], [],
                                   {N1: ALL, N2: ALL}, "NetworkPolicy apps/these"),
    "ipBlock with except": ([np("but-n2", [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [N2 + "/32"]}}]}])],
                            [], {N1: ALL, N2: []}, "NetworkPolicy apps/but-n2"),
    "ingress only": ([np("in", [{}], types=("Ingress",))], [], {N1: [], N2: []}, None),
    "another namespace": ([np("elsewhere", [{}], namespace="other")], [], {N1: [], N2: []}, None),
    "a named port": ([np("named", [{"ports": [{"protocol": "TCP", "port": "px-api"}]}])], [], {N1: [], N2: []}, None),
    "UDP only": ([np("udp", [{"ports": [{"protocol": "UDP"}]}])], [], {N1: [], N2: []}, None),
    "pods and namespaces peers": ([np("peers", [{"to": [{"podSelector": {}}, {"namespaceSelector": {}}]}])], [],
                                  {N1: [], N2: []}, None),
    "AdminNetworkPolicy Allow": ([], [admin("AdminNetworkPolicy", "open", 5, [anp_rule("Allow")])],
                                 {N1: ALL, N2: ALL}, "AdminNetworkPolicy open (Admin tier, priority 5)"),
    "ClusterNetworkPolicy Accept on a range": (
        [], [admin("ClusterNetworkPolicy", "open", 3, [{"action": "Accept", "to": [{"networks": ["10.0.0.0/24"]}],
                                                        "protocols": [{"tcp": {"destinationPort": {"range": {
                                                            "start": 9001, "end": 9005}}}}]}])],
        {N1: [(9001, 9005)], N2: [(9001, 9005)]}, "ClusterNetworkPolicy open (Admin tier, priority 3)"),
    "nodes peer by label": ([], [admin("AdminNetworkPolicy", "storage", 1, [anp_rule("Allow", to=[{"nodes": {
        "matchLabels": {"role": "storage"}}}], ports=[{"portNumber": {"protocol": "TCP", "port": 9001}}])])],
        {N1: [(9001, 9001)], N2: []}, "AdminNetworkPolicy storage"),
    "Admin Deny beats an allow-all NetworkPolicy": (
        [np("allow-all", [{}])], [admin("AdminNetworkPolicy", "deny", 1, [anp_rule("Deny")])], {N1: [], N2: []},
        None),
    "Admin Pass hands over to the NetworkPolicies": (
        [np("allow-all", [{}])], [admin("AdminNetworkPolicy", "pass", 1, [anp_rule("Pass")]),
                                  admin("AdminNetworkPolicy", "deny", 2, [anp_rule("Deny")])],
        {N1: ALL, N2: ALL}, "NetworkPolicy apps/allow-all"),
    "Baseline Allow does not beat our NetworkPolicy": (
        [], [admin("BaselineAdminNetworkPolicy", "default", None, [anp_rule("Allow")])], {N1: [], N2: []}, None),
    "Admin subject elsewhere": ([], [admin("AdminNetworkPolicy", "other", 1, [anp_rule("Allow")], subject={
        "namespaces": {"matchLabels": {"team": "x"}}})], {N1: [], N2: []}, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_opens_the_way(case):
    extra, cluster_objects, want, by = CASES[case]
    got, finding = opened(extra, cluster_objects)
    assert got == want
    texts = [p["text"] for item in finding["open"] for p in item["by"]]
    if by:
        assert any(t.startswith(by) for t in texts), texts
    else:
        assert not texts


def test_a_namespace_without_any_policy_is_open_by_default_and_the_baseline_can_close_it():
    got, finding = opened(ours=False)
    assert got == {N1: ALL, N2: ALL} and finding["open"][0]["by"] == []
    deny = admin("BaselineAdminNetworkPolicy", "default", None, [anp_rule("Deny")])
    got, finding = opened([], [deny], ours=False)
    assert got == {N1: [], N2: []}
    assert finding["blocked"][0]["by"][0]["text"] == "BaselineAdminNetworkPolicy default (Baseline tier)"


def test_the_first_admin_policy_by_priority_decides():
    deny = admin("AdminNetworkPolicy", "deny", 10, [anp_rule("Deny")])
    allow = admin("ClusterNetworkPolicy", "allow", 4, [{"action": "Accept", "to": [{"networks": ["0.0.0.0/0"]}]}])
    assert opened([], [deny, allow])[0] == {N1: ALL, N2: ALL}
    allow["spec"]["priority"] = 11
    assert opened([], [deny, allow])[0] == {N1: [], N2: []}


def test_policy_types_left_out_are_read_as_the_api_server_fills_them_in():
    policy = np("allow-all", [{}])
    del policy["spec"]["policyTypes"]
    assert opened([policy])[0] == {N1: ALL, N2: ALL}


def test_addresses_that_no_rule_tells_apart_are_judged_once():
    model = reach.Cluster(OURS, [], NODES)
    assert model.address_classes([N1, N2, "10.0.0.3", "fd00::1"]) == [[N1, N2, "10.0.0.3"], ["fd00::1"]]
    model = reach.Cluster(OURS + [np("but-n2", [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [N2 + "/32"]}}]}])],
                          [], NODES)
    assert sorted(model.address_classes([N1, N2, "10.0.0.3"])) == [[N1, "10.0.0.3"], [N2]]


def test_segments_cut_the_guarded_range_where_rules_start_and_end():
    model = reach.Cluster([np("x", [{"ports": [{"port": 9005, "endPort": 9007}, {"port": 80}]}])], [], [])
    assert model.segments("TCP", [(9001, 9023)]) == [(9001, 9004), (9005, 9007), (9008, 9023)]
    assert model.segments("UDP", [(9002, 9002)]) == [(9002, 9002)]


# -- judged by the other evaluator -----------------------------------------------
ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.1.9", "192.168.5.5"]
CIDRS = ["10.0.0.0/24", "10.0.0.1/32", "10.0.0.2/32", "10.0.0.0/16", "0.0.0.0/0", "192.168.0.0/16"]
LABELS = [{}, {"app": "demo"}, {"app": "other"}, {"app": "demo", "tier": "db"}]
SELECTORS = [{}, {"matchLabels": {"app": "demo"}}, {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
             {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["other"]}]},
             {"matchExpressions": [{"key": "app", "operator": "In", "values": ["other", "x"]}]},
             {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}]


def _ports(rng):
    lo = rng.choice([9000, 9001, 9005, 9012, 9023, 9024])
    return rng.choice([{"protocol": "TCP", "port": lo}, {"protocol": "TCP", "port": lo, "endPort": lo + rng.randint(0, 9)},
                       {"protocol": "UDP", "port": lo}, {"port": lo}, {"protocol": "TCP"}])


def _np(rng, i):
    rules = []
    for _r in range(rng.randint(0, 2)):
        rule = {}
        if rng.random() < 0.7:
            rule["to"] = [{"ipBlock": {"cidr": c, "except": [
                e for e in CIDRS if e.endswith("/32") and rng.random() < 0.3 and c != e]}}
                for c in rng.sample(CIDRS, rng.randint(1, 2))]
        if rng.random() < 0.6:
            rule["ports"] = [_ports(rng) for _p in range(rng.randint(1, 2))]
        rules.append(rule)
    return {"metadata": {"name": "np%d" % i, "namespace": rng.choice(["apps", "apps", "other"])},
            "spec": {"podSelector": rng.choice(SELECTORS), "policyTypes": rng.choice([["Egress"], ["Ingress", "Egress"],
                                                                                     ["Ingress"]]),
                     "egress": rules}}


def _cluster(rng, i):
    kind = rng.choice(["AdminNetworkPolicy", "ClusterNetworkPolicy"])
    rules = []
    for _r in range(rng.randint(1, 3)):
        to = rng.choice([[{"networks": rng.sample(CIDRS, 1)}], [{"nodes": rng.choice(SELECTORS[:2] + [
            {"matchLabels": {"role": "storage"}}])}], [{"namespaces": {}}]])
        lo = rng.choice([9001, 9005, 9020])
        hi = lo + rng.randint(0, 5)
        if kind == "ClusterNetworkPolicy":
            rule = {"action": rng.choice(["Accept", "Deny", "Pass"]), "to": to}
            if rng.random() < 0.7:
                rule["protocols"] = [{"tcp": {"destinationPort": {"number": lo} if lo == hi else
                                              {"range": {"start": lo, "end": hi}}}}]
        else:
            rule = {"action": rng.choice(["Allow", "Deny", "Pass"]), "to": to}
            if rng.random() < 0.7:
                rule["ports"] = [{"portNumber": {"protocol": "TCP", "port": lo}} if lo == hi else
                                 {"portRange": {"protocol": "TCP", "start": lo, "end": hi}}]
        rules.append(rule)
    spec = {"priority": i * 3 + rng.randint(0, 2), "subject": rng.choice([
        {"namespaces": {}}, {"namespaces": {"matchLabels": {"team": "x"}}},
        {"pods": {"namespaceSelector": {}, "podSelector": rng.choice(SELECTORS)}}]), "egress": rules}
    if kind == "ClusterNetworkPolicy":
        spec["tier"] = rng.choice(["Admin", "Baseline"])
    return {"kind": kind, "metadata": {"name": "c%d" % i}, "spec": spec}


def test_both_evaluators_agree_on_random_policies_and_flows():
    rng = random.Random(20261203)
    nodes = NODES + [{"metadata": {"name": "n3", "labels": {}}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.0.1.9"}]}}]
    disagreements, flows = [], 0
    for trial in range(300):
        nps = [_np(rng, i) for i in range(rng.randint(0, 4))]
        cluster_objects = [_cluster(rng, i) for i in range(rng.randint(0, 3))]
        model = reach.Cluster(nps, cluster_objects, nodes)
        for labels in LABELS:
            finding = reach.reach(model, [("apps", NS_LABELS, labels)], ADDRESSES, {"TCP": [(8999, 9026)]})[0]
            for address in ADDRESSES:
                spans = reach.open_ports(finding, address)
                for port in range(8999, 9027):
                    flows += 1
                    theirs = netpol_eval.connection_allowed(nps, cluster_objects, nodes, "apps", NS_LABELS, labels,
                                                            address, "TCP", port)
                    ours = model.decide("apps", NS_LABELS, labels, address, "TCP", port)[0]
                    by_range = any(lo <= port <= hi for lo, hi in spans)
                    if not theirs == ours == by_range:
                        disagreements.append((trial, labels, address, port, theirs, ours, by_range))
    assert flows > 100000
    assert not disagreements, disagreements[:5]
