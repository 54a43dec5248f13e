"""Fixtures for tests against the lab: workers in network namespaces and the
lab API server. `make test` brings the lab up first and sets
CLUSTERGUARD_REQUIRE_LAB=1, so a missing lab fails there instead of skipping."""

import json
import os
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("LAB_DIR", os.path.join(ROOT, ".lab", "cgpx"))
sys.path.insert(0, os.path.join(ROOT, ".collections"))  # the checkout as ansible_collections.clusterguard.portworx


def _need(path):
    if not os.path.exists(path):
        message = "%s is missing: run 'make lab-up' first" % path
        if os.environ.get("CLUSTERGUARD_REQUIRE_LAB"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def kubeconfig():
    return _need(os.path.join(LAB, "kubeconfig"))


@pytest.fixture(scope="session")
def inventory():
    return _need(os.path.join(LAB, "inventory.yml"))


@pytest.fixture(scope="session")
def api(kubeconfig):
    from kubernetes import client, config

    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def namespace(api):
    """A fresh namespace per test; namespaces never finish deleting in the lab
    (no controller-manager), so every test gets a new name instead."""
    from kubernetes import client

    name = "t-" + uuid.uuid4().hex[:8]
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def run_playbook(playbook, inventory, extra_vars, check=False, expect_rc=0, args=(), env=None):
    """Run a playbook of the repository; ``inventory`` is a path or a list of paths
    (later ones add host variables). Returns stdout and stderr together."""
    full_env = dict(os.environ)
    full_env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".collections"))  # the matrix sets its own
    full_env.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "tests", "lab", "ansible.cfg"))
    full_env.update(env or {})
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook")]
    for path in [inventory] if isinstance(inventory, str) else inventory:
        cmd += ["-i", path]
    cmd += [os.path.join(ROOT, playbook), "-e", json.dumps(extra_vars)] + list(args)
    if check:
        cmd += ["--check", "--diff"]
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, cwd=ROOT, check=False)
    output = proc.stdout + proc.stderr
    if expect_rc is not None:
        assert proc.returncode == expect_rc, output[-4000:]
    return output


@pytest.fixture
def clean(inventory):
    """No chain, set or file of host_firewall on any worker before and after the test."""
    play = "tests/integration/playbooks/host_firewall.yml"
    run_playbook(play, inventory, {"host_firewall_state": "absent"})
    yield
    run_playbook(play, inventory, {"host_firewall_state": "absent"})
