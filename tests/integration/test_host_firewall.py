"""host_firewall and port_firewall on the lab workers. Real SSH, real iptables,
real TCP. The bad-input matrix is in test_host_firewall_bad_input.py, boot faults
in test_host_firewall_boot.py, serial and sudo in test_host_firewall_safety.py."""

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, persist_dir, run_playbook
from hostfw import LAB_NAME, PLAY, WORKERS, adhoc, inventory_with, lab_host, netns, probe, reach, snapshot

W = {"w1": "10.231.0.11", "w2": "10.231.0.12", "w3": "10.231.0.13"}


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


def json_run(inventory, extra, args=()):
    """Run the role with the json callback; {host: [(task name, result)]} of every task that ran."""
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
    out = run_playbook(PLAY, inventory, extra, env=env, args=args)
    data = json.loads(out[out.index("{"):])
    ran = {}
    for task in data["plays"][0]["tasks"]:
        for host, result in task["hosts"].items():
            if not result.get("skipped"):
                ran.setdefault(host, []).append((task["task"]["name"].split(" : ", 1)[-1], result))
    return ran, data["stats"]


def test_rerun_with_defaults_is_one_module_call_per_worker(inventory, clean):
    first, _stats = json_run(inventory, {})
    for host in WORKERS:
        calls = [r for name, r in first[lab_host(host)] if r.get("invocation", {}).get("module_args", {}).get("chain")]
        assert len(calls) == 2, first[lab_host(host)]  # the read, then the change
    again, stats = json_run(inventory, {})
    for host in WORKERS:
        remote = [name for name, r in again[lab_host(host)] if "invocation" in r]
        assert remote == ["Read the firewall of this host (nothing is changed yet)"], again[lab_host(host)]
        assert stats[lab_host(host)]["changed"] == 0


def test_check_mode_on_a_fresh_worker_reports_and_changes_nothing(inventory, clean):
    before = snapshot()
    out = run_playbook(PLAY, inventory, {}, check=True)
    for host in WORKERS:
        assert re.search(r"%s\s+: ok=\d+\s+changed=1\s" % lab_host(host), out), out[-2000:]
    assert "+-A CLUSTERGUARD-PX -m set --match-set CLUSTERGUARD-PX-v4 src" in out
    assert "/etc/clusterguard/CLUSTERGUARD-PX.v4.rules" in out
    assert snapshot() == before


def test_persisted_files_are_private(inventory, clean):
    run_playbook(PLAY, inventory, {})
    folder = persist_dir("w1")
    names = sorted(os.listdir(folder))
    assert names == ["CLUSTERGUARD-PX.v4.fallback.rules", "CLUSTERGUARD-PX.v4.ipset", "CLUSTERGUARD-PX.v4.rules",
                     "CLUSTERGUARD-PX.v6.fallback.rules", "CLUSTERGUARD-PX.v6.ipset", "CLUSTERGUARD-PX.v6.rules"]
    assert {oct(os.stat(os.path.join(folder, n)).st_mode & 0o777) for n in names} == {"0o640"}


def test_renaming_the_chain_removes_the_old_one(inventory, clean):
    run_playbook(PLAY, inventory, {"host_firewall_chain": "PX-OLD"})
    assert "PX-OLD" in netns("w1", "iptables", "-S").stdout
    run_playbook(PLAY, inventory, {"host_firewall_chain": "PX-NEW"})
    for host in WORKERS:
        for cmd in (["iptables", "-S"], ["ip6tables", "-S"], ["ipset", "list", "-n"]):
            text = netns(host, *cmd).stdout
            assert "PX-OLD" not in text and "PX-NEW" in text, (host, cmd, text)
        assert not [n for n in os.listdir(persist_dir(host)) if n.startswith("PX-OLD")]
    rc, table = reach(inventory, "--expect-guarded", "9001-9023")
    assert rc == 0, table


@pytest.mark.parametrize("ipset", ["always", "never"])
def test_longest_chain_name(inventory, clean, ipset):
    chain = "P" * 28
    out = run_playbook(PLAY, inventory, {"host_firewall_chain": chain, "host_firewall_ipset": ipset})
    assert "failed=0" in out
    assert ("%s-v4" % chain in netns("w2", "ipset", "list", "-n").stdout) == (ipset == "always")
    rc, table = reach(inventory, "--expect-guarded", "9001-9023")
    assert rc == 0, table
    again = run_playbook(PLAY, inventory, {"host_firewall_chain": chain, "host_firewall_ipset": ipset})
    assert re.search(r"cgpx-w2\s+: ok=\d+\s+changed=0", again)


def test_chain_of_version_1_0_0_is_adopted(inventory, clean):
    old = ("*filter\n:CLUSTERGUARD-PX - [0:0]\n-A CLUSTERGUARD-PX -i lo -j RETURN\n"
           "-A CLUSTERGUARD-PX -s 10.231.0.12/31 -j RETURN\n"
           "-A CLUSTERGUARD-PX -p tcp -m multiport --dports 9001:9022 -j DROP\n-I INPUT 1 -j CLUSTERGUARD-PX\nCOMMIT\n")
    subprocess.run(["ip", "netns", "exec", lab_host("w1"), "iptables-restore", "--noflush"], input=old, text=True,
                   check=True)
    run_playbook(PLAY, inventory, {})
    rules = netns("w1", "iptables", "-S").stdout
    assert rules.count("-j CLUSTERGUARD-PX") == 1 and '-m comment --comment "clusterguard.portworx" -j CLUSTERGUARD-PX' in rules
    assert "-A CLUSTERGUARD-PX -s 10.231.0.12/31 -j RETURN" not in rules


def test_absent_removes_everything_whatever_persist_says(inventory, clean):
    run_playbook(PLAY, inventory, {})
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent", "host_firewall_persist": False,
                                   "host_firewall_boot_unit": False})
    for host in WORKERS:
        assert "clusterguard" not in (netns(host, "iptables-save").stdout + netns(host, "ip6tables-save").stdout).lower()
        assert "CLUSTERGUARD" not in netns(host, "ipset", "list", "-n").stdout
        assert os.listdir(persist_dir(host)) == []


def test_persist_false_removes_the_files(inventory, clean):
    run_playbook(PLAY, inventory, {})
    out = run_playbook(PLAY, inventory, {"host_firewall_persist": False})
    assert re.search(r"cgpx-w1\s+: ok=\d+\s+changed=1", out)
    assert os.listdir(persist_dir("w1")) == []
    assert "CLUSTERGUARD-PX" in netns("w1", "iptables", "-S", "INPUT").stdout


def test_coexistence_with_jumps_inserted_above_ours(inventory, clean):
    """Felix (insert mode) and kube-router put their jump at the top of INPUT after we ran."""
    run_playbook(PLAY, inventory, {})
    for host in WORKERS:
        netns(host, "sh", "-c", "iptables -w -N cali-INPUT && iptables -w -A cali-INPUT -p tcp --dport 179 -j ACCEPT"
                                " && iptables -w -I INPUT 1 -m comment --comment cali:Cz_u1IQiXIMmKD4c -j cali-INPUT"
                                " && iptables -w -N KUBE-SERVICES && iptables -w -I INPUT 1 -m conntrack --ctstate NEW"
                                " -j KUBE-SERVICES", check=True)
    try:
        before = snapshot()
        out = run_playbook(PLAY, inventory, {})
        for host in WORKERS:
            assert re.search(r"%s\s+: ok=\d+\s+changed=0" % lab_host(host), out), out[-1500:]
        assert snapshot() == before
        rc, table = reach(inventory, "--expect-guarded", "9001-9023")
        assert rc == 0, table
    finally:
        for host in WORKERS:
            netns(host, "sh", "-c", "iptables -w -D INPUT -m comment --comment cali:Cz_u1IQiXIMmKD4c -j cali-INPUT;"
                                    " iptables -w -F cali-INPUT; iptables -w -X cali-INPUT;"
                                    " iptables -w -D INPUT -m conntrack --ctstate NEW -j KUBE-SERVICES;"
                                    " iptables -w -X KUBE-SERVICES")


def test_management_address_is_not_an_allowed_source(inventory, clean, tmp_path):
    # Each worker has a cluster address (node_ip) and, listed after it, a management address of the
    # same family: per family the first variable wins, so the management addresses stay out.
    extra = inventory_with(tmp_path, "mgmt.yml", {h: {"node_ip": W[h], "mgmt_ip": "10.231.0.%d" % (90 + i)}
                                                  for i, h in enumerate(WORKERS)})
    run_playbook(PLAY, [inventory, extra], {"portworx_node_address_vars": ["node_ip", "mgmt_ip", "node_ipv6"]})
    members = netns("w1", "ipset", "list", "CLUSTERGUARD-PX-v4").stdout
    assert "10.231.0.11" in members and not re.search(r"10\.231\.0\.9\d", members), members


def test_packages_are_installed_only_where_a_command_is_missing(inventory, clean):
    # Hide ipset from w2's SSH sessions only: a bind mount in its sshd's mount namespace.
    sshd = open(os.path.join(ROOT, ".lab", LAB_NAME, "run", "w2.sshd.pid")).read().strip()
    hide = ["nsenter", "-t", sshd, "-m", "mount", "--bind", "/dev/null", "/usr/sbin/ipset"]
    subprocess.run(hide, check=True)
    try:
        ran, _stats = json_run(inventory, {})
        installs = {h: [r for n, r in ran.get(lab_host(h), []) if n.startswith("Install the firewall commands")] for h in WORKERS}
        assert installs["w1"] == [] and installs["w3"] == []
        assert len(installs["w2"]) == 1 and installs["w2"][0]["invocation"]["module_args"]["name"] == ["ipset"]
        found = [r for n, r in ran[lab_host("w2")] if n.startswith("Read the firewall")][0]
        assert found["missing_packages"] == ["ipset"]
    finally:
        subprocess.run(["nsenter", "-t", sshd, "-m", "umount", "/usr/sbin/ipset"], check=True)


def test_module_refuses_to_cut_its_own_ssh_session(inventory, clean):
    result = adhoc(inventory, "cgpx-w1", {"ports": ["22", "9001-9022"], "sources": ["10.231.0.11/32"]})
    assert result.get("failed") and "the SSH port this run is connected on" in result["msg"]
    assert "CLUSTERGUARD" not in netns("w1", "iptables", "-S").stdout


def test_foreign_chain_of_our_name_is_refused_and_kept(inventory, clean):
    netns("w1", "sh", "-c", "iptables -w -N LAB-OWNED && iptables -w -A LAB-OWNED -j RETURN", check=True)
    try:
        before = netns("w1", "iptables", "-S").stdout
        result = adhoc(inventory, "cgpx-w1", {"chain": "LAB-OWNED", "ports": ["9001-9022"]})
        assert result.get("failed") and "LAB-OWNED already exists on this host and is not ours" in result["msg"]
        assert netns("w1", "iptables", "-S").stdout == before
    finally:
        netns("w1", "sh", "-c", "iptables -w -F LAB-OWNED; iptables -w -X LAB-OWNED")


def test_warns_when_the_other_backend_holds_rules(inventory, clean):
    netns("w1", "iptables-legacy", "-A", "INPUT", "-s", "192.0.2.1", "-j", "ACCEPT")
    try:
        result = adhoc(inventory, "cgpx-w1", {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"]})
        assert result["changed"] and result["backend"] == "nf_tables"
        assert any("both iptables back-ends hold rules" in w for w in result.get("warnings", []))
    finally:
        netns("w1", "iptables-legacy", "-F", "INPUT")


def test_without_ipset_one_rule_per_network_and_back(inventory, clean):
    args = {"ports": ["9001-9022"], "sources": ["10.231.0.12/32", "10.231.0.13/32", "10.9.0.0/24"], "ipset": "never",
            "ip_versions": ["ipv4"]}
    result = adhoc(inventory, "cgpx-w1", args)
    # lo, the two merged networks (10.231.0.12/31, 10.9.0.0/24), the drop
    assert result["set_name"] is None and len(result["rules"]) == 4
    assert "CLUSTERGUARD" not in netns("w1", "ipset", "list", "-n").stdout
    assert adhoc(inventory, "cgpx-w1", args)["changed"] is False
    args["ipset"] = "always"
    result = adhoc(inventory, "cgpx-w1", args)
    assert result["changed"] and len(result["rules"]) == 3
    assert netns("w1", "ipset", "list", "CLUSTERGUARD-PX-v4").returncode == 0
    args["ipset"] = "never"
    assert adhoc(inventory, "cgpx-w1", args)["changed"]
    assert "CLUSTERGUARD" not in netns("w1", "ipset", "list", "-n").stdout


def test_ipv6_off_where_ip6tables_cannot_run(inventory, clean, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("ip6tables", "ip6tables-save", "ip6tables-restore"):
        (bindir / name).write_text("#!/bin/sh\necho 'ip6tables: no kernel support' >&2\nexit 3\n")
        (bindir / name).chmod(0o755)
    extra = {"target": "cgpx-w1", "path_prefix": str(bindir),
             "module_args": {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"], "ip_versions": ["ipv4"]}}
    out = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
    assert "changed=1" in out and "CLUSTERGUARD-PX" in netns("w1", "iptables", "-S", "INPUT").stdout
    extra["module_args"]["ip_versions"] = ["ipv4", "ipv6"]
    out = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra, expect_rc=2)
    assert "ip6tables cannot run on this host" in out and "host_firewall_ipv6: false" in out


def test_legacy_backend_is_used_when_the_host_uses_it(inventory, clean, tmp_path):
    # xtables-legacy-multi picks its program by name, so these links make a host
    # whose `iptables` is the legacy back-end, as after `update-alternatives --set iptables ...-legacy`.
    bindir = tmp_path / "legacy"
    bindir.mkdir()
    for name in ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"):
        (bindir / name).symlink_to(shutil.which(name.replace("tables", "tables-legacy", 1)))
    extra = {"target": "cgpx-w1", "path_prefix": str(bindir),
             "module_args": {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"], "persist": False}}
    out = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
    assert "backend: legacy" in out
    try:
        assert "CLUSTERGUARD-PX" in netns("w1", "iptables-legacy", "-S", "INPUT").stdout
        assert "CLUSTERGUARD" not in netns("w1", "iptables-nft", "-S").stdout
        got = probe("out", "10.231.0.11:9001", "10.231.0.11:9023")
        assert got == {"10.231.0.11:9001": "timeout", "10.231.0.11:9023": "open"}
        again = run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
        assert re.search(r"cgpx-w1\s+: ok=2\s+changed=0", again)
    finally:
        extra["module_args"] = {"state": "absent"}
        run_playbook("tests/integration/playbooks/port_firewall.yml", inventory, extra)
    assert "CLUSTERGUARD" not in netns("w1", "iptables-legacy", "-S").stdout
