"""The boot-time restore, under faults, on the lab workers: the script the module
installs is run inside a worker as systemd would run it at boot, after every
rule and set is gone. The host must come back guarded whatever fails, and the
script must say so with its exit code."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, run_playbook
from hostfw import PLAY, lab_host, netns, probe

RESTORE = os.path.join(ROOT, "tests", "lab", "boot_restore.py")
FILES = "/etc/netns/%s/clusterguard" % lab_host("w1")


def reboot(host="w1"):
    """What a reboot leaves: no rules, no chains, no sets."""
    netns(host, "sh", "-c", "iptables -w -F; iptables -w -X; ip6tables -w -F; ip6tables -w -X; ipset destroy",
          check=True)


def restore(*without, chain="CLUSTERGUARD-PX"):
    args = [sys.executable, RESTORE, lab_host("w1"), "/etc/clusterguard", chain]
    if without:
        args += ["--without", ",".join(without)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def guarded():
    """From the outsider: w1's 9001 is dropped (IPv4 and IPv6) and 9024 open; from w2, 9001 is open."""
    outside = probe("out", "10.231.0.11:9001", "[fd42::11]:9001", "10.231.0.11:9024")
    inside = probe("w2", "10.231.0.11:9001", "[fd42::11]:9001")
    return outside, inside


GUARDED = ({"10.231.0.11:9001": "timeout", "[fd42::11]:9001": "timeout", "10.231.0.11:9024": "open"},
           {"10.231.0.11:9001": "open", "[fd42::11]:9001": "open"})


@pytest.fixture
def applied(inventory):
    run_playbook(PLAY, inventory, {})
    backup = {n: open(os.path.join(FILES, n)).read() for n in os.listdir(FILES)}
    yield
    for name, text in backup.items():
        with open(os.path.join(FILES, name), "w") as handle:
            handle.write(text)
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})


def test_a_clean_restore_gives_back_what_the_role_wants(inventory, applied):
    reboot()
    proc = restore()
    assert proc.returncode == 0, proc.stdout
    assert guarded() == GUARDED
    out = run_playbook(PLAY, inventory, {})
    assert re.search(r"cgpx-w1\s+: ok=\d+\s+changed=0", out), out[-1500:]


def test_without_the_ipset_command_the_sources_come_back_as_rules(applied):
    reboot()
    proc = restore("ipset")
    assert proc.returncode != 0 and "restoring one rule per source" in proc.stdout
    assert "-s 10.231.0.12/31" in netns("w1", "iptables", "-S", "CLUSTERGUARD-PX").stdout
    assert guarded() == GUARDED


def test_a_corrupt_set_file_falls_back_and_fails_the_unit(applied):
    with open(os.path.join(FILES, "CLUSTERGUARD-PX.v4.ipset"), "a") as handle:
        handle.write("add CLUSTERGUARD-PX-v4 not-an-address\n")
    reboot()
    proc = restore()
    assert proc.returncode != 0 and "CLUSTERGUARD-PX (v4): the ipset could not be loaded" in proc.stdout
    assert guarded() == GUARDED


def test_one_family_failing_does_not_stop_the_other(applied):
    for name in ("CLUSTERGUARD-PX.v6.rules", "CLUSTERGUARD-PX.v6.fallback.rules"):
        with open(os.path.join(FILES, name), "a") as handle:
            handle.write("this is not iptables-restore input\n")
    reboot()
    proc = restore()
    assert proc.returncode != 0 and "(v6)" in proc.stdout
    outside = probe("out", "10.231.0.11:9001", "10.231.0.11:9024")
    assert outside == {"10.231.0.11:9001": "timeout", "10.231.0.11:9024": "open"}


def test_ip6tables_missing_still_restores_ipv4(applied):
    reboot()
    proc = restore("ip6tables", "ip6tables-restore")
    assert proc.returncode != 0
    assert probe("out", "10.231.0.11:9001") == {"10.231.0.11:9001": "timeout"}


def test_only_the_chain_the_unit_names_is_restored(applied):
    stale = os.path.join(FILES, "OLD-PX.v4.rules")
    with open(stale, "w") as handle:
        handle.write("# clusterguard.portworx host_firewall: rules of chain OLD-PX (ipv4).\n*filter\n:OLD-PX - [0:0]\n"
                     "-A OLD-PX -p tcp --dport 9023 -j DROP\nCOMMIT\n")
    try:
        reboot()
        proc = restore()
        assert proc.returncode == 0, proc.stdout
        assert "OLD-PX" not in netns("w1", "iptables", "-S").stdout
        assert guarded() == GUARDED
    finally:
        os.remove(stale)


def test_the_role_removes_files_of_other_chains(inventory, applied):
    stale = os.path.join(FILES, "OLD-PX.v4.rules")
    with open(stale, "w") as handle:
        handle.write("# clusterguard.portworx host_firewall: rules of chain OLD-PX (ipv4).\n*filter\nCOMMIT\n")
    foreign = os.path.join(FILES, "notes.rules")
    with open(foreign, "w") as handle:
        handle.write("# an administrator's file\n")
    try:
        out = run_playbook(PLAY, inventory, {})
        assert re.search(r"cgpx-w1\s+: ok=\d+\s+changed=1", out), out[-1500:]
        assert not os.path.exists(stale) and os.path.exists(foreign)
    finally:
        os.remove(foreign)
