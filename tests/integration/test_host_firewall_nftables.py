"""host_firewall with host_firewall_backend: nftables on the lab workers: real SSH, real
nftables in each worker's network namespace, real TCP. What depends on the back-end runs
here: converge and re-run, check and diff mode, a foreign table of our name, switching
back-ends both ways, renaming, absent, --limit and serial, the boot restore and its file
faults. The inputs (bad values, sources, slicing) are the same for both back-ends and are
tested once, in the other host_firewall files."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, persist_dir, run_playbook
from hostfw import PLAY, WORKERS, iptables_of_ours, lab_host, netns, nft_members, probe, reach, snapshot, tables

NFT = {"host_firewall_backend": "nftables"}
SERIAL = "tests/integration/playbooks/host_firewall_serial.yml"
FILES = persist_dir("w1")
RESTORE = os.path.join(ROOT, "tests", "lab", "boot_restore.py")
UNIT_ARGS = "v4,v6 9001:9023 9002 nftables"
OUTSIDE = ("10.231.0.11:9001", "10.231.0.11:9023", "[fd42::11]:9001", "10.231.0.11:9024")
GUARDED_OUTSIDE = {"10.231.0.11:9001": "timeout", "10.231.0.11:9023": "timeout", "[fd42::11]:9001": "timeout",
                   "10.231.0.11:9024": "open"}


def changed(out, host):
    return int(re.search(r"%s\s+: ok=\d+\s+changed=(\d+)" % lab_host(host), out).group(1))


def test_converge_guards_both_families_with_one_table_and_a_rerun_changes_nothing(inventory, clean):
    out = run_playbook(PLAY, inventory, NFT)
    for host in WORKERS:
        assert changed(out, host) >= 1 and set(tables(host)) == {"CLUSTERGUARD-PX"}
        assert iptables_of_ours(host) == []
    table = tables("w1")["CLUSTERGUARD-PX"]
    assert "hook input priority filter - 10; policy accept;" in table and "10.231.0.12" in table and "fd42::12" in table
    assert probe("out", *OUTSIDE) == GUARDED_OUTSIDE
    assert probe("w2", "10.231.0.11:9001", "[fd42::11]:9001") == {"10.231.0.11:9001": "open", "[fd42::11]:9001": "open"}
    assert probe("w1", "127.0.0.1:9001", "[::1]:9001") == {"127.0.0.1:9001": "open", "[::1]:9001": "open"}
    assert sorted(os.listdir(FILES)) == ["CLUSTERGUARD-PX.nft"]
    rc, text = reach(inventory, "--expect-guarded", "9001-9023")
    assert rc == 0, text
    again = run_playbook(PLAY, inventory, NFT)
    assert all(changed(again, host) == 0 for host in WORKERS), again[-1500:]


def test_check_mode_shows_the_table_and_changes_nothing(inventory, clean):
    before = snapshot()
    out = run_playbook(PLAY, inventory, NFT, check=True)
    assert all(changed(out, host) == 1 for host in WORKERS), out[-2000:]
    assert "+table inet CLUSTERGUARD-PX {" in out and "+    type filter hook input priority -10; policy accept;" in out
    assert "/etc/clusterguard/CLUSTERGUARD-PX.nft" in out
    assert snapshot() == before


def test_drift_made_by_another_hand_is_seen_and_put_right(inventory, clean):
    run_playbook(PLAY, inventory, NFT)
    netns("w1", "nft", "add", "element", "inet", "CLUSTERGUARD-PX", "v4", "{ 10.231.0.250 }", check=True)
    assert probe("out", "10.231.0.11:9001") == {"10.231.0.11:9001": "open"}
    listing = netns("w2", "nft", "-a", "list", "table", "inet", "CLUSTERGUARD-PX", check=True).stdout
    handle = re.search(r"ip6 saddr != @v6 drop .*# handle (\d+)", listing).group(1)
    netns("w2", "nft", "delete", "rule", "inet", "CLUSTERGUARD-PX", "input", "handle", handle, check=True)
    out = run_playbook(PLAY, inventory, NFT, check=True)
    assert changed(out, "w1") == 1 and changed(out, "w2") == 1 and changed(out, "w3") == 0, out[-2000:]
    run_playbook(PLAY, inventory, NFT)
    assert "10.231.0.250" not in nft_members("w1") and probe("out", *OUTSIDE) == GUARDED_OUTSIDE
    assert tables("w2")["CLUSTERGUARD-PX"].count("ip6 saddr != @v6 drop") == 2


def test_a_table_of_our_name_that_is_not_ours_is_refused_and_kept(inventory, clean):
    netns("w3", "sh", "-c", "nft add table inet CLUSTERGUARD-PX && nft add chain inet CLUSTERGUARD-PX mine", check=True)
    try:
        before = snapshot()
        out = run_playbook(PLAY, inventory, NFT, expect_rc=2)
        assert "nftables table inet CLUSTERGUARD-PX already exists on this host and is not ours" in out
        assert "no host was changed" in out and snapshot() == before
    finally:
        netns("w3", "nft", "delete", "table", "inet", "CLUSTERGUARD-PX")


def test_switching_back_ends_both_ways_leaves_only_the_chosen_one(inventory, clean):
    run_playbook(PLAY, inventory, {})
    assert iptables_of_ours("w1") and tables("w1") == {}
    out = run_playbook(PLAY, inventory, NFT)
    assert all(changed(out, h) >= 1 for h in WORKERS)
    for host in WORKERS:
        assert iptables_of_ours(host) == [] and set(tables(host)) == {"CLUSTERGUARD-PX"}
    assert sorted(os.listdir(FILES)) == ["CLUSTERGUARD-PX.nft"]
    assert probe("out", *OUTSIDE) == GUARDED_OUTSIDE
    run_playbook(PLAY, inventory, {})
    for host in WORKERS:
        assert tables(host) == {} and any("-A INPUT" in line for line in iptables_of_ours(host))
    assert "CLUSTERGUARD-PX.nft" not in os.listdir(FILES) and "CLUSTERGUARD-PX.v4.rules" in os.listdir(FILES)
    assert probe("out", *OUTSIDE) == GUARDED_OUTSIDE


def test_renaming_removes_the_old_table_and_absent_removes_every_one(inventory, clean):
    run_playbook(PLAY, inventory, NFT)
    run_playbook(PLAY, inventory, dict(NFT, host_firewall_chain="PX_GUARD"))
    assert set(tables("w1")) == {"PX_GUARD"} and sorted(os.listdir(FILES)) == ["PX_GUARD.nft"]
    netns("w2", "sh", "-c", "nft add table inet other && nft add chain inet other c", check=True)
    try:
        run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})
        for host in WORKERS:
            assert tables(host) == ({"other": tables("w2")["other"]} if host == "w2" else {})
        assert os.listdir(FILES) == []
        assert probe("out", "10.231.0.11:9001") == {"10.231.0.11:9001": "open"}
    finally:
        netns("w2", "nft", "delete", "table", "inet", "other")


def test_a_worker_without_nft_gets_the_package_task_and_fails_alone_naming_it(inventory, clean):
    # Hide nft from w2's SSH sessions only: a bind mount in its sshd's mount namespace. The package
    # task finds nftables installed, so nft stays missing and the guard of w2 fails, naming it.
    sshd = open(os.path.join(ROOT, ".lab", "cgpx", "run", "w2.sshd.pid")).read().strip()
    subprocess.run(["nsenter", "-t", sshd, "-m", "mount", "--bind", "/dev/null", "/usr/sbin/nft"], check=True)
    try:
        out = run_playbook(PLAY, inventory, NFT, expect_rc=2)
        assert re.search(r"cgpx-w2\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1", out), out[-2000:]
        assert "nft is not installed on this host (missing: nftables)" in out
        install = out.split("Install the firewall commands", 1)[1].split("TASK [", 1)[0]
        assert "ok: [cgpx-w2]" in install and "skipping: [cgpx-w1]" in install, install
        assert set(tables("w1")) == {"CLUSTERGUARD-PX"} and set(tables("w3")) == {"CLUSTERGUARD-PX"}
        assert tables("w2") == {}
    finally:
        subprocess.run(["nsenter", "-t", sshd, "-m", "umount", "/usr/sbin/nft"], check=True)


def test_limit_changes_only_the_named_worker_and_serial_converges(inventory, clean):
    out = run_playbook(PLAY, inventory, NFT, args=("--limit", lab_host("w1")))
    assert set(tables("w1")) == {"CLUSTERGUARD-PX"} and tables("w2") == {} and tables("w3") == {}
    assert "10.231.0.12" in tables("w1")["CLUSTERGUARD-PX"], out[-1500:]
    run_playbook(SERIAL, inventory, NFT)
    rc, text = reach(inventory, "--expect-guarded", "9001-9023")
    assert rc == 0, text
    again = run_playbook(SERIAL, inventory, NFT)
    assert all(changed(again, h) == 0 for h in WORKERS), again[-1500:]


# -- the boot restore of the nftables back-end ------------------------------------------
def reboot(host="w1"):
    """What a reboot leaves: no tables, no rules, no sets."""
    netns(host, "sh", "-c", "nft flush ruleset; iptables -w -F; iptables -w -X; ip6tables -w -F; ip6tables -w -X; "
          "ipset destroy", check=True)


def restore(*without):
    args = [sys.executable, RESTORE, lab_host("w1"), "/etc/clusterguard", "CLUSTERGUARD-PX", "--args", UNIT_ARGS]
    if without:
        args += ["--without", ",".join(without)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


@pytest.fixture
def applied(inventory, host_firewall_absent_after_the_module):
    """The workers guarded by the nftables back-end: one run from what the test before left (bare, or
    guarded by that test's last run, which each of these tests ends with)."""
    run_playbook(PLAY, inventory, NFT)
    with open(os.path.join(FILES, "CLUSTERGUARD-PX.nft")) as handle:
        text = handle.read()
    yield text
    with open(os.path.join(FILES, "CLUSTERGUARD-PX.nft"), "w") as handle:
        handle.write(text)
    for family in ("ip", "ip6"):
        netns("w1", "nft", "delete", "table", family, "clusterguard_last_resort")


def test_a_clean_restore_loads_the_table_the_role_wrote(inventory, applied):
    wrote = tables("w1")
    reboot()
    assert probe("out", "10.231.0.11:9001") == {"10.231.0.11:9001": "open"}  # the reboot did open it
    proc = restore()
    assert proc.returncode == 0, proc.stdout
    assert tables("w1") == wrote and probe("out", *OUTSIDE) == GUARDED_OUTSIDE
    assert probe("w2", "10.231.0.11:9001", "[fd42::11]:9001") == {"10.231.0.11:9001": "open", "[fd42::11]:9001": "open"}
    out = run_playbook(PLAY, inventory, NFT)
    assert changed(out, "w1") == 0, out[-1500:]


@pytest.mark.parametrize("fault", ["cut short", "empty", "deleted", "nft missing"])
def test_a_fault_never_leaves_the_ports_open(fault, inventory, applied):
    path = os.path.join(FILES, "CLUSTERGUARD-PX.nft")
    if fault == "cut short":
        with open(path, "r+") as handle:
            handle.truncate(len(applied) // 2)
    elif fault == "empty":
        open(path, "w").close()
    elif fault == "deleted":
        os.remove(path)
    reboot()
    proc = restore("nft") if fault == "nft missing" else restore()
    assert proc.returncode != 0, proc.stdout
    assert ("nft is missing" if fault == "nft missing" else "missing, empty or cut short") in proc.stdout, proc.stdout
    assert proc.stdout.count("LAST RESORT") == 2, proc.stdout
    # the last resort: the guarded ports dropped for everyone but loopback, the other workers too
    assert probe("out", *OUTSIDE) == GUARDED_OUTSIDE
    assert probe("w2", "10.231.0.11:9001", "[fd42::11]:9001") == {"10.231.0.11:9001": "timeout",
                                                                  "[fd42::11]:9001": "timeout"}
    assert probe("w1", "127.0.0.1:9001") == {"127.0.0.1:9001": "open"}
    # the next run puts our table and file back and removes what the last resort left (an nft
    # table it names, or, where nft was missing, a chain of ours in iptables)
    out = run_playbook(PLAY, inventory, NFT)
    assert changed(out, "w1") >= 1, out[-2000:]
    if fault != "nft missing":
        assert "last resort is in place (nft table ip clusterguard_last_resort, nft table ip6" in out, out[-2000:]
    assert iptables_of_ours("w1") == [] and set(tables("w1")) == {"CLUSTERGUARD-PX"}
    assert netns("w1", "nft", "list", "table", "ip", "clusterguard_last_resort").returncode != 0
    with open(path) as handle:
        assert handle.read() == applied
    assert probe("w2", "10.231.0.11:9001") == {"10.231.0.11:9001": "open"}
