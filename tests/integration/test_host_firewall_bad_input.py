"""The bad-input matrix of host_firewall, run through the role on the lab workers.

The workers start guarded by a good run. Every case then runs the role with one
bad value and must: fail (rc != 0), name the variable and the bad value, show no
Python traceback, and leave iptables-save, ip6tables-save and ipset save of
every worker exactly as they were."""

import pytest

from conftest import run_playbook
from hostfw import PLAY, inventory_with, netns, snapshot

SERIAL = "tests/integration/playbooks/host_firewall_serial.yml"

# (id, extra vars, {worker: host vars}, shell run in each listed worker first, what the error must say)
CASES = [
    ("state-typo", {"host_firewall_state": "presnt"}, None, None, ["host_firewall_state", "presnt"]),
    ("state-number", {"host_firewall_state": 1}, None, None, ["host_firewall_state", "1"]),
    ("ports-renamed", {"host_firewall_ports": ["9001-9022"]}, None, None,
     ["host_firewall_ports", "replaced in 3.0.0", "portworx_start_port"]),
    ("addrvars-renamed", {"host_firewall_node_address_vars": ["ansible_host"]}, None, None,
     ["host_firewall_node_address_vars", "replaced in 3.0.0", "portworx_node_address_vars"]),
    ("extra-ports-string", {"portworx_extra_ports": "9024"}, None, None, ["portworx_extra_ports", "'9024'"]),
    ("extra-ports-typo", {"portworx_extra_ports": ["90x4"]}, None, None, ["portworx_extra_ports", "90x4"]),
    ("extra-ports-zero", {"portworx_extra_ports": ["0"]}, None, None, ["portworx_extra_ports", "'0'"]),
    ("extra-ports-too-high", {"portworx_extra_ports": ["70000"]}, None, None, ["portworx_extra_ports", "70000"]),
    ("extra-ports-backwards", {"portworx_extra_ports": ["9030-9024"]}, None, None,
     ["portworx_extra_ports", "9030-9024"]),
    ("extra-ports-bool", {"portworx_extra_ports": [True]}, None, None, ["portworx_extra_ports", "True"]),
    # ansible-core's own argument check runs before the role's first task and answers a mapping
    # given for a list in its own words: the variable and the type, not the value.
    ("extra-ports-dict", {"portworx_extra_ports": {"from": 9001}}, None, None, ["portworx_extra_ports", "type dict"]),
    ("extra-ports-ssh", {"portworx_extra_ports": ["22"]}, None, None, ["portworx_extra_ports", "22", "SSH port"]),
    ("extra-ports-ssh-range", {"portworx_extra_ports": ["1-1024"]}, None, None,
     ["portworx_extra_ports", "1-1024", "SSH"]),
    ("ports-ssh-port-var", {}, {"w2": {"ansible_port": 9010}}, None, ["portworx_start_port", "9010", "cgpx-w2"]),
    ("start-port-zero", {"portworx_start_port": 0}, None, None, ["portworx_start_port", "0", "1 to 65513"]),
    ("start-port-high", {"portworx_start_port": 65600}, None, None, ["portworx_start_port", "65600"]),
    ("version-word", {"portworx_version": "latest"}, None, None, ["portworx_version", "latest"]),
    ("source-typo", {"portworx_source": "operator"}, None, None, ["portworx_source", "operator"]),
    ("protocols-icmp", {"host_firewall_protocols": ["icmp"]}, None, None, ["host_firewall_protocols", "icmp"]),
    ("protocols-string", {"host_firewall_protocols": "tcp"}, None, None, ["host_firewall_protocols", "'tcp'"]),
    ("protocols-empty", {"host_firewall_protocols": []}, None, None, ["host_firewall_protocols", "[]"]),
    ("group-missing", {"portworx_workers_group": "nosuchgroup"}, None, None,
     ["portworx_workers_group", "nosuchgroup"]),
    ("group-list", {"portworx_workers_group": ["workers"]}, None, None,
     ["portworx_workers_group: [", "workers", "must be a string"]),
    ("addrvars-empty", {"portworx_node_address_vars": []}, None, None, ["portworx_node_address_vars", "[]"]),
    ("addrvars-string", {"portworx_node_address_vars": "ansible_host"}, None, None,
     ["portworx_node_address_vars", "'ansible_host'"]),
    ("addrvars-badname", {"portworx_node_address_vars": ["bad-name!"]}, None, None,
     ["portworx_node_address_vars", "bad-name!"]),
    ("addrvars-not-ip", {"portworx_node_address_vars": ["lab_netns"]}, None, None, ["lab_netns", "cgpx-w1"]),
    ("node-ip-network", {"portworx_node_address_vars": ["node_ip", "ansible_host"]},
     {"w2": {"node_ip": "10.231.0.16/28"}}, None, ["node_ip", "10.231.0.16/28", "is a network"]),
    ("node-ip-mapped", {"portworx_node_address_vars": ["node_ip", "ansible_host"]},
     {"w2": {"node_ip": "::ffff:10.231.0.12"}}, None, ["node_ip", "::ffff:10.231.0.12", "IPv4-mapped"]),
    ("node-ip-loopback", {"portworx_node_address_vars": ["node_ip"]},
     {"w1": {"node_ip": "127.0.0.1"}}, None, ["node_ip", "127.0.0.1", "loopback"]),
    ("node-ip-unspecified", {"portworx_node_address_vars": ["node_ip", "ansible_host"]},
     {"w3": {"node_ip": "0.0.0.0"}}, None, ["node_ip", "0.0.0.0"]),
    ("node-ip-multicast", {"portworx_node_address_vars": ["node_ip", "ansible_host"]},
     {"w3": {"node_ip": "224.0.0.5"}}, None, ["node_ip", "224.0.0.5"]),
    ("node-ip-number", {"portworx_node_address_vars": ["node_ip", "ansible_host"]},
     {"w1": {"node_ip": 42}}, None, ["node_ip", "42"]),
    ("extra-world-v4", {"host_firewall_extra_sources": ["0.0.0.0/0"]}, None, None,
     ["host_firewall_extra_sources", "0.0.0.0/0", "host_firewall_allow_wide_sources"]),
    ("extra-world-v6", {"host_firewall_extra_sources": ["::/0"]}, None, None, ["host_firewall_extra_sources", "'::/0'"]),
    ("extra-wide-v4", {"host_firewall_extra_sources": ["10.0.0.0/8"]}, None, None,
     ["host_firewall_extra_sources", "10.0.0.0/8", "/12"]),
    ("extra-wide-v6", {"host_firewall_extra_sources": ["2001:db8::/32"]}, None, None,
     ["host_firewall_extra_sources", "2001:db8::/32", "/48"]),
    ("extra-mapped", {"host_firewall_extra_sources": ["::ffff:10.0.0.1"]}, None, None,
     ["host_firewall_extra_sources", "::ffff:10.0.0.1", "IPv4-mapped"]),
    ("extra-hostbits", {"host_firewall_extra_sources": ["10.0.0.1/16"]}, None, None,
     ["host_firewall_extra_sources", "10.0.0.1/16", "host bits"]),
    ("extra-octet", {"host_firewall_extra_sources": ["10.0.0.256"]}, None, None, ["host_firewall_extra_sources", "10.0.0.256"]),
    ("extra-name", {"host_firewall_extra_sources": ["bastion.example"]}, None, None,
     ["host_firewall_extra_sources", "bastion.example"]),
    ("extra-string", {"host_firewall_extra_sources": "10.0.0.1"}, None, None, ["host_firewall_extra_sources", "'10.0.0.1'"]),
    ("extra-empty-item", {"host_firewall_extra_sources": [""]}, None, None, ["host_firewall_extra_sources", "''"]),
    ("allow-wide-word", {"host_firewall_allow_wide_sources": "perhaps"}, None, None,
     ["host_firewall_allow_wide_sources", "perhaps"]),
    ("ipv6-word", {"host_firewall_ipv6": "maybe"}, None, None, ["host_firewall_ipv6", "maybe"]),
    ("chain-bang", {"host_firewall_chain": "DOCKER-USER!"}, None, None, ["host_firewall_chain", "DOCKER-USER!"]),
    ("chain-builtin", {"host_firewall_chain": "INPUT"}, None, None, ["host_firewall_chain", "INPUT", "reserves"]),
    ("chain-target", {"host_firewall_chain": "accept"}, None, None, ["host_firewall_chain", "accept", "reserves"]),
    ("chain-29", {"host_firewall_chain": "C" * 29}, None, None, ["host_firewall_chain", "C" * 29]),
    ("chain-empty", {"host_firewall_chain": ""}, None, None, ["host_firewall_chain", "''"]),
    ("chain-space", {"host_firewall_chain": "CLUSTER GUARD"}, None, None, ["host_firewall_chain", "CLUSTER GUARD"]),
    ("chain-unicode", {"host_firewall_chain": "GARDE-ÉTÉ"}, None, None, ["host_firewall_chain", "GARDE-"]),
    # a name another tool uses is refused whether or not that tool runs (Docker adopts a DOCKER-USER it finds)
    ("chain-docker-user", {"host_firewall_chain": "DOCKER-USER"}, None, None,
     ["host_firewall_chain", "DOCKER-USER", "Docker"]),
    ("chain-kube", {"host_firewall_chain": "KUBE-FAKE"}, None, None, ["host_firewall_chain", "KUBE-FAKE", "KUBE-"]),
    ("chain-option", {"host_firewall_chain": "-F"}, None, None, ["host_firewall_chain", "'-F'", "not starting with"]),
    ("chain-newline", {"host_firewall_chain": "X\n"}, None, None, ["host_firewall_chain", "'X\\n'"]),
    ("chain-foreign-empty", {"host_firewall_chain": "LAB-FAKE"}, None, {"w3": "iptables -w -N LAB-FAKE"},
     ["host_firewall_chain", "LAB-FAKE", "empty"]),
    ("chain-foreign-v6", {"host_firewall_chain": "LAB-V6X"}, None,
     {"w1": "ip6tables -w -N LAB-V6X && ip6tables -w -A LAB-V6X -j ACCEPT"},
     ["host_firewall_chain", "LAB-V6X", "not ours", "ip6tables"]),
    ("set-other-type", {"host_firewall_chain": "CGTYPE"}, None, {"w3": "ipset create CGTYPE-v4 hash:net,port"},
     ["host_firewall_chain", "CGTYPE-v4", "hash:net,port"]),
    ("set-list", {"host_firewall_chain": "CGLIST"}, None, {"w1": "ipset create CGLIST-v6 list:set"},
     ["host_firewall_chain", "CGLIST-v6", "list:set"]),
    ("set-other-family", {"host_firewall_chain": "CGFAM"}, None, {"w2": "ipset create CGFAM-v4 hash:net family inet6"},
     ["host_firewall_chain", "CGFAM-v4", "inet6"]),
    ("ipset-word", {"host_firewall_ipset": "sometimes"}, None, None, ["host_firewall_ipset", "sometimes"]),
    ("persist-dir-relative", {"host_firewall_persist_dir": "etc/clusterguard"}, None, None,
     ["host_firewall_persist_dir", "etc/clusterguard"]),
    ("persist-dir-space", {"host_firewall_persist_dir": "/etc/cluster guard"}, None, None,
     ["host_firewall_persist_dir", "/etc/cluster guard"]),
    ("persist-dir-dotdot", {"host_firewall_persist_dir": "/etc/../root"}, None, None,
     ["host_firewall_persist_dir", "/etc/../root"]),
    ("persist-dir-empty", {"host_firewall_persist_dir": ""}, None, None, ["host_firewall_persist_dir", "''"]),
    ("persist-dir-newline", {"host_firewall_persist_dir": "/etc/clusterguard\n"}, None, None,
     ["host_firewall_persist_dir", "no newline"]),
    ("persist-dir-proc", {"host_firewall_persist_dir": "/proc/clusterguard"}, None, None,
     ["host_firewall_persist_dir", "/proc/clusterguard", "reboot"]),
    ("persist-dir-double-slash", {"host_firewall_persist_dir": "//etc/clusterguard"}, None, None,
     ["host_firewall_persist_dir", "//etc/clusterguard", "'//'"]),
    ("persist-word", {"host_firewall_persist": "nah"}, None, None, ["host_firewall_persist", "nah"]),
    ("boot-unit-word", {"host_firewall_boot_unit": "sure"}, None, None, ["host_firewall_boot_unit", "sure"]),
    ("install-word", {"host_firewall_install_packages": "yes please"}, None, None,
     ["host_firewall_install_packages", "yes please"]),
    ("last-host-only", {}, {"w3": {"host_firewall_extra_sources": ["0.0.0.0/0"]}}, None,
     ["host_firewall_extra_sources", "0.0.0.0/0", "cgpx-w3"]),
]

UNDO = {
    "chain-foreign-empty": {"w3": "iptables -w -X LAB-FAKE"},
    "chain-foreign-v6": {"w1": "ip6tables -w -F LAB-V6X; ip6tables -w -X LAB-V6X"},
    "set-other-type": {"w3": "ipset destroy CGTYPE-v4"},
    "set-list": {"w1": "ipset destroy CGLIST-v6"},
    "set-other-family": {"w2": "ipset destroy CGFAM-v4"},
}


def error_text(out):
    """The error itself: from the failed task to the end, without ansible-core's dump of the spec."""
    text = out[out.index("fatal: "):]
    return text.split("argument_spec_data:")[0] + text[text.index("PLAY RECAP"):] if "argument_spec_data:" in text else text


def test_the_matrix_has_at_least_fifty_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def guarded(inventory):
    run_playbook(PLAY, inventory, {})
    yield
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_host_changes(case, inventory, guarded, tmp_path):
    name, extra, hostvars, setup, expected = case
    inventories = [inventory] + ([inventory_with(tmp_path, "case.yml", hostvars)] if hostvars else [])
    for host, command in (setup or {}).items():
        netns(host, "sh", "-c", command, check=True)
    try:
        before = snapshot()
        for playbook in (PLAY, SERIAL) if name == "last-host-only" else (PLAY,):
            out = run_playbook(playbook, inventories, extra, expect_rc=2)  # rc 2: a task failed
            assert "PLAY RECAP" in out and "failed=1" in out, out[-3000:]
            assert "Traceback" not in out, out[-3000:]
            error = error_text(out)
            for word in expected:
                assert word in error, (word, error)
            assert snapshot() == before
    finally:
        for host, command in UNDO.get(name, {}).items():
            netns(host, "sh", "-c", command)
