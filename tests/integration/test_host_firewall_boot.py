"""The boot-time restore, under faults, on the lab workers: the script the module
installs is run inside a worker as systemd would run it at boot, after every
rule and set is gone. Whatever the files hold and whichever command is missing, the
guarded ports of each family must come back guarded as configured or, as the last
resort, dropped for everyone but loopback; and any fault must make the script exit
non-zero, naming it."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, persist_dir, run_playbook
from hostfw import PLAY, lab_host, netns, probe

RESTORE = os.path.join(ROOT, "tests", "lab", "boot_restore.py")
FILES = persist_dir("w1")


def reboot(host="w1"):
    """What a reboot leaves: no rules, no chains, no sets."""
    netns(host, "sh", "-c", "iptables -w -F; iptables -w -X; ip6tables -w -F; ip6tables -w -X; ipset destroy",
          check=True)


def restore(*without, chain="CLUSTERGUARD-PX"):
    args = [sys.executable, RESTORE, lab_host("w1"), "/etc/clusterguard", chain]
    if without:
        args += ["--without", ",".join(without)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


IP6TABLES = ("ip6tables", "ip6tables-restore", "ip6tables-nft", "ip6tables-nft-restore", "ip6tables-legacy",
             "ip6tables-legacy-restore")
V4 = ("10.231.0.11:9001", "10.231.0.11:9002", "10.231.0.11:9024")
V6 = ("[fd42::11]:9001", "[fd42::11]:9024")


def seen():
    """What the outsider, another worker and w1 itself on loopback reach of w1, each family."""
    return {"out": probe("out", *(V4 + V6)), "w2": probe("w2", "10.231.0.11:9001", "[fd42::11]:9001"),
            "lo": probe("w1", "127.0.0.1:9001", "[::1]:9001")}


def as_configured(v4=True, v6=True):
    """The other workers reach the guarded ports; the outsider does not; loopback does; 9024 is open."""
    out = {}
    if v4:
        out.update({"10.231.0.11:9001": "timeout", "10.231.0.11:9024": "open"})
    if v6:
        out.update({"[fd42::11]:9001": "timeout", "[fd42::11]:9024": "open"})
    return out


def last_resort(found, family):
    """The last resort in one family: the guarded port dropped for the other workers too, never for loopback."""
    w2 = "10.231.0.11:9001" if family == "v4" else "[fd42::11]:9001"
    lo = "127.0.0.1:9001" if family == "v4" else "[::1]:9001"
    out = "10.231.0.11:9001" if family == "v4" else "[fd42::11]:9001"
    return found["w2"][w2] == "timeout" and found["lo"][lo] in ("open", "refused") and found["out"][out] == "timeout"


def configured(found, family):
    w2 = "10.231.0.11:9001" if family == "v4" else "[fd42::11]:9001"
    out = "10.231.0.11:9001" if family == "v4" else "[fd42::11]:9001"
    return found["w2"][w2] == "open" and found["out"][out] == "timeout"


def cut(name, keep=0):
    """Cut a persisted file short (keep that many bytes; 0 empties it)."""
    path = os.path.join(FILES, name)
    with open(path, "r+") as handle:
        handle.truncate(keep)


def guarded():
    """From the outsider: w1's 9001 is dropped (IPv4 and IPv6) and 9024 open; from w2, 9001 is open."""
    outside = probe("out", "10.231.0.11:9001", "[fd42::11]:9001", "10.231.0.11:9024")
    inside = probe("w2", "10.231.0.11:9001", "[fd42::11]:9001")
    return outside, inside


GUARDED = ({"10.231.0.11:9001": "timeout", "[fd42::11]:9001": "timeout", "10.231.0.11:9024": "open"},
           {"10.231.0.11:9001": "open", "[fd42::11]:9001": "open"})


@pytest.fixture
def applied(inventory, host_firewall_absent_after_the_module):
    """The workers as the role leaves them: one run, which also puts back what the test before took
    (w1's tables after its reboot, a last resort, IPv6); after the test, w1's persisted files as that
    run wrote them."""
    run_playbook(PLAY, inventory, {})
    backup = {n: open(os.path.join(FILES, n)).read() for n in os.listdir(FILES) if not n.startswith(".")}
    yield
    for name in os.listdir(FILES):
        if name not in backup and not name.startswith("."):
            os.remove(os.path.join(FILES, name))
    for name, text in backup.items():
        with open(os.path.join(FILES, name), "w") as handle:
            handle.write(text)


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


def test_ip6tables_missing_still_restores_ipv4_and_drops_ipv6_with_nft(inventory, applied):
    reboot()
    proc = restore(*IP6TABLES)
    assert proc.returncode != 0 and "ip6tables or ip6tables-restore is missing" in proc.stdout
    assert "nftables table clusterguard_last_resort" in proc.stdout
    found = seen()
    assert configured(found, "v4") and last_resort(found, "v6"), found
    # the next run puts our chain back and removes the nft table, saying so
    out = run_playbook(PLAY, inventory, {}, args=("--limit", lab_host("w1")))
    assert "last resort is in place (nft table ip6 clusterguard_last_resort)" in out
    assert netns("w1", "nft", "list", "table", "ip6", "clusterguard_last_resort").returncode != 0
    assert configured(seen(), "v6")


def test_without_ip6tables_or_nft_ipv6_is_turned_off_until_the_next_run(inventory, applied):
    reboot()
    try:
        proc = restore(*(IP6TABLES + ("nft",)))
        assert proc.returncode != 0 and "IPv6 is turned off" in proc.stdout
        assert netns("w1", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").stdout.strip() == "1"
        found = seen()
        assert configured(found, "v4") and found["w2"]["[fd42::11]:9001"] != "open", found
        out = run_playbook(PLAY, inventory, {}, args=("--limit", lab_host("w1")))
        assert "IPv6 turned off" in out
        assert netns("w1", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").stdout.strip() == "0"
    finally:
        for scope in ("all", "default"):
            netns("w1", "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/%s/disable_ipv6" % scope)
        if os.path.exists("/run/clusterguard-ipv6-off"):
            os.remove("/run/clusterguard-ipv6-off")
        # turning IPv6 off drops the addresses; the lab's workers.sh gives w1 this one
        netns("w1", "ip", "-6", "addr", "replace", "fd42::11/64", "dev", "eth0", "nodad", check=True)


@pytest.mark.parametrize("fault", [
    "v4.rules cut short", "v4.rules empty", "v4.rules deleted", "v4.rules and fallback cut short",
    "every file deleted", "v4.rules cut short and ip6tables missing",
])
def test_a_file_fault_never_leaves_the_ports_open(fault, applied):
    """Faults of the persisted files (ipset mode: rules, set and fallback per family)."""
    name = "CLUSTERGUARD-PX.v4.rules"
    if "cut short" in fault:
        cut(name, os.path.getsize(os.path.join(FILES, name)) // 2)
    if "empty" in fault:
        cut(name)
    if "deleted" in fault:
        os.remove(os.path.join(FILES, name))
    if "fallback cut short" in fault:
        cut("CLUSTERGUARD-PX.v4.fallback.rules", 60)
    if "every file" in fault:
        for other in os.listdir(FILES):
            os.remove(os.path.join(FILES, other))
    reboot()
    proc = restore(*(IP6TABLES if "ip6tables" in fault else ()))
    assert proc.returncode != 0, proc.stdout
    found = seen()
    assert found["out"]["10.231.0.11:9001"] == "timeout" and found["out"]["[fd42::11]:9001"] == "timeout", found
    if "fallback" in fault or "every file" in fault:
        assert last_resort(found, "v4") and "LAST RESORT" in proc.stdout, (found, proc.stdout)
    else:  # the whole fallback file stands in, with one rule per source
        assert configured(found, "v4") and "restoring one rule per source instead" in proc.stdout, (found, proc.stdout)
    if "every file" in fault:
        assert last_resort(found, "v6")
    elif "ip6tables" in fault:
        assert last_resort(found, "v6")
        netns("w1", "nft", "delete", "table", "ip6", "clusterguard_last_resort")
    else:
        assert configured(found, "v6")


@pytest.mark.parametrize("fault", ["cut short", "empty", "deleted"])
def test_without_the_ipset_a_rules_fault_gets_the_last_resort(fault, inventory, applied):
    run_playbook(PLAY, inventory, {"host_firewall_ipset": "never"}, args=("--limit", lab_host("w1")))
    name = "CLUSTERGUARD-PX.v4.rules"
    rules = sorted(n for n in os.listdir(FILES) if n.endswith("rules"))
    assert rules == ["CLUSTERGUARD-PX.v4.rules", "CLUSTERGUARD-PX.v6.rules"], rules
    if fault == "deleted":
        os.remove(os.path.join(FILES, name))
    else:
        cut(name, 0 if fault == "empty" else os.path.getsize(os.path.join(FILES, name)) - 20)
    reboot()
    proc = restore()
    assert proc.returncode != 0 and "missing, empty or cut short" in proc.stdout
    found = seen()
    assert last_resort(found, "v4") and configured(found, "v6"), found


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
