"""modules/port_firewall.py: what it decides before it runs any command (argument
checks), and how it finds the SSH session under sudo. The kernel side is tested
on the lab workers in tests/integration/test_host_firewall.py."""

import json
import os
import subprocess
import sys

import pytest
from unit_compat import patch_module_args

from ansible_collections.clusterguard.portworx.plugins.modules import port_firewall

LINK_BASE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections")


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            port_firewall.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, message", [
    ({"chain": "DOCKER-USER!", "ports": ["9001"]}, "chain: 'DOCKER-USER!' must be 1-28"),
    ({"chain": "INPUT", "ports": ["9001"]}, "chain: 'INPUT' is a name iptables reserves"),
    ({"chain": "A" * 29, "ports": ["9001"]}, "must be 1-28"),
    ({"persist_dir": "etc/cg", "ports": ["9001"]}, "persist_dir: 'etc/cg' must be an absolute"),
    ({"persist_dir": "/etc/c g", "ports": ["9001"]}, "no spaces"),
    ({"ports": ["9001-90x2"]}, "'9001-90x2' is not a port or range"),
    ({"ports": []}, "ports: at least one port"),
    ({"ports": ["9001"], "sources": ["::ffff:10.0.0.1"]}, "IPv4-mapped"),
    ({"ports": ["9001"], "sources": ["10.0.0.1/8"]}, "'10.0.0.1/8' is not a network"),
    ({}, "state is present but all of the following are missing: ports"),
])
def test_refuses_before_running_any_command(args, message, capsys, monkeypatch):
    def no_commands(*_a, **_k):
        raise AssertionError("a command ran before the arguments were checked")

    monkeypatch.setattr(port_firewall.AnsibleModule, "run_command", no_commands)
    result = run_module(args, capsys)
    assert result["failed"] and message in result["msg"], result["msg"]


CHILD = """
import os, sys
sys.path.insert(0, %r)
os.environ.pop("SSH_CONNECTION", None)
from ansible_collections.clusterguard.portworx.plugins.modules.port_firewall import ssh_connection
print(ssh_connection())
"""


def test_ssh_session_is_found_from_the_environment(monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.9 50000 10.0.0.11 2222")
    assert port_firewall.ssh_connection() == ("10.0.0.9", 2222)


def test_ssh_session_is_found_in_a_parent_when_sudo_dropped_it():
    # A shell with SSH_CONNECTION starts a child without it, as sudo does.
    env = dict(os.environ, SSH_CONNECTION="192.0.2.7 41000 192.0.2.11 9005")
    code = CHILD % os.path.abspath(LINK_BASE)
    out = subprocess.run(["sh", "-c", 'env -u SSH_CONNECTION "$0" -c "$1"; true', sys.executable, code],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "('192.0.2.7', 9005)"


@pytest.mark.parametrize("args, message", [
    ({"chain": "-F", "ports": ["9001"]}, "not starting with '-'"),
    ({"chain": "DOCKER-USER", "ports": ["9001"]}, "Docker"),
    ({"persist_dir": "/etc/clusterguard\n", "ports": ["9001"]}, "no newline"),
    ({"persist_dir": "/proc/clusterguard", "ports": ["9001"]}, "not kept across a reboot"),
    ({"ports": ["9001"], "settle": -1}, "settle: -1.0 must be a number of seconds above 0"),
    ({"ports": ["9001"], "settle": float("nan")}, "settle: nan"),
    ({"ports": ["9001"], "sources": ["fe80::1%eth0"]}, "has a zone"),
    ({"ports": ["9001"], "lock_timeout": -1}, "lock_timeout: -1"),
])
def test_refuses_what_a_value_means_before_running_any_command(args, message, capsys, monkeypatch):
    test_refuses_before_running_any_command(args, message, capsys, monkeypatch)


@pytest.fixture
def persist_dir():
    """A directory where persisted files may live (not under /tmp, which the module refuses)."""
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="clusterguard-unit-", dir="/var/tmp")
    yield path
    shutil.rmtree(path)


def test_a_second_run_waits_for_the_lock_then_fails_naming_it(persist_dir, capsys, monkeypatch):
    """The lock itself (fcntl on a real file); the module's runs at once are tested on the lab."""
    import fcntl

    tmp_path = persist_dir
    os.chmod(tmp_path, 0o750)
    holder = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)

    def no_commands(*_a, **_k):
        raise AssertionError("a command ran without the lock")

    monkeypatch.setattr(port_firewall.AnsibleModule, "run_command", no_commands)
    try:
        result = run_module({"ports": ["9001"], "persist_dir": str(tmp_path), "lock_timeout": 1}, capsys)
    finally:
        os.close(holder)
    assert result["failed"] and "holds the lock on %s (pid %d)" % (tmp_path, os.getpid()) in result["msg"]
    assert os.listdir(tmp_path) == []  # no lock file of ours
    assert "nothing was changed" in result["msg"]


def test_a_persist_directory_others_may_write_is_refused(persist_dir, capsys, monkeypatch):
    tmp_path = persist_dir
    os.chmod(tmp_path, 0o777)

    def no_commands(*_a, **_k):
        raise AssertionError("a command ran")

    monkeypatch.setattr(port_firewall.AnsibleModule, "run_command", no_commands)
    result = run_module({"ports": ["9001"], "persist_dir": str(tmp_path)}, capsys)
    assert result["failed"] and "writable by group and others" in result["msg"], result["msg"]
