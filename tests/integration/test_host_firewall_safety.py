"""host_firewall never locks anyone out and never half-applies: a non-root user
with sudo on a second SSH port inside the guarded range, and serial batches
with a bad value or a foreign chain on the last host."""

import os
import re
import signal
import subprocess

import pytest

from conftest import ROOT, run_playbook
from hostfw import PLAY, LAB_NAME, adhoc, inventory_with, lab_host, netns, reach, snapshot

SERIAL = "tests/integration/playbooks/host_firewall_serial.yml"
USER = "cgpxop"
PORT = 9005
LAB = os.path.join(ROOT, ".lab", LAB_NAME)
SSH_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


@pytest.fixture(scope="module")
def sudo_user_on_second_port():
    """A user with password-less sudo, and w1's sshd also listening on 9005 (inside 9001-9022)."""
    subprocess.run(["sh", "-c", "id %s >/dev/null 2>&1 || useradd -M -s /bin/sh %s" % (USER, USER)], check=True)
    subprocess.run(["usermod", "-p", "*", USER], check=True)  # no password, but not a locked account
    sudoers = "/etc/sudoers.d/clusterguard-lab"
    with open(sudoers, "w") as handle:
        handle.write("%s ALL=(ALL) NOPASSWD: ALL\n" % USER)
    os.chmod(sudoers, 0o440)
    pidfile = os.path.join(LAB, "run", "w1.sshd-%d.pid" % PORT)
    subprocess.run(["ip", "netns", "exec", lab_host("w1"), "/usr/sbin/sshd", "-f", os.path.join(LAB, "sshd_config"),
                    "-o", "Port=%d" % PORT, "-o", "PidFile=%s" % pidfile], check=True)
    try:
        yield
    finally:
        if os.path.exists(pidfile):
            os.kill(int(open(pidfile).read()), signal.SIGTERM)
        os.remove(sudoers)
        subprocess.run(["userdel", USER], check=False)


def ping(inventories, host):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"))
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible"), host, "-m", "ansible.builtin.command", "-a", "id -un", "-b"]
    for path in inventories:
        cmd[1:1] = ["-i", path]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)


def test_ansible_port_in_the_range_is_refused_under_become(inventory, clean, tmp_path, sudo_user_on_second_port):
    extra = inventory_with(tmp_path, "sudo.yml", {"w1": {"ansible_port": PORT, "ansible_user": USER,
                                                         "ansible_become": True}})
    session = ping([inventory, extra], lab_host("w1"))
    assert session.returncode == 0 and "root" in session.stdout, session.stdout + session.stderr
    before = snapshot()
    out = run_playbook(PLAY, [inventory, extra], {}, expect_rc=2)
    assert "the guarded TCP ports 9001-9023 include 9005, the SSH port Ansible connects on" in out
    assert "(host cgpx-w1)" in out and "Traceback" not in out
    assert snapshot() == before
    assert ping([inventory, extra], lab_host("w1")).returncode == 0


def test_ssh_config_port_in_the_range_is_refused(inventory, clean, tmp_path, sudo_user_on_second_port):
    config = tmp_path / "ssh_config"
    config.write_text("Host 10.231.0.11\n  Port %d\n" % PORT)
    extra = inventory_with(tmp_path, "sshcfg.yml", {"w1": {
        "ansible_user": USER, "ansible_become": True, "ansible_ssh_common_args": "-F %s %s" % (config, SSH_ARGS)}})
    assert ping([inventory, extra], lab_host("w1")).returncode == 0
    before = snapshot()
    out = run_playbook(PLAY, [inventory, extra], {}, expect_rc=2)
    assert "include 9005, the SSH port Ansible connects on" in out and "(host cgpx-w1)" in out
    assert snapshot() == before


def test_the_module_finds_the_ssh_port_under_sudo(inventory, clean, sudo_user_on_second_port):
    """Without the role's check in front: sudo drops SSH_CONNECTION, the module still sees port 9005."""
    connect = ["-u", USER, "-b", "-e", "ansible_port=%d" % PORT]
    result = adhoc(inventory, lab_host("w1"), {"ports": ["9001-9022"], "sources": ["10.231.0.12/32"]}, connect)
    assert result.get("failed") and "include 9005, the SSH port this run is connected on" in result["msg"], result
    assert "CLUSTERGUARD" not in netns("w1", "iptables", "-S").stdout
    # the same with the controller (10.231.0.1 on the lab bridge) allowed goes through: the guard is precise
    result = adhoc(inventory, lab_host("w1"), {"ports": ["9001-9022"], "sources": ["10.231.0.1/32"], "persist": False},
                   connect)
    assert result["changed"] and not result.get("failed"), result
    assert adhoc(inventory, lab_host("w1"), {"state": "absent"}, connect)["changed"]


def test_serial_checks_every_host_before_the_first_batch(inventory, clean, tmp_path):
    extra = inventory_with(tmp_path, "bad-last.yml", {"w3": {"host_firewall_extra_sources": ["0.0.0.0/0"]}})
    before = snapshot()
    out = run_playbook(SERIAL, [inventory, extra], {}, expect_rc=2)
    assert "host_firewall_extra_sources: '0.0.0.0/0' holds all addresses" in out and "(host cgpx-w3)" in out
    assert snapshot() == before


def test_serial_reads_every_host_before_the_first_batch(inventory, clean):
    netns("w3", "sh", "-c", "iptables -w -N PX-SERIAL && iptables -w -A PX-SERIAL -j RETURN", check=True)
    try:
        before = snapshot()
        out = run_playbook(SERIAL, inventory, {"host_firewall_chain": "PX-SERIAL"}, expect_rc=2)
        assert "PX-SERIAL already exists on this host and is not ours" in out and "Traceback" not in out
        assert snapshot() == before
    finally:
        netns("w3", "sh", "-c", "iptables -w -F PX-SERIAL; iptables -w -X PX-SERIAL")


def test_serial_converges_and_a_rerun_changes_nothing(inventory, clean):
    run_playbook(SERIAL, inventory, {})
    rc, table = reach(inventory, "--expect-guarded", "9001-9023")
    assert rc == 0, table
    out = run_playbook(SERIAL, inventory, {})
    for host in ("w1", "w2", "w3"):
        assert re.search(r"%s\s+: ok=\d+\s+changed=0" % lab_host(host), out), out[-1500:]
