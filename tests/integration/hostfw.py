"""Helpers of the host_firewall integration tests: the lab's hosts, their
firewall state as text, TCP probes and one-off module calls."""

import json
import os
import re
import subprocess
import sys

import yaml

from conftest import LAB_NAME, ROOT

PLAY = "tests/integration/playbooks/host_firewall.yml"
WORKERS = ("w1", "w2", "w3")


def netns(host, *cmd, check=False):
    return subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, host)] + list(cmd),
                          capture_output=True, text=True, check=check)


def state(host):
    """iptables-save, ip6tables-save, ipset save and the nftables ruleset of one host, without
    dates and counters."""
    text = netns(host, "sh", "-c", "iptables-save; ip6tables-save; ipset save; nft -s list ruleset", check=True).stdout
    lines = [re.sub(r"\[\d+:\d+\]", "", line) for line in text.splitlines() if not line.startswith("#")]
    return "\n".join(lines)


def snapshot():
    return {host: state(host) for host in WORKERS}


def probe(source, *targets):
    """{target: open|timeout|refused} of real TCP connects from one lab host."""
    out = subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, source), sys.executable,
                          os.path.join(ROOT, "tests", "lab", "probe.py"), "--timeout", "1"] + list(targets),
                         capture_output=True, text=True, check=True).stdout
    return {row["target"]: row["result"] for row in map(json.loads, out.splitlines())}


def reach(inventory, *extra):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "lab", "reachability.py"), inventory,
                           "--ports", "9001,9023,9024", *extra], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def adhoc(inventory, host, args, extra=(), env=None):
    """One port_firewall call through `ansible`, its result as a dict."""
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
                    ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                    ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    full_env.update(env or {})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", inventory, host,
                           "-m", "clusterguard.portworx.port_firewall", "-a", json.dumps(args)] + list(extra),
                          env=full_env, capture_output=True, text=True, check=False, cwd=ROOT)
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][host]


def inventory_with(tmp_path, name, hostvars):
    """An inventory file that adds host variables to lab hosts (given after the lab's own)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"all": {"hosts": {"%s-%s" % (LAB_NAME, h): v for h, v in hostvars.items()}}}))
    return str(path)


def lab_host(host):
    return "%s-%s" % (LAB_NAME, host)


def nft_members(host, family="v4"):
    """The members of our nftables table's set of one family (v4, v6) on a lab host, sorted."""
    out = netns(host, "nft", "-j", "list", "set", "inet", "CLUSTERGUARD-PX", family, check=True).stdout
    elems = [o["set"] for o in json.loads(out)["nftables"] if "set" in o][0].get("elem") or []
    return sorted(e if isinstance(e, str) else "%s/%s" % (e["prefix"]["addr"], e["prefix"]["len"]) for e in elems)


def tables(host):
    """Our nftables tables on a host: {name: the table as nft lists it}."""
    listing = netns(host, "nft", "list", "tables", check=True).stdout.split()
    names = [listing[i + 2] for i, word in enumerate(listing) if word == "table" and listing[i + 1] == "inet"]
    return {n: netns(host, "nft", "list", "table", "inet", n, check=True).stdout for n in names}


def iptables_of_ours(host):
    """Every line of ours in iptables, ip6tables and ipset of a host."""
    text = netns(host, "sh", "-c", "iptables-save; ip6tables-save; ipset save", check=True).stdout
    return [line for line in text.splitlines() if "clusterguard" in line.lower()]


def guarded_by(backend):
    """Every worker guarded by that back-end alone: our inet table and nothing of ours in iptables,
    or our iptables chain and no table of ours."""
    for host in WORKERS:
        names, lines = set(tables(host)), iptables_of_ours(host)
        if backend == "nftables" and (names != {"CLUSTERGUARD-PX"} or lines):
            return False
        if backend == "iptables" and (names or not lines):
            return False
    return True
