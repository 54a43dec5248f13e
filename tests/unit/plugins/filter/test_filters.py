"""One thin test per filter: the filter is registered under its name, passes its
input to the helper, and reports errors as AnsibleFilterError with its name. The
logic itself is tested in tests/unit/plugins/plugin_utils and module_utils."""

import importlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc

NETADDR_FILTERS = ("node_cidrs", "node_subnet", "cidr_overlaps", "network_policies")


def get(name):
    module = importlib.import_module("ansible_collections.clusterguard.portworx.plugins.filter.%s" % name)
    return module.FilterModule().filters()[name]


@pytest.mark.parametrize("name, args, expected", [
    ("node_cidrs", (["10.0.0.1", "10.0.0.0"],), ["10.0.0.0/31"]),
    ("node_subnet", (["10.20.1.5", "10.20.3.7"], 16), "10.20.0.0/16"),
    ("cidr_overlaps", (["10.0.0.0/16"], ["10.0.128.0/17"]), [{"cidr": "10.0.0.0/16", "other": "10.0.128.0/17"}]),
    ("host_addresses", (["w1"], {"w1": {"node_ip": "10.0.0.1", "mgmt": "10.9.0.1"}}, ["node_ip", "mgmt"]), ["10.0.0.1"]),
    ("port_ranges", ("9001:9022", "strings"), ["9001-9022"]),
    ("port_complement", ("2-65535", "strings"), ["1"]),
    ("port_conflicts", ("1-1024", [22]), ["22"]),
    ("namespace_selection", (["a", "b"],), {"selected": [], "missing": []}),
    ("stale_objects", ([{"metadata": {"name": "x", "namespace": "a"}}], []),
     [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x", "namespace": "a"}}]),
    ("changed_objects", ([], []), []),
    ("pod_security_labels", ("team-a", ""), {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": "team-a", "labels": {}}}),
])
def test_each_filter(name, args, expected):
    assert get(name)(*args) == expected


def test_network_policies_filter_builds_three_objects_per_namespace_plus_one():
    assert len(get("network_policies")(["10.0.0.1"], ["a", "b"])) == 5


@pytest.mark.parametrize("name, args, message", [
    ("node_cidrs", (["x"],), "node_cidrs: 'x' is not an IP address"),
    ("port_ranges", ("90x1",), "port_ranges: '90x1' is not a port"),
    ("namespace_selection", (["a"], ["Bad"]), "namespace_selection: namespace 'Bad'"),
    ("host_addresses", (["w1"], {"w1": {"ansible_host": "10.0.0.0/24"}}), "host_addresses: ansible_host of host w1"),
    ("pod_security_labels", ("a", "strict"), "pod_security_labels: level"),
])
def test_errors_carry_the_filter_name(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        get(name)(*args)


@pytest.mark.parametrize("name", NETADDR_FILTERS)
@pytest.mark.parametrize("value", [[], ["10.0.0.1"]])
def test_without_netaddr_every_address_filter_says_so(name, value, monkeypatch):
    monkeypatch.setattr(netcalc, "HAS_NETADDR", False)
    args = {"node_cidrs": (value,), "node_subnet": (value,), "cidr_overlaps": (value, []),
            "network_policies": (value, ["a"])}[name]
    with pytest.raises(AnsibleFilterError) as err:
        get(name)(*args)
    assert str(err.value) == "%s: %s" % (name, netcalc.MISSING_NETADDR)
