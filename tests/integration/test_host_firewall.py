"""host_firewall and port_firewall on the lab workers: the cases the molecule
scenario does not cover. Real SSH, real iptables, real TCP."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, run_playbook

PLAY = "tests/integration/playbooks/host_firewall.yml"
LAB_NAME = "cgpx"


def netns(host, *cmd):
    return subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, host)] + list(cmd),
                          capture_output=True, text=True, check=False)


def reach(inventory, *extra):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "lab", "reachability.py"), inventory,
                           "--ports", "9001,9023", *extra], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def clean(inventory):
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})
    yield
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})


def test_unreachable_worker_fails_alone(inventory, clean):
    # Every process of w3's namespace: the listening sshd, and the session sshd
    # that serves Ansible's ControlPersist master connection.
    pids = subprocess.run(["ip", "netns", "pids", LAB_NAME + "-w3"], capture_output=True, text=True, check=True)
    for pid in pids.stdout.split():
        os.kill(int(pid), 15)
    try:
        out = run_playbook(PLAY, inventory, {}, expect_rc=4)
        assert re.search(r"cgpx-w3\s+: ok=\d+\s+changed=0\s+unreachable=1", out), out[-1500:]
        for host in ("w1", "w2"):
            assert re.search(r"cgpx-%s\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0" % host, out)
            assert "CLUSTERGUARD-PX" in netns(host, "iptables", "-S", "INPUT").stdout
        assert "CLUSTERGUARD-PX" not in netns("w3", "iptables", "-S", "INPUT").stdout
    finally:
        subprocess.run([os.path.join(ROOT, "tests", "lab", "workers.sh"), "up"], check=True, capture_output=True,
                       env=dict(os.environ, LAB_INVENTORY=os.path.join(ROOT, ".lab", LAB_NAME, "inventory.yml")))


def test_bad_input_stops_every_host_before_any_change(inventory, clean):
    out = run_playbook(PLAY, inventory, {"host_firewall_extra_sources": ["10.0.0.1/8"]}, expect_rc=2)
    assert "host_firewall_extra_sources" in out and "'10.0.0.1/8' has host bits set" in out
    out = run_playbook(PLAY, inventory, {"host_firewall_ports": ["9001-9022", "22"]}, expect_rc=2)
    assert "include 22, the SSH port" in out
    for host in ("w1", "w2", "w3"):
        assert "CLUSTERGUARD" not in netns(host, "iptables", "-S").stdout
    rc, table = reach(inventory, "--expect-open")
    assert rc == 0, table


def adhoc(inventory, host, args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", inventory, host,
                           "-m", "clusterguard.portworx.port_firewall", "-a", json.dumps(args)],
                          env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    return result


def test_module_refuses_to_cut_its_own_ssh_session(inventory, clean):
    result = adhoc(inventory, "cgpx-w1", {"ports": ["22", "9001-9022"], "sources": ["10.231.0.11/32"]})
    assert result.get("failed") and "the SSH port this run is connected on" in result["msg"]
    assert "CLUSTERGUARD" not in netns("w1", "iptables", "-S").stdout


def test_warns_when_the_other_backend_holds_rules(inventory, clean):
    netns("w1", "iptables-legacy", "-A", "INPUT", "-s", "192.0.2.1", "-j", "ACCEPT")
    try:
        result = adhoc(inventory, "cgpx-w1", {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"]})
        assert result["changed"] and result["backend"] == "nf_tables"
        assert any("both iptables back-ends hold rules" in w for w in result.get("warnings", []))
    finally:
        netns("w1", "iptables-legacy", "-F", "INPUT")


def test_without_ipset_one_rule_per_network_and_back(inventory, clean):
    args = {"ports": ["9001-9022"], "sources": ["10.231.0.12/32", "10.231.0.13/32", "10.9.0.0/24"], "ipset": "never"}
    result = adhoc(inventory, "cgpx-w1", args)
    # lo, the two merged networks (10.231.0.12/31, 10.9.0.0/24), the drop
    assert result["set_name"] is None and len(result["rules"]) == 4
    assert "CLUSTERGUARD" not in netns("w1", "ipset", "list", "-n").stdout
    assert adhoc(inventory, "cgpx-w1", args)["changed"] is False
    args["ipset"] = "always"
    result = adhoc(inventory, "cgpx-w1", args)
    assert result["changed"] and len(result["rules"]) == 3
    assert netns("w1", "ipset", "list", "CLUSTERGUARD-PX-v4").returncode == 0


def test_legacy_backend_is_used_when_the_host_uses_it(inventory, clean, tmp_path):
    # xtables-legacy-multi picks its program by name, so these links make a host
    # whose `iptables` is the legacy back-end, as after `update-alternatives --set iptables ...-legacy`.
    bindir = tmp_path / "legacy"
    bindir.mkdir()
    for name in ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"):
        (bindir / name).symlink_to(shutil.which(name.replace("tables", "tables-legacy", 1)))
    extra = {"target": "cgpx-w1", "path_prefix": str(bindir),
             "module_args": {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"]}}
    out = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
    assert "backend: legacy" in out
    try:
        assert "CLUSTERGUARD-PX" in netns("w1", "iptables-legacy", "-S", "INPUT").stdout
        assert "CLUSTERGUARD" not in netns("w1", "iptables-nft", "-S").stdout
        probe = subprocess.run(["ip", "netns", "exec", LAB_NAME + "-out", sys.executable,
                                os.path.join(ROOT, "tests", "lab", "probe.py"), "10.231.0.11:9001", "10.231.0.11:9023"],
                               capture_output=True, text=True, check=True).stdout
        assert [json.loads(line)["result"] for line in probe.splitlines()] == ["timeout", "open"]
        again = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
        assert re.search(r"cgpx-w1\s+: ok=2\s+changed=0", again)
    finally:
        extra["module_args"] = {"state": "absent"}
        run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
    assert "CLUSTERGUARD" not in netns("w1", "iptables-legacy", "-S").stdout
