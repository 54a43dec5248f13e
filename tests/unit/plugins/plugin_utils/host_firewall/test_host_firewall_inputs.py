"""plugin_utils/host_firewall/inputs.py and spec.py: every host_firewall input,
checked as the role's first task checks it, on plain dicts."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.host_firewall import inputs as hfi
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import nodes as nodelib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import portworx, spec

HOSTS = {
    "w1": {"ansible_host": "10.0.0.11", "node_ipv6": "fd00::11", "mgmt": "192.0.2.11"},
    "w2": {"ansible_host": "10.0.0.12", "node_ipv6": "fd00::12", "mgmt": "192.0.2.12"},
}
GROUPS = {"workers": ["w1", "w2"], "all": ["w1", "w2"]}


def plan(values=None, per_host=None, hosts=None, ssh_port=22, nodes_of=None, play=None):
    per_host = per_host or {}
    hosts = hosts or HOSTS

    def values_of(host):
        out = dict(values or {})
        out.update(per_host.get(host, {}))
        return out

    def hostvar(host, var):
        return hosts[host].get(var)

    return hfi.plan(play or list(hosts), values_of, GROUPS, hostvar, lambda _h: ssh_port, nodes_of)


def test_defaults_give_the_workers_as_sources():
    got = plan()
    assert got["hosts"]["w1"] == {
        "chain": "CLUSTERGUARD-PX", "state": "present", "persist": True, "persist_dir": "/etc/clusterguard",
        "boot_unit": True, "watchdog": False, "watchdog_interval": 30, "ipset": "auto", "backend": "iptables",
        "ip_versions": ["ipv4", "ipv6"], "protocols": ["tcp"],
        "ports": ["9001-9023"], "udp_ports": ["9002"], "sources": ["10.0.0.11/32", "10.0.0.12/32"]}


@pytest.mark.parametrize("values, ports, udp", [
    ({"portworx_start_port": 17001}, ["17001-17020"], ["17002"]),
    ({"portworx_version": "2.8.1"}, ["9001-9022"], ["9002"]),
    ({"portworx_version": "2.9.0"}, ["9001-9023"], ["9002"]),
    ({"portworx_extra_ports": ["9024", "12001-12002"]}, ["9001-9024", "12001-12002"], ["9002"]),
    ({"host_firewall_protocols": ["tcp"]}, ["9001-9023"], []),
])
def test_ports_follow_the_shared_portworx_settings(values, ports, udp):
    got = plan(values)["hosts"]["w1"]
    assert (got["ports"], got["udp_ports"], got["protocols"]) == (ports, udp, ["tcp"])


def test_udp_alone_guards_the_gossip_port():
    got = plan({"host_firewall_protocols": ["udp"]})["hosts"]["w1"]
    assert (got["ports"], got["udp_ports"], got["protocols"]) == (["9002"], [], ["udp"])


def test_storagecluster_settings_come_from_the_reader():
    px = {"tcp": ["17001-17020"], "udp": ["17002"]}
    got = hfi.plan(["w1"], lambda _h: {"portworx_source": "storagecluster"}, GROUPS, lambda h, v: HOSTS[h].get(v),
                   lambda _h: 22, None, lambda values: px)
    assert (got["hosts"]["w1"]["ports"], got["hosts"]["w1"]["udp_ports"]) == (["17001-17020"], ["17002"])
    got = plan({"portworx_source": "storagecluster"})
    assert any("portworx_source: 'storagecluster' needs the cluster" in e for e in got["errors"]), got


def test_first_address_per_family_wins():
    got = plan({"portworx_node_address_vars": ["mgmt", "ansible_host", "node_ipv6"]})
    assert got["hosts"]["w1"]["sources"] == ["192.0.2.11/32", "192.0.2.12/32", "fd00::11/128", "fd00::12/128"]
    got = plan({"portworx_node_address_vars": ["ansible_host", "mgmt", "node_ipv6"]})
    assert "192.0.2.11/32" not in got["hosts"]["w1"]["sources"]


def test_absent_needs_no_addresses():
    got = plan({"host_firewall_state": "absent", "portworx_workers_group": "nowhere"})
    assert got["hosts"]["w2"]["state"] == "absent" and "sources" not in got["hosts"]["w2"]


def test_wide_sources_need_the_opt_in():
    assert "errors" in plan({"host_firewall_extra_sources": ["10.0.0.0/8"]})
    got = plan({"host_firewall_extra_sources": ["10.0.0.0/8"], "host_firewall_allow_wide_sources": True})
    assert got["hosts"]["w1"]["sources"] == ["10.0.0.0/8"]  # the workers are inside it


def test_errors_name_the_hosts_they_apply_to():
    got = plan(per_host={"w2": {"host_firewall_chain": "INPUT"}})
    assert got["errors"] == ["host_firewall_chain: 'INPUT' is a name iptables reserves (a built-in chain or a "
                             "standard target) (host w2)"]
    got = plan({"host_firewall_chain": "INPUT"})
    assert got["errors"][0].endswith("(every host)")


def test_unknown_prefixed_variables_are_warned_about():
    got = plan({"host_firewall_port": ["9001"]})
    assert got["warnings"] == ["host_firewall_port is set but is not a variable of the host_firewall role (a typo?)"]


@pytest.mark.parametrize("values, per_host, expected", [
    ({"host_firewall_state": "presnt"}, None, "host_firewall_state: 'presnt' must be one of"),
    ({"host_firewall_ports": ["9001-9022"]}, None, "host_firewall_ports was replaced in 3.0.0 by portworx_start_port"),
    ({"portworx_extra_ports": "9024"}, None, "portworx_extra_ports: '9024' must be a list"),
    ({"portworx_extra_ports": ["9001-90x2"]}, None, "portworx_extra_ports: '9001-90x2' is not a port"),
    ({"portworx_extra_ports": [True]}, None, "portworx_extra_ports: True must be a string"),
    ({"portworx_extra_ports": ["1-1024"]}, None, "include 22, the SSH port"),
    ({"portworx_start_port": 22}, {"w1": {"ansible_port": 22}}, "include 22, the SSH port"),
    ({"portworx_start_port": 0}, None, "portworx_start_port: 0 must be a port from 1 to 65513"),
    ({"portworx_start_port": 65514}, None, "portworx_start_port: 65514 must be a port from 1 to 65513"),
    ({"portworx_start_port": "x"}, None, "portworx_start_port: 'x' must be a whole number"),
    ({"portworx_version": "latest"}, None, "portworx_version: 'latest' is not a Portworx version"),
    ({"portworx_source": "operator"}, None, "portworx_source: 'operator' must be one of"),
    ({"host_firewall_protocols": ["icmp"]}, None, "host_firewall_protocols: 'icmp' is not one of tcp, udp"),
    ({"host_firewall_protocols": []}, None, "host_firewall_protocols: [] guards nothing"),
    ({"portworx_workers_group": "nope"}, None, "portworx_workers_group: 'nope' is not a group"),
    ({"portworx_node_address_vars": []}, None, "portworx_node_address_vars: [] names no variable"),
    ({"portworx_node_address_vars": ["a-b"]}, None, "'a-b' is not a variable name"),
    ({"host_firewall_extra_sources": ["0.0.0.0/0"]}, None, "'0.0.0.0/0' holds all addresses"),
    ({"host_firewall_extra_sources": ["::/0"]}, None, "'::/0' holds all addresses"),
    ({"host_firewall_extra_sources": ["2001:db8::/32"]}, None, "shorter than /48"),
    ({"host_firewall_extra_sources": ["::ffff:10.0.0.1"]}, None, "IPv4-mapped"),
    ({"host_firewall_extra_sources": ["10.1.2.3/16"]}, None, "has host bits set"),
    ({"host_firewall_ipv6": "maybe"}, None, "host_firewall_ipv6: 'maybe' must be true or false"),
    ({"host_firewall_persist_dir": "rel/dir"}, None, "host_firewall_persist_dir: 'rel/dir' must be an absolute"),
    ({"host_firewall_persist_dir": ""}, None, "set host_firewall_persist: false"),
    ({"host_firewall_chain": "A" * 29}, None, "must be 1-28"),
    ({"portworx_node_address_vars": ["ip"]}, {"w1": {}}, "host w1 defines none of ip"),
])
def test_refusals(values, per_host, expected):
    got = plan(values, per_host)
    assert "errors" in got and any(expected in e for e in got["errors"]), got


@pytest.mark.parametrize("address, expected", [
    ("10.0.0.16/28", "is a network, not the address of one node"),
    ("::ffff:10.0.0.12", "IPv4-mapped"),
    ("127.0.0.1", "loopback"),
    ("0.0.0.0", "not the unicast address"),
    ("224.0.0.1", "not the unicast address"),
    ("w2.example", "is not an IP address"),
])
def test_node_addresses_must_be_one_host(address, expected):
    hosts = {"w1": dict(HOSTS["w1"]), "w2": dict(HOSTS["w2"], ansible_host=address)}
    got = plan(hosts=hosts)
    assert any(expected in e and "ansible_host of host w2" in e for e in got["errors"]), got


def test_spec_check_is_strict():
    option = {"type": "list", "elements": "str"}
    assert spec.check("x", ["a", 9001], option) == ["a", "9001"]
    with pytest.raises(spec.InputError, match="must be a list"):
        spec.check("x", "a,b", option)
    assert spec.check("b", "yes", {"type": "bool"}) is True
    assert spec.check("n", "16", {"type": "int"}) == 16
    with pytest.raises(spec.InputError, match=r"\*\*\*\*\*\*\*\* must be a string"):
        spec.check("token", ["secret"], {"type": "str", "no_log": True})


def test_argument_specs_and_defaults_agree():
    import os
    import yaml
    options = spec.load_options("host_firewall")
    with open(os.path.join(spec.ROLES_DIR, "host_firewall", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    # the shared portworx_* options have their defaults in plugin_utils/portworx.py, not in a role
    assert sorted(defaults) == sorted(n for n in options if not n.startswith(portworx.PREFIX))
    for name, value in defaults.items():
        assert options[name].get("default") == value, name


@pytest.mark.parametrize("role", ["host_firewall", "network_policy"])
def test_shared_portworx_options_are_the_ones_of_plugin_utils(role):
    options = spec.load_options(role)
    assert {n: o for n, o in options.items() if n.startswith(portworx.PREFIX)} == portworx.OPTIONS


NODES = [{"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.11"},
                                                               {"type": "Hostname", "address": "w1"}]}},
         {"metadata": {"name": "w2"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.12"}]}},
         {"metadata": {"name": "w9"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.19"},
                                                               {"type": "InternalIP", "address": "fd00::19"}]}}]


def cluster_reader(nodes=None):
    calls = []

    def nodes_of(values, inventory):
        calls.append(inventory is None)
        if inventory is None:
            return nodelib.node_addresses(nodes or NODES)
        missing = nodelib.node_drift(inventory, nodes or NODES)[0]
        return ["missing %s" % ", ".join(missing)] if missing else []
    return nodes_of, calls


def test_node_source_cluster_allows_every_node_of_the_cluster_while_the_play_configures_its_hosts():
    nodes_of, calls = cluster_reader()
    got = plan({"portworx_node_source": "cluster"}, play=["w1"], nodes_of=nodes_of)  # one slice
    assert list(got["hosts"]) == ["w1"]
    assert got["hosts"]["w1"]["sources"] == ["10.0.0.11/32", "10.0.0.12/32", "10.0.0.19/32", "fd00::19/128"]
    assert calls == [True]


def test_node_source_inventory_warns_about_nodes_the_inventory_lacks():
    nodes_of, _calls = cluster_reader()
    got = plan(nodes_of=nodes_of)
    assert got["warnings"] == ["missing w9 (10.0.0.19, fd00::19)"]
    assert got["hosts"]["w1"]["sources"] == ["10.0.0.11/32", "10.0.0.12/32"]


def test_node_source_list():
    got = plan({"portworx_node_source": "list", "portworx_node_addresses": ["10.1.0.5", "fd00::5"]})
    assert got["hosts"]["w2"]["sources"] == ["10.1.0.5/32", "fd00::5/128"]
    assert got["addresses"] == {"w1": ["10.0.0.11"], "w2": ["10.0.0.12"]}  # what verify probes: the inventory's


@pytest.mark.parametrize("values, message", [
    ({"portworx_node_source": "list"}, "portworx_node_source: 'list' needs portworx_node_addresses"),
    ({"portworx_node_source": "list", "portworx_node_addresses": ["10.1.0.0/24"]},
     "portworx_node_addresses: '10.1.0.0/24' is a network"),
    ({"portworx_node_source": "list", "portworx_node_addresses": ["::ffff:10.1.0.5"]},
     "portworx_node_addresses: "),
    ({"portworx_node_source": "nodes"}, "portworx_node_source"),
    ({"host_firewall_host": "ftp://admin:hunter2@10.0.0.1"}, "host_firewall_host: 'ftp://10.0.0.1' is not an API"),
    ({"host_firewall_api_key": ["hunter2"]}, "host_firewall_api_key"),
])
def test_node_source_bad_input(values, message):
    got = plan(values)
    assert any(message in e for e in got["errors"]), got
    assert "hunter2" not in repr(got)


def test_node_source_cluster_without_a_reader_is_refused():
    got = plan({"portworx_node_source": "cluster"})
    assert "cannot be read here" in got["errors"][0]


def test_extra_sources_are_checked_and_merged_once_for_every_host_that_shares_them():
    """200 hosts with 12,000 extra sources: once, not once per host (that took minutes)."""
    hosts = {"h%d" % i: {"ansible_host": "10.1.%d.%d" % (i // 250, i % 250 + 1)} for i in range(200)}
    extra = ["172.16.%d.%d/32" % (i // 200, (i % 200) + 1) for i in range(12000)]
    hfi._merged.cache_clear()
    saved = dict(GROUPS)
    GROUPS.update(workers=sorted(hosts), all=sorted(hosts))
    try:
        result = plan({"host_firewall_extra_sources": extra}, hosts=hosts, ssh_port=None)
    finally:
        GROUPS.clear()
        GROUPS.update(saved)
    assert hfi._merged.cache_info().misses == 1 and hfi._merged.cache_info().hits == 199
    args = result[0]["h7"] if isinstance(result, tuple) else result["hosts"]["h7"]
    assert "172.16.0.1/32" in args["sources"] and "10.1.0.1/32" in args["sources"]


def test_a_set_of_more_than_65536_members_is_made_large_enough():
    from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw

    assert fw.maxelem_option(65536) == ""
    assert fw.maxelem_option(65537) == " maxelem 131072"
    payload = fw.ipset_payload("CLUSTERGUARD-PX-v4", "ipv4", ["10.0.0.%d/32" % i for i in range(3)], False)
    assert "maxelem" not in payload
    members = ["10.%d.%d.%d/32" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(70000)]
    big = fw.ipset_payload("CLUSTERGUARD-PX-v4", "ipv4", members, True)
    assert big.startswith("create %s hash:net family inet maxelem 131072 -exist\n" % fw.swap_set_name(
        "CLUSTERGUARD-PX-v4"))
