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
