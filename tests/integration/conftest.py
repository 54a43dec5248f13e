"""Fixtures for tests against the lab: workers in network namespaces and the
lab API server. `make test` brings the lab up first and sets
CLUSTERGUARD_REQUIRE_LAB=1, so a missing lab fails there instead of skipping."""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The lab this pytest runs on: the main one (cgpx, 10.231.0.0/24) unless the environment names another, as
# make test does for the ansible-core matrix's lab part (tests/lab/workers.sh's LAB_NAME and LAB_NET).
LAB_NAME = os.environ.get("LAB_NAME", "cgpx")
LAB = os.environ.get("LAB_DIR", os.path.join(ROOT, ".lab", LAB_NAME))
LAB_NET = os.environ.get("LAB_NET", "10.231.0")
LAB_API_PORT = int(os.environ.get("LAB_API_PORT", "16443"))  # tests/lab/controlplane.sh's
sys.path.insert(0, os.path.join(ROOT, ".collections"))  # the checkout as ansible_collections.clusterguard.portworx


def lab_address(host, family=4):
    """A lab host's address as workers.sh gives it: w<i> is <LAB_NET>.<10+i> and fd42:<third octet>::<10+i>."""
    index = 250 if host == "out" else 10 + int(host[1:])
    if family == 4:
        return "%s.%d" % (LAB_NET, index)
    return str(ipaddress.ip_address("fd42:%s::%d" % (LAB_NET.rsplit(".", 1)[1], index)))


def persist_dir(host):
    """Where a namespace worker's /etc/clusterguard is, seen from this machine (workers.sh binds it)."""
    return "/etc/netns/%s-%s/clusterguard" % (LAB_NAME, host)


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
    from kubernetes import config

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


BUILT_IN_CHAINS = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}
IPTABLES_NFT_TABLES = {"%s %s" % (f, t) for f in ("ip", "ip6") for t in ("filter", "nat", "mangle", "raw", "security")}
READ_WORKER = ("for t in iptables ip6tables iptables-legacy ip6tables-legacy; do $t-save 2>/dev/null; done; "
               "echo '== nft'; nft list ruleset; echo '== sets'; ipset list -n; echo '== files'; ls -A /etc/clusterguard; "
               "echo '== ipv6 off'; cat /proc/sys/net/ipv6/conf/all/disable_ipv6")


def lab_workers_bare():
    """Whether the main lab's workers hold nothing host_firewall could have made, read in one shell per
    worker (about 15 ms, where a run of the role with state absent takes 2.5 s): no rule with our marker,
    no chain but the built-in ones, no nftables table but those iptables-nft makes, no ipset, no persisted
    file, IPv6 on. Anything else, ours or not, counts as not bare."""
    from hostfw import WORKERS, netns  # hostfw imports this module

    if os.path.exists("/run/clusterguard-ipv6-off"):
        return False
    for host in WORKERS:
        out = netns(host, "sh", "-c", READ_WORKER).stdout
        saved, out = out.split("== nft\n", 1)
        ruleset, out = out.split("== sets\n", 1)
        sets, out = out.split("== files\n", 1)
        files, ipv6_off = out.split("== ipv6 off\n", 1)
        chains = {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}
        chains |= set(re.findall(r"^\s*chain (\S+) \{", ruleset, re.M))
        tables = set(re.findall(r"^table (\S+ \S+) \{", ruleset, re.M))
        if ("clusterguard" in (saved + ruleset).lower() or chains - BUILT_IN_CHAINS or tables - IPTABLES_NFT_TABLES
                or sets.strip() or files.strip() or ipv6_off.strip() != "0"):
            return False
    return True


# Everything host_firewall could have made on a namespace worker, taken away in one shell: every rule and
# chain of every table that exists in both iptables back-ends (a -save without -t creates none), every
# nftables table but those iptables-nft makes, every ipset. The persisted files go from the host's side.
RESET_WORKER = ("for t in iptables ip6tables iptables-legacy ip6tables-legacy; do "
                "command -v $t-save >/dev/null || continue; "
                "for table in $($t-save 2>/dev/null | sed -n 's/^[*]//p'); do $t -w -t $table -F; $t -w -t $table -X; done; "
                "done; "
                "nft list tables 2>/dev/null | while read -r _ family name; do case \"$family $name\" in "
                + "|".join("'%s'" % t for t in sorted(IPTABLES_NFT_TABLES)) + ") ;; "
                "*) nft delete table $family $name;; esac; done; "
                "ipset destroy 2>/dev/null; true")


def reset_lab_workers():
    """Take from the main lab's workers what host_firewall (or a test) made, without the role: a run of
    the role with state absent costs about 2.5 CPU-seconds, this about 0.05. IPv6 turned off by the last
    resort is left to the role, which turns it on again; lab_workers_bare() tells whether anything is left."""
    from hostfw import WORKERS, netns  # hostfw imports this module

    for host in WORKERS:
        netns(host, "sh", "-c", RESET_WORKER, check=True)
        files = persist_dir(host)
        for name in os.listdir(files):
            path = os.path.join(files, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


@pytest.fixture
def clean(inventory):
    """No chain, set, table or file of host_firewall on any worker before and after the test. On the main
    lab the workers are reset directly (reset_lab_workers) and then must be bare; elsewhere, or where that
    leaves something (IPv6 turned off), the role with state absent runs. Tests of the role's own removal
    (state absent, renaming, switching back-ends) assert it themselves."""
    play = "tests/integration/playbooks/host_firewall.yml"
    lab_inventory = inventory == os.path.join(LAB, "inventory.yml")  # lab_workers_bare reads its workers

    def make_bare():
        if lab_inventory and lab_workers_bare():
            return
        if lab_inventory:
            reset_lab_workers()
        if not lab_inventory or not lab_workers_bare():
            run_playbook(play, inventory, {"host_firewall_state": "absent"})
            assert lab_workers_bare()

    make_bare()
    yield
    make_bare()


@pytest.fixture(scope="module")
def host_firewall_absent_after_the_module(inventory):
    """host_firewall with state absent once, after the last test of the module, for tests that each start
    with a run of the role which puts back what the test before them changed."""
    yield
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, {"host_firewall_state": "absent"})
