"""The host_firewall_plan action, run with Ansible's own objects over an inventory shaped like
the lab's: every row of the bad-input matrix that the controller can judge is refused with an
error naming the variable and the value (and the host, where one host's value is bad), and no
host gets a plan; good input plans every host with the other workers as its sources."""

import os
import sys

import pytest

from harness import run_action

from ansible_collections.clusterguard.portworx.plugins.action import host_firewall_plan

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "cases"))
from host_firewall_bad_input import CASES  # noqa: E402  pylint: disable=wrong-import-position

WORKERS = {"w1": ("10.231.0.11", "fd42::11"), "w2": ("10.231.0.12", "fd42::12"), "w3": ("10.231.0.13", "fd42::13")}
COMMON = {"ansible_user": "root", "ansible_ssh_common_args": "-o StrictHostKeyChecking=no"}
# ansible-core checks the role's argument spec before the role's first task; for these values
# its words (the variable and the type) are what a user sees, and the action is never reached.
BY_ANSIBLE_SPEC = {"extra-ports-dict"}


def task_vars(extra, per_host=None, current="cgpx-w1"):
    """What the executor hands the action on ``current``: extra vars are in every host's
    hostvars (they beat the inventory), per-host values only in that host's."""
    hostvars = {}
    for w, (v4, v6) in WORKERS.items():
        name = "cgpx-%s" % w
        hostvars[name] = dict(COMMON, ansible_host=v4, node_ipv6=v6, lab_netns=name, inventory_hostname=name)
        hostvars[name].update((per_host or {}).get(w) or {})
        hostvars[name].update(extra)
    hosts = sorted(hostvars)
    out = dict(hostvars[current], hostvars=hostvars, groups={"workers": hosts, "all": hosts},
               ansible_play_hosts_all=hosts, ansible_play_batch=hosts, inventory_hostname=current)
    return out


def test_the_matrix_has_at_least_fifty_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)


# Rows with a setup run on a worker (a foreign chain or set of our name) are found by the read
# on that worker (port_firewall in check mode): tests/integration runs them.
CONTROLLER = [c for c in CASES if not c[3] and c[0] not in BY_ANSIBLE_SPEC]


# host_firewall_backend does not change what bad input is: every row is run on both back-ends
# (a row that names its back-end keeps it).
BACKENDS = ("iptables", "nftables")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CONTROLLER, ids=[c[0] for c in CONTROLLER])
def test_bad_input_is_refused_before_any_host_is_read(case, backend):
    _name, extra, per_host, _setup, expected = case
    extra = dict({"host_firewall_backend": backend}, **extra)
    result = run_action(host_firewall_plan, task_vars=task_vars(extra, per_host))
    assert result.get("failed"), result
    assert result["msg"].startswith("host_firewall: "), result["msg"]
    assert "hosts" not in result
    for word in expected:
        assert word in result["msg"], (word, result["msg"])


def test_good_input_plans_every_worker_with_the_others_as_sources():
    result = run_action(host_firewall_plan, task_vars=task_vars({}))
    assert not result.get("failed"), result
    assert sorted(result["hosts"]) == ["cgpx-w1", "cgpx-w2", "cgpx-w3"]
    w1 = result["hosts"]["cgpx-w1"]
    assert w1["state"] == "present" and w1["ports"] == ["9001-9023"] and w1["udp_ports"] == ["9002"], w1
    # the default address variable is ansible_host: the three workers, merged into the fewest CIDRs
    assert w1["sources"] == ["10.231.0.11/32", "10.231.0.12/31"], w1
    assert result["addresses"] == {"cgpx-w1": ["10.231.0.11"], "cgpx-w2": ["10.231.0.12"], "cgpx-w3": ["10.231.0.13"]}
    assert result["serial"] is False


def test_a_batch_smaller_than_the_play_is_serial():
    tv = task_vars({})
    tv["ansible_play_batch"] = ["cgpx-w1"]
    assert run_action(host_firewall_plan, task_vars=tv)["serial"] is True


def test_on_the_nftables_back_end_the_plan_is_the_same_but_for_the_back_end():
    iptables = run_action(host_firewall_plan, task_vars=task_vars({}))["hosts"]
    nftables = run_action(host_firewall_plan, task_vars=task_vars({"host_firewall_backend": "nftables"}))["hosts"]
    assert {h: p.pop("backend") for h, p in iptables.items()} == dict.fromkeys(iptables, "iptables")
    assert {h: p.pop("backend") for h, p in nftables.items()} == dict.fromkeys(nftables, "nftables")
    assert nftables == iptables
