"""Fail closed, on the lab workers with real files, real iptables of both back-ends, real
locks and real processes at once: files are never written through a link or into a
directory others may write, runs at once end as one of them, a chain that is not ours is
never taken or emptied, a copy of ours in the other back-end is found, and a set larger
than ipset's default holds every source."""

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, persist_dir, run_playbook
from hostfw import PLAY, adhoc, lab_host, netns

FILES = persist_dir("w1")
LAB = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"]}


def test_a_link_in_the_persist_directory_is_replaced_never_followed(inventory, clean):
    """A link where our rules file goes, pointing at a file root owns: after the run that file is
    as it was and our rules file is a plain file of ours."""
    victim = os.path.join(os.path.dirname(FILES), "victim")
    with open(victim, "w") as handle:
        handle.write("root's own file\n")
    link = os.path.join(FILES, "CLUSTERGUARD-PX.v4.rules")
    os.makedirs(FILES, exist_ok=True)
    os.symlink(victim, link)
    try:
        run_playbook(PLAY, inventory, LAB, args=("--limit", lab_host("w1")))
        assert open(victim).read() == "root's own file\n"
        assert not os.path.islink(link) and open(link).readline().startswith("# clusterguard.portworx host_firewall")
    finally:
        os.remove(victim)


@pytest.mark.parametrize("change, words", [("chmod 0777", "writable by group and others"),
                                           ("chown 1000", "owned by uid 1000, not root")])
def test_a_persist_directory_others_control_is_refused_naming_it(change, words, inventory, clean):
    os.makedirs(FILES, exist_ok=True)
    before = netns("w1", "iptables", "-S").stdout
    subprocess.run(change.split() + [FILES], check=True)
    try:
        out = run_playbook(PLAY, inventory, LAB, args=("--limit", lab_host("w1")), expect_rc=2)
        assert "/etc/clusterguard" in out and words in out and "nothing was changed" in out
        assert netns("w1", "iptables", "-S").stdout == before
    finally:
        subprocess.run(["chown", "0", FILES], check=True)
        subprocess.run(["chmod", "0750", FILES], check=True)


def plain(networks):
    """Networks as ipset lists them: a single address without /32."""
    return sorted(n[:-3] if n.endswith("/32") else n for n in networks)


def merged(networks):
    """Networks as the role writes them: merged where they touch (10.99.2.0/24 and 10.99.3.0/24 are 10.99.2.0/23)."""
    return plain(str(n) for n in ipaddress.collapse_addresses(ipaddress.ip_network(n) for n in networks))


def test_merged_is_the_role_s_merge():
    assert merged(["10.99.2.0/24", "10.99.3.0/24"]) == ["10.99.2.0/23"]
    assert merged(["10.99.4.1/32", "10.99.4.3/32"]) == ["10.99.4.1", "10.99.4.3"]


def live_sources(host):
    """The allowed IPv4 sources of our chain, live (its -s rules or its set)."""
    rules = netns(host, "iptables", "-S", "CLUSTERGUARD-PX").stdout.splitlines()
    out = [r.split()[r.split().index("-s") + 1] for r in rules if " -s " in r]
    for rule in rules:
        if "--match-set" in rule:
            name = rule.split()[rule.split().index("--match-set") + 1]
            out += netns(host, "ipset", "list", name).stdout.split("Members:\n", 1)[1].split()
    return plain(out)


def persisted_sources():
    text = open(os.path.join(FILES, "CLUSTERGUARD-PX.v4.fallback.rules")).read() if os.path.exists(
        os.path.join(FILES, "CLUSTERGUARD-PX.v4.fallback.rules")) else open(
        os.path.join(FILES, "CLUSTERGUARD-PX.v4.rules")).read()
    return plain(w.split()[w.split().index("-s") + 1] for w in text.splitlines() if " -s " in w)


def test_runs_at_once_end_as_the_last_run_left_them(inventory, clean):
    """Three runs at once with different sources: one holds the lock at a time, and afterwards
    the live chain, the persisted files and the last run's input agree (2.2.0: two jumps, and
    one source live against 3,000 persisted). The last run is the one that took the lock last,
    which the order the three ansible-playbook processes end in does not tell: under load, a
    run that wrote first can end last (fresh24). So every run must have written (each found
    the chain bare or holding another run's sources), and the chain must hold one run's
    sources whole and nothing of the others'."""
    extras = {"a": ["10.99.1.0/24"], "b": ["10.99.2.0/24", "10.99.3.0/24"],
              "c": ["10.99.%d.%d/32" % (4 + i // 250, i % 250 + 1) for i in range(0, 3000, 2)]}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"))
    runs = {}
    for name, extra in extras.items():
        runs[name] = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, PLAY, "--limit",
             lab_host("w1"), "-e", json.dumps(dict(LAB, host_firewall_extra_sources=extra))],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = {name: proc.communicate()[0] for name, proc in runs.items()}
    assert all(proc.returncode == 0 for proc in runs.values()), outputs
    wrote = re.compile(r"^%s\s+: ok=\d+\s+changed=[1-9]" % re.escape(lab_host("w1")), re.M)
    assert [name for name, out in outputs.items() if not wrote.search(out)] == [], outputs
    live, kept = live_sources("w1"), persisted_sources()
    assert live == kept, (len(live), len(kept))
    # the role merges b's two networks into one
    last = [name for name, extra in extras.items() if set(merged(extra)) <= set(live)]
    assert len(last) == 1, (last, live[:5])
    assert not [e for n, ex in extras.items() if n != last[0] for e in merged(ex) if e in live]
    jumps = [r for r in netns("w1", "iptables", "-S", "INPUT").stdout.splitlines() if "CLUSTERGUARD-PX" in r]
    assert len(jumps) == 1, jumps


def test_a_run_that_cannot_get_the_lock_fails_naming_it(inventory, clean):
    run_playbook(PLAY, inventory, LAB, args=("--limit", lab_host("w1")))
    # its own session, so that the kill below reaches the sleep that holds the lock, not only flock
    # (the teardown's run waited out the sleep for the lock)
    holder = subprocess.Popen(["ip", "netns", "exec", lab_host("w1"), "flock", "/etc/clusterguard", "sleep", "30"],
                              start_new_session=True)
    try:
        time.sleep(0.5)
        before = netns("w1", "iptables", "-S").stdout
        result = adhoc(inventory, lab_host("w1"), {"ports": ["9001-9023"], "sources": ["10.231.0.12/32"],
                                                   "lock_timeout": 2})
        assert result.get("failed") and "holds the lock on /etc/clusterguard (pid " in result["msg"], result
        assert "nothing was changed" in result["msg"] and netns("w1", "iptables", "-S").stdout == before
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def test_a_foreign_chain_behind_a_marked_jump_is_refused_and_kept(inventory, clean):
    """2.2.0 flushed and deleted it, its SSH ACCEPT included."""
    netns("w1", "sh", "-c", "iptables -w -N LAB-SSH && iptables -w -A LAB-SSH -p tcp --dport 22 -j ACCEPT && "
          "iptables -w -I INPUT -m comment --comment clusterguard.portworx -j LAB-SSH", check=True)
    try:
        before = netns("w1", "iptables", "-S").stdout
        for state in ("present", "absent"):
            result = adhoc(inventory, lab_host("w1"), {"ports": ["9001-9023"], "sources": ["10.231.0.12/32"],
                                                       "state": state})
            assert result.get("failed") and "LAB-SSH holds rules without it" in result["msg"], result
            assert "--dport 22 -j ACCEPT" in result["msg"] and netns("w1", "iptables", "-S").stdout == before
    finally:
        netns("w1", "sh", "-c", "iptables -w -D INPUT -m comment --comment clusterguard.portworx -j LAB-SSH; "
              "iptables -w -F LAB-SSH; iptables -w -X LAB-SSH")


def test_our_chain_that_another_rule_uses_is_named_not_busy(inventory, clean):
    """2.2.0 failed every run, absent included, with CHAIN_DEL ... busy."""
    run_playbook(PLAY, inventory, LAB, args=("--limit", lab_host("w1")))
    netns("w1", "iptables", "-w", "-A", "FORWARD", "-j", "CLUSTERGUARD-PX", check=True)
    try:
        result = adhoc(inventory, lab_host("w1"), {"state": "absent"})
        assert result.get("failed") and "-A FORWARD -j CLUSTERGUARD-PX" in result["msg"], result
        assert "busy" not in result["msg"] and "CLUSTERGUARD-PX" in netns("w1", "iptables", "-S", "INPUT").stdout
        # a run that keeps the chain is not disturbed by the reference
        assert not run_playbook(PLAY, inventory, LAB, args=("--limit", lab_host("w1"))).count("FAILED")
    finally:
        netns("w1", "iptables", "-w", "-D", "FORWARD", "-j", "CLUSTERGUARD-PX")


def test_a_copy_of_our_chain_in_the_legacy_back_end_is_named_and_removed_by_absent(inventory, clean):
    """Packets meet both back-ends: 2.2.0's absent reported success while the legacy copy still dropped."""
    for cmd in ("iptables-legacy", "ip6tables-legacy"):
        netns("w1", "sh", "-c", "%s -w -N CLUSTERGUARD-PX && %s -w -A CLUSTERGUARD-PX -p tcp --dport 9001 -m comment "
              "--comment clusterguard.portworx -j DROP && %s -w -I INPUT -m comment --comment clusterguard.portworx "
              "-j CLUSTERGUARD-PX" % (cmd, cmd, cmd), check=True)
    try:
        result = adhoc(inventory, lab_host("w1"), {"ports": ["9001-9023"], "sources": ["10.231.0.12/32"]})
        warnings = " ".join(result.get("warnings", []))
        assert "iptables-legacy also holds a chain of ours (CLUSTERGUARD-PX)" in warnings, result
        assert "ip6tables-legacy also holds a chain of ours" in warnings
        result = adhoc(inventory, lab_host("w1"), {"state": "absent"})
        assert result["changed"] and not result.get("failed"), result
        for cmd in ("iptables-legacy", "ip6tables-legacy"):
            assert "CLUSTERGUARD" not in netns("w1", cmd + "-save").stdout, cmd
        assert adhoc(inventory, lab_host("w1"), {"state": "absent"})["changed"] is False
    finally:
        for cmd in ("iptables-legacy", "ip6tables-legacy"):
            netns("w1", "sh", "-c", "%s -w -D INPUT -m comment --comment clusterguard.portworx -j CLUSTERGUARD-PX; "
                  "%s -w -F CLUSTERGUARD-PX; %s -w -X CLUSTERGUARD-PX" % (cmd, cmd, cmd))


def test_more_sources_than_an_ipset_holds_by_default(inventory, clean, tmp_path):
    """70,000 sources that do not merge: 2.2.0 broke the pipe at 65,536 and left a full set.
    (Given through a vars file: one command-line argument holds at most 128 KiB.)"""
    sources = ["10.%d.%d.%d/32" % (64 + (i >> 15), (i >> 7) & 255, (i & 127) * 2) for i in range(70000)]
    (tmp_path / "big.json").write_text(json.dumps({"big_sources": sources}))
    (tmp_path / "big.yml").write_text(
        "- hosts: %s\n  gather_facts: false\n  tasks:\n    - clusterguard.portworx.port_firewall:\n"
        "        ports: ['9001-9023']\n        sources: '{{ big_sources }}'\n        ipset: always\n"
        "        ip_versions: [ipv4]\n" % lab_host("w1"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
           str(tmp_path / "big.yml"), "-e", "@%s" % (tmp_path / "big.json")]
    for expect in ("changed=1", "changed=0"):
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and expect in proc.stdout, (proc.stdout + proc.stderr)[-3000:]
    header = netns("w1", "ipset", "list", "-t", "CLUSTERGUARD-PX-v4").stdout
    assert "maxelem 131072" in header and "Number of entries: 70000" in header, header
