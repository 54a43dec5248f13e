"""plugin_utils/k8snames.py: names, label keys and values, selectors, as the API server checks them."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import k8snames as k


@pytest.mark.parametrize("value, ok", [
    ("default", True), ("team-a", True), ("a" * 63, True), ("a" * 64, False), ("Team", False), ("team_a", False),
    ("default\n", False), ("-a", False), ("", False), (7, False),
])
def test_dns_label(value, ok):
    assert (k.dns_label_error(value) is None) == ok


@pytest.mark.parametrize("value, ok", [
    ("block-9001-for-non-system-users", True), ("a.b", True), ("A", False), ("a_b", False), ("a" * 254, False),
])
def test_dns_subdomain(value, ok):
    assert (k.dns_subdomain_error(value) is None) == ok


@pytest.mark.parametrize("value, ok", [
    ("component", True), ("k8s-app", True), ("app.kubernetes.io/name", True), ("Tier", True), ("a/b/c", False),
    ("bad key", False), ("-x", False), ("", False), ("x" * 64, False), ("Bad_Prefix/x", False),
])
def test_label_key(value, ok):
    assert (k.label_key_error(value) is None) == ok


@pytest.mark.parametrize("value, ok", [
    ("stork", True), ("", True), ("control-plane", True), ("v" * 64, False), ("a b", False), ("x\n", False), (1, False),
])
def test_label_value(value, ok):
    assert (k.label_value_error(value) is None) == ok


@pytest.mark.parametrize("value, ok", [
    ("", True), ("portworx-guard=on", True), ("team in (a, b),!legacy", True), ("tier!=web", True),
    ("team=a b", False), ("=x", False), ("a=(b)", False), ("bad key=x", False),
])
def test_selector(value, ok):
    assert (k.selector_error(value) is None) == ok


def test_label_selector_has_the_meaning_of_the_string():
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils.k8snames import label_selector

    assert label_selector("") == {}
    assert label_selector("a=b,c!=d,!e,f,g in (y, x),h notin (z)") == {"matchExpressions": [
        {"key": "a", "operator": "In", "values": ["b"]}, {"key": "c", "operator": "NotIn", "values": ["d"]},
        {"key": "e", "operator": "DoesNotExist"}, {"key": "f", "operator": "Exists"},
        {"key": "g", "operator": "In", "values": ["x", "y"]}, {"key": "h", "operator": "NotIn", "values": ["z"]}]}
