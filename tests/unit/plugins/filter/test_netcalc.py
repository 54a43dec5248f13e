import ipaddress

import pytest
from hypothesis import given, strategies as st

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc


def test_node_cidrs_example():
    got = netcalc.node_cidrs(["10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.0", "10.0.0.9", "fd00::1", "10.0.0.1"])
    assert got == ["10.0.0.0/30", "10.0.0.9/32", "fd00::1/128"]


def test_node_cidrs_family_and_networks():
    values = ["fd00::2", "10.1.0.0/24", "10.1.1.0/24", "fd00::3"]
    assert netcalc.node_cidrs(values) == ["10.1.0.0/23", "fd00::2/127"]
    assert netcalc.node_cidrs(values, 6) == ["fd00::2/127"]
    assert netcalc.node_cidrs(values, "ipv4") == ["10.1.0.0/23"]
    assert netcalc.node_cidrs([]) == []


@pytest.mark.parametrize("bad", ["10.0.0.256", "10.1.2.3/16", "", "worker1", None, 42])
def test_node_cidrs_rejects_and_names_the_value(bad):
    with pytest.raises(netcalc.AddressError) as err:
        netcalc.node_cidrs(["10.0.0.1", bad])
    assert repr(bad) in str(err.value)


def test_node_cidrs_rejects_bad_family():
    with pytest.raises(netcalc.AddressError, match="family"):
        netcalc.node_cidrs(["10.0.0.1"], family=5)


def test_node_subnet():
    assert netcalc.node_subnet(["10.20.1.5", "10.20.3.7"]) == "10.20.0.0/22"
    assert netcalc.node_subnet(["10.20.1.5", "10.20.3.7"], 16) == "10.20.0.0/16"
    assert netcalc.node_subnet(["10.20.1.5", "10.20.3.7"], "/16") == "10.20.0.0/16"
    assert netcalc.node_subnet(["10.20.1.5", "fd00:1::5", "fd00:1::9"], family=6) == "fd00:1::/124"
    assert netcalc.node_subnet(["10.20.1.5"]) == "10.20.1.5/32"


def test_node_subnet_errors():
    with pytest.raises(netcalc.AddressError, match="outside 10.20.1.0/24"):
        netcalc.node_subnet(["10.20.1.5", "10.20.3.7"], 24)
    with pytest.raises(netcalc.AddressError, match="mix IPv4 and IPv6"):
        netcalc.node_subnet(["10.20.1.5", "fd00::1"])
    with pytest.raises(netcalc.AddressError, match="/33"):
        netcalc.node_subnet(["10.20.1.5"], 33)
    with pytest.raises(netcalc.AddressError, match="'x'"):
        netcalc.node_subnet(["10.20.1.5"], "x")
    with pytest.raises(netcalc.AddressError, match="no addresses of IPv6"):
        netcalc.node_subnet(["10.20.1.5"], family=6)


def test_cidr_overlaps():
    assert netcalc.cidr_overlaps(["10.0.0.0/16"], ["10.0.128.0/17", "10.96.0.0/12", "fd00::/64"]) == [
        {"cidr": "10.0.0.0/16", "other": "10.0.128.0/17"}
    ]
    assert netcalc.cidr_overlaps(["192.168.0.1"], ["10.0.0.0/8"]) == []


def test_missing_netaddr_gives_one_clear_error(monkeypatch):
    monkeypatch.setattr(netcalc, "HAS_NETADDR", False)
    with pytest.raises(netcalc.AddressError, match="pip install netaddr"):
        netcalc.node_cidrs(["10.0.0.1"])


v4 = st.integers(min_value=0, max_value=2**32 - 1).map(lambda i: str(ipaddress.IPv4Address(i)))
v4_dense = st.integers(min_value=0, max_value=255).map(lambda i: "10.9.0.%d" % i)
v6 = st.integers(min_value=0, max_value=2**16).map(lambda i: str(ipaddress.IPv6Address((0xFD00 << 112) + i)))
addresses = st.lists(st.one_of(v4, v4_dense, v6), max_size=60)


def covered(cidrs):
    out = set()
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        out.update(net) if net.num_addresses > 1 else out.add(net.network_address)
    return out


@given(addresses)
def test_node_cidrs_against_ipaddress(values):
    cidrs = netcalc.node_cidrs(values)
    nets = [ipaddress.ip_network(c) for c in cidrs]
    # covers exactly the input
    assert covered(cidrs) == {ipaddress.ip_address(v) for v in values}
    # no overlaps
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            assert a.version != b.version or not a.overlaps(b)
    # minimal: the oracle's own collapse gives the same count
    oracle = list(ipaddress.collapse_addresses(ipaddress.ip_network(v) for v in values if ":" not in v))
    oracle += list(ipaddress.collapse_addresses(ipaddress.ip_network(v) for v in values if ":" in v))
    assert sorted(nets, key=lambda n: (n.version, n)) == sorted(oracle, key=lambda n: (n.version, n))
    # IPv4 first
    versions = [n.version for n in nets]
    assert versions == sorted(versions)


@given(st.lists(v4, min_size=1, max_size=20))
def test_node_subnet_is_the_smallest_container(values):
    subnet = ipaddress.ip_network(netcalc.node_subnet(values))
    ips = [ipaddress.ip_address(v) for v in values]
    assert all(ip in subnet for ip in ips)
    if subnet.prefixlen < 32:
        for half in subnet.subnets():
            assert not all(ip in half for ip in ips)


def test_changed_objects_only_what_differs():
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies

    wanted = policies.build(["10.0.0.1"], ["a", "b"])
    live = [dict(o, metadata=dict(o["metadata"], uid="x", labels=dict(o["metadata"]["labels"], extra="1")))
            for o in wanted]
    assert policies.changed(wanted, live) == []
    live[1] = dict(live[1], spec=dict(live[1]["spec"], policyTypes=["Ingress", "Egress"]))  # edited by hand
    del live[3]["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    assert policies.changed(wanted, live) == [wanted[1], wanted[3]]
    assert policies.changed(wanted, live[:2]) == wanted[1:]  # edited, then missing
