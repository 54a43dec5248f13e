"""The boot unit on workers that boot systemd (tests/lab/booted.sh: Debian 12 in systemd-nspawn,
each in its own network namespace). A reboot starts from an empty kernel: no rules, no sets, the
link down until systemd-networkd brings it up after network-pre.target.

From the outsider, the guarded ports are probed in a tight loop from before the reboot until
sshd answers again; a single "open" fails the test, which reports the window it measured. The
same reboot with a persisted file cut short must fail the unit and still never open a port.
firewalld is stopped on these workers: with it, the guard does not survive (issue 22)."""

import json
import os
import subprocess

import pytest

from conftest import ROOT, run_playbook

BOOTED = os.path.join(ROOT, "tests", "lab", "booted.sh")
NAME, NET = "cgpb", "10.231.6"
INVENTORY = os.path.join(ROOT, ".lab", NAME, "inventory.yml")
PLAY = "tests/integration/playbooks/host_firewall.yml"
W1, W1_V6 = NET + ".11", "fd42:6::11"
GUARDED = ["%s:9001" % W1, "%s:9023" % W1, "[%s]:9001" % W1_V6]
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def booted(*args, check=True):
    env = dict(os.environ, LAB_NAME=NAME, LAB_NET=NET, LAB_WORKERS="2")
    return subprocess.run([BOOTED] + list(args), env=env, capture_output=True, text=True, check=check).stdout


def probe(*targets):
    out = subprocess.run(["ip", "netns", "exec", NAME + "-out", PYTHON, os.path.join(ROOT, "tests", "lab", "probe.py"),
                          "--timeout", "0.5"] + list(targets), capture_output=True, text=True, check=True).stdout
    return {row["target"]: row["result"] for row in map(json.loads, out.splitlines())}


def reboot_watched(host="w1"):
    """Reboot ``host`` while the outsider probes the guarded ports (and 9024, which nothing guards)."""
    watch = subprocess.Popen(["ip", "netns", "exec", NAME + "-out", PYTHON,
                              os.path.join(ROOT, "tests", "lab", "reboot_watch.py"), "%s:22" % W1, "--limit", "90"]
                             + GUARDED + ["%s:9024" % W1], stdout=subprocess.PIPE, text=True)
    boots = open(os.path.join(ROOT, ".lab", NAME, "run", host + ".boots")).read().count("boot ")
    booted("reboot", host)
    out, _ = watch.communicate(timeout=120)
    after = open(os.path.join(ROOT, ".lab", NAME, "run", host + ".boots")).read().count("boot ")
    return json.loads(out), after - boots


@pytest.fixture(scope="module")
def lab():
    booted("up")
    for host in ("w1", "w2"):  # firewalld flushes the filter table when it starts: see the module's docstring
        booted("run", host, "systemctl", "disable", "--now", "firewalld")
    run_playbook(PLAY, INVENTORY, {})
    yield
    booted("down", check=False)


def test_the_guard_holds_through_a_reboot_from_container_start_to_sshd(lab):
    assert probe(GUARDED[0], "%s:9024" % W1) == {GUARDED[0]: "timeout", "%s:9024" % W1: "open"}
    found, boots = reboot_watched()
    window = "%.1f s from the reboot to sshd, %d rounds of probes" % (found["ssh_back"] or -1, found["rounds"])
    print("reboot window:", window)
    assert boots == 1 and found["ssh_gone"] is not None and found["ssh_back"] is not None, found
    for target in GUARDED:
        assert "open" not in found["counts"][target], (target, window, found)
    # the probes could see an open port: 9024 answered once the link was up again
    assert found["counts"]["%s:9024" % W1].get("open"), found
    assert booted("run", "w1", "systemctl", "is-active", "clusterguard-firewall", check=False).strip() == "active"
    assert probe(*GUARDED) == {t: "timeout" for t in GUARDED}
    assert "changed=0" in run_playbook(PLAY, INVENTORY, {})


def test_a_rules_file_cut_short_fails_the_unit_and_no_port_opens(lab):
    booted("run", "w1", "truncate", "-s", "100", "/etc/clusterguard/CLUSTERGUARD-PX.v4.rules")
    try:
        found, boots = reboot_watched()
        assert boots == 1 and found["ssh_back"] is not None, found
        for target in GUARDED:
            assert "open" not in found["counts"][target], (target, found)
        state = booted("run", "w1", "systemctl", "is-failed", "clusterguard-firewall", check=False).strip()
        assert state == "failed", state
        assert probe(*GUARDED) == {t: "timeout" for t in GUARDED}
    finally:
        out = run_playbook(PLAY, INVENTORY, {})  # writes the file again
    assert "changed=1" in out
    assert "changed=0" in run_playbook(PLAY, INVENTORY, {})
