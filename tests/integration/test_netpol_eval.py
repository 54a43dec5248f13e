"""The evaluator itself, on hand-written policies (no cluster needed)."""

from netpol_eval import egress_allowed, selector_matches


def pol(ns, selector, egress, types=("Egress",)):
    return {"metadata": {"namespace": ns, "name": "p"},
            "spec": {"podSelector": selector, "policyTypes": list(types), "egress": egress}}


def test_unselected_pod_is_not_isolated():
    p = pol("a", {"matchLabels": {"app": "x"}}, [])
    assert egress_allowed([p], "a", {"app": "y"}, "10.0.0.1", "TCP", 80)
    assert not egress_allowed([p], "a", {"app": "x"}, "10.0.0.1", "TCP", 80)


def test_ipblock_except_and_ports():
    p = pol("a", {}, [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/24"]}}],
                       "ports": [{"protocol": "TCP", "port": 9000, "endPort": 9010}]}])
    assert egress_allowed([p], "a", {}, "8.8.8.8", "TCP", 9005)
    assert not egress_allowed([p], "a", {}, "8.8.8.8", "TCP", 9011)
    assert not egress_allowed([p], "a", {}, "10.0.0.7", "TCP", 9005)
    assert not egress_allowed([p], "a", {}, "8.8.8.8", "UDP", 9005)
    assert not egress_allowed([p], "a", {}, "fd00::1", "TCP", 9005)


def test_rules_are_additive_and_empty_to_matches_all():
    p1 = pol("a", {}, [{"ports": [{"protocol": "UDP", "port": 53}]}])
    p2 = pol("a", {}, [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}])
    assert egress_allowed([p1, p2], "a", {}, "1.1.1.1", "UDP", 53)
    assert egress_allowed([p1, p2], "a", {}, "10.1.1.1", "TCP", 9001)
    assert not egress_allowed([p1, p2], "a", {}, "1.1.1.1", "TCP", 443)


def test_ingress_only_policy_does_not_isolate_egress():
    p = pol("a", {}, [], types=("Ingress",))
    assert egress_allowed([p], "a", {}, "1.1.1.1", "TCP", 443)


def test_selector_expressions():
    sel = {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["control-plane"]},
                                {"key": "k", "operator": "Exists"}]}
    assert selector_matches(sel, {"k": "1"})
    assert selector_matches(sel, {"k": "1", "tier": "web"})
    assert not selector_matches(sel, {"k": "1", "tier": "control-plane"})
    assert not selector_matches(sel, {})


def cnp(tier, priority, subject, rules, kind="ClusterNetworkPolicy"):
    spec = {"priority": priority, "subject": subject, "egress": rules}
    if kind == "ClusterNetworkPolicy":
        spec["tier"] = tier
    return {"kind": kind, "metadata": {"name": "c%d" % priority}, "spec": spec}


def rule(action, cidr, start=None, end=None):
    out = {"action": action, "to": [{"networks": [cidr]}]}
    if start:
        out["protocols"] = [{"tcp": {"destinationPort": {"range": {"start": start, "end": end}} if end else
                                     {"number": start}}}]
    return out


ALL = {"namespaces": {}}


def test_admin_deny_beats_a_networkpolicy_that_allows():
    from netpol_eval import connection_allowed

    allow_all = pol("a", {}, [{}])
    deny = cnp("Admin", 10, ALL, [rule("Deny", "10.0.0.0/24", 9001, 9022)])
    assert not connection_allowed([allow_all], [deny], [], "a", {}, {}, "10.0.0.5", "TCP", 9001)
    assert connection_allowed([allow_all], [deny], [], "a", {}, {}, "10.0.0.5", "TCP", 9023)
    assert connection_allowed([allow_all], [deny], [], "a", {}, {}, "10.0.0.5", "UDP", 9001)


def test_priority_order_pass_and_baseline():
    from netpol_eval import connection_allowed

    accept = cnp("Admin", 5, ALL, [rule("Accept", "10.0.0.5/32")])
    deny = cnp("Admin", 10, ALL, [rule("Deny", "10.0.0.0/24")])
    assert connection_allowed([], [deny, accept], [], "a", {}, {}, "10.0.0.5", "TCP", 1)
    assert not connection_allowed([], [deny, accept], [], "a", {}, {}, "10.0.0.6", "TCP", 1)
    passing = cnp("Admin", 1, ALL, [rule("Pass", "10.0.0.6/32")])
    base_deny = cnp("Baseline", 1, ALL, [rule("Deny", "10.0.0.0/24")])
    # Pass skips the Admin tier's deny; no NetworkPolicy selects the pod; the Baseline tier denies
    assert not connection_allowed([], [deny, passing, base_deny], [], "a", {}, {}, "10.0.0.6", "TCP", 1)
    # a NetworkPolicy that selects the pod overrides the Baseline tier
    assert connection_allowed([pol("a", {}, [{}])], [deny, passing, base_deny], [], "a", {}, {}, "10.0.0.6", "TCP", 1)


def test_pods_subject_nodes_peer_and_anp_ports():
    from netpol_eval import connection_allowed

    node = {"metadata": {"name": "n1", "labels": {"role": "w"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.1.0.1"}]}}
    anp = cnp(None, 3, {"pods": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                 "podSelector": {"matchExpressions": [{"key": "component", "operator": "NotIn",
                                                                       "values": ["stork"]}]}}},
              [{"action": "Deny", "to": [{"nodes": {}}],
                "ports": [{"portRange": {"protocol": "TCP", "start": 9001, "end": 9022}}]}],
              kind="AdminNetworkPolicy")
    ks = {"kubernetes.io/metadata.name": "kube-system"}
    assert not connection_allowed([], [anp], [node], "kube-system", ks, {}, "10.1.0.1", "TCP", 9010)
    assert connection_allowed([], [anp], [node], "kube-system", ks, {"component": "stork"}, "10.1.0.1", "TCP", 9010)
    assert connection_allowed([], [anp], [node], "kube-system", ks, {}, "10.1.0.2", "TCP", 9010)
    assert connection_allowed([], [anp], [node], "other", {"kubernetes.io/metadata.name": "other"}, {}, "10.1.0.1",
                              "TCP", 9010)
