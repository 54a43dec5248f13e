"""Benchmarks of clusterguard.portworx against the way users do it by hand.

Every figure is measured side by side in the same run and printed with its
ratio; the results go into BENCHMARKS.md. Nothing here asserts a speed.

  python tests/bench/bench.py [--quick]

Sections:
  1. host_firewall vs the doc's step 1 as ansible.builtin.iptables tasks, on 3, 10, 30 lab workers
  2. rules per host and the cost on the packet path at 30, 300, 3000 allowed sources
  3. network_policy vs one kubernetes.core.k8s task per namespace, on 10, 100, 500 namespaces
  4. the filters on 10,000 and 100,000 node addresses
Both columns run with the same ansible.cfg: SSH pipelining, ControlPersist, forks 50."""

import argparse
import datetime
import ipaddress
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.dirname(os.path.abspath(__file__))
LAB_NAME, LAB_NET = "cgb", "10.235.0"
LAB_DIR = os.path.join(ROOT, ".lab", LAB_NAME)
INVENTORY = os.path.join(LAB_DIR, "inventory.yml")
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw  # noqa: E402
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib  # noqa: E402

ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
           ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))


def log(msg):
    print(">> " + msg, flush=True)


def sh(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def playbook(path, extra=None, inventory=INVENTORY):
    """Run a playbook, return (seconds, changed count, peak RSS MiB of the largest child)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, path]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    # A fresh wrapper per run: RUSAGE_CHILDREN keeps the largest RSS of any child
    # it ever waited for, so only a new process measures this run alone.
    wrapper = ("import resource, subprocess, sys\n"
               "rc = subprocess.call(sys.argv[1:])\n"
               "sys.stderr.write('PEAK_RSS_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(rc)\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper] + cmd, env=ENV, capture_output=True, text=True,
                          cwd=ROOT, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (path, (proc.stdout + proc.stderr)[-3000:]))
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", proc.stdout))
    peak = int(re.search(r"PEAK_RSS_KIB=(\d+)", proc.stderr).group(1)) / 1024.0
    return took, changed, peak


def lab(workers):
    env = dict(os.environ, LAB_NAME=LAB_NAME, LAB_NET=LAB_NET, LAB_WORKERS=str(workers))
    sh([os.path.join(ROOT, "tests", "lab", "workers.sh"), "up"], env=env)


def lab_down():
    env = dict(os.environ, LAB_NAME=LAB_NAME, LAB_NET=LAB_NET)
    sh([os.path.join(ROOT, "tests", "lab", "workers.sh"), "down"], env=env)


def ratio(base, ours):
    return "%.1fx" % (base / ours) if ours > 0 else "-"


# 1 ---------------------------------------------------------------------------
def bench_firewall(sizes):
    rows = []
    ours, base = os.path.join(BENCH, "ours_firewall.yml"), os.path.join(BENCH, "baseline_firewall.yml")
    for n in sizes:
        log("host_firewall vs ansible.builtin.iptables on %d workers" % n)
        lab(n)
        playbook(ours, {"host_firewall_state": "absent"})
        playbook(base, {"bench_state": "absent"})
        o = [playbook(ours), playbook(ours), playbook(ours, {"host_firewall_state": "absent"})]
        b = [playbook(base), playbook(base), playbook(base, {"bench_state": "absent"})]
        for label, oo, bb in zip(("first run", "re-run, nothing to change", "removal"), o, b):
            rows.append((n, label, oo[0], oo[1], bb[0], bb[1]))
    return rows


# 2 ---------------------------------------------------------------------------
def connect_times(netns, target, count):
    code = (
        "import socket,time,json\n"
        "t=[]\n"
        "for _i in range(%d):\n"
        "  s=socket.socket(); s.settimeout(2); a=time.perf_counter(); s.connect(%r); t.append(time.perf_counter()-a); s.close()\n"
        "print(json.dumps(t))\n" % (count, target)
    )
    return json.loads(sh(["ip", "netns", "exec", netns, sys.executable, "-c", code]))


def load_rules(netns, text, ipset_payload=None):
    flush = "iptables -w -F INPUT; iptables -w -F CGB 2>/dev/null; iptables -w -X CGB 2>/dev/null; ipset destroy CGB-v4 2>/dev/null; true"
    sh(["ip", "netns", "exec", netns, "sh", "-c", flush])
    if ipset_payload:
        subprocess.run(["ip", "netns", "exec", netns, "ipset", "restore"], input=ipset_payload, text=True, check=True)
    subprocess.run(["ip", "netns", "exec", netns, "iptables-restore", "-w", "--noflush"], input=text, text=True, check=True)


def bench_packet_path(sizes, count):
    lab(2)
    server, client = LAB_NAME + "-w1", LAB_NAME + "-w2"
    client_ip = LAB_NET + ".12"
    target = (LAB_NET + ".11", 9001)
    ranges = portlib.parse_ports("9000-9022")
    rows = []
    rng = random.Random(7)
    for n in sizes:
        log("packet path with %d allowed sources (%d connections each)" % (n, count))
        others = set()
        while len(others) < n - 1:
            others.add(str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0x0BFFFFFF))))
        sources = sorted(others) + [client_ip]  # the client matches last: the worst case for a rule list
        # baseline: the doc's rules, one ACCEPT per source, appended to INPUT
        doc = ["*filter", "-A INPUT -p tcp -s 127.0.0.1 -m multiport --dports 9000:9022 -j ACCEPT"]
        doc += ["-A INPUT -p tcp -s %s -m multiport --dports 9000:9022 -j ACCEPT" % s for s in sources]
        doc += ["-A INPUT -p tcp -m multiport --dports 9000:9022 -j DROP", "COMMIT", ""]
        load_rules(server, "\n".join(doc))
        base_rules = len(doc) - 3
        base_t = statistics.median(connect_times(client, target, count))
        # ours: the chain the port_firewall module writes, with its ipset
        merged = fw.normalize_sources(["%s/32" % s for s in sources], "ipv4")
        rules = fw.chain_rules("CGB", merged, ranges, ["tcp"], "CGB-v4")
        load_rules(server, fw.restore_payload("CGB", rules, insert_jump=True),
                   fw.ipset_swap_payload("CGB-v4", "ipv4", merged, False))
        ours_t = statistics.median(connect_times(client, target, count))
        rows.append((n, len(rules) + 1, base_rules, ours_t * 1e6, base_t * 1e6))
    load_rules(server, "*filter\nCOMMIT\n")
    return rows


# 3 ---------------------------------------------------------------------------
def bench_policies(sizes, kubeconfig):
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    nodes = ["10.231.0.11", "10.231.0.12", "10.231.0.13"]
    ours, base = os.path.join(BENCH, "ours_policies.yml"), os.path.join(BENCH, "baseline_policies.yml")
    inv = os.path.join(ROOT, "inventories", "lab", "hosts.yml")
    rows = []
    for n in sizes:
        log("network_policy vs a k8s task per namespace on %d namespaces" % n)
        names = ["bench-%03d" % i for i in range(n)]
        for name in names:
            try:
                core.create_namespace({"metadata": {"name": name}})
            except ApiException as exc:
                if exc.status != 409:
                    raise
        common = {"bench_kubeconfig": kubeconfig, "bench_nodes": nodes, "bench_namespaces": names}
        o = [playbook(ours, common, inv), playbook(ours, common, inv),
             playbook(ours, dict(common, network_policy_state="absent"), inv)]
        b = [playbook(base, common, inv), playbook(base, common, inv),
             playbook(base, dict(common, bench_state="absent"), inv)]
        for label, oo, bb in zip(("first apply", "re-run, nothing to change", "removal"), o, b):
            rows.append((n, label, oo[0], oo[2], bb[0], bb[2]))
    return rows


# 4 ---------------------------------------------------------------------------
def bench_filters(sizes):
    from ansible_collections.clusterguard.portworx.plugins.filter.node_cidrs import node_cidrs
    from ansible_collections.clusterguard.portworx.plugins.filter.network_policies import network_policies

    try:
        from ansible_collections.ansible.utils.plugins.filter.cidr_merge import cidr_merge as utils_merge
    except ImportError:
        utils_merge = None
    rows = []
    rng = random.Random(11)
    for n in sizes:
        log("filters on %d node addresses" % n)
        addrs = [str(ipaddress.IPv4Address(0x0A000000 + rng.randrange(0, n * 4))) for _i in range(n)]
        t = time.perf_counter()
        merged = node_cidrs(addrs)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        network_policies(addrs, ["team-a"])
        t_pol = time.perf_counter() - t
        t_utils = None
        if utils_merge:
            t = time.perf_counter()
            utils_merge(addrs, "merge")
            t_utils = time.perf_counter() - t
        rows.append((n, len(merged), t_ours, t_pol, t_utils))
    return rows


def versions():
    def first_line(cmd):
        try:
            return sh(cmd).splitlines()[0]
        except (OSError, subprocess.CalledProcessError):
            return "?"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "%s, %d cores, %.0f GiB" % (
            platform.platform(), os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "ansible-core": first_line([os.path.join(BIN, "ansible"), "--version"]),
        "iptables": first_line(["iptables", "-V"]),
        "kube-apiserver": open(os.path.join(ROOT, "tests", "lab", "controlplane", "KUBE_VERSION")).read().strip(),
    }


def report(v, fwr, pp, pol, flt, quick):
    out = ["# Benchmarks", "",
           "Written by `make bench` (`tests/bench/bench.py%s`). Each pair was measured side by side in the same run;" % (" --quick" if quick else ""),
           "*ratio* is baseline time divided by ours (above 1: ours is faster). Both columns use the repository's",
           "`ansible.cfg`: SSH pipelining on, ControlPersist 120 s, forks 50, no fact gathering.", ""]
    out += ["| | |", "|---|---|"] + ["| %s | %s |" % kv for kv in v.items()] + [""]
    out += ["## 1. host_firewall vs the doc's step 1 as `ansible.builtin.iptables` tasks", "",
            "Baseline: `tests/bench/baseline_firewall.yml`, one task per rule, a loop over the workers. Wall time of",
            "`ansible-playbook` over real SSH to the lab workers. Goal at 30 workers: at least 5x on the first run,",
            "10x on the re-run.", "",
            "| workers | run | ours (s) | ours changed | baseline (s) | baseline changed | ratio |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    out += ["| %d | %s | %.1f | %d | %.1f | %d | %s |" % (n, l, o, oc, b, bc, ratio(b, o)) for n, l, o, oc, b, bc in fwr]
    out += ["", "## 2. Rules per host and the cost on the packet path", "",
            "Rules that a packet to an allowed port crosses: ours is the jump plus a fixed chain with an ipset; the",
            "doc's rules grow by one per source. Median time to open a TCP connection to port 9001 from the",
            "allowed source that matches last (worst case for a rule list).", "",
            "| allowed sources | our rules | baseline rules | ours connect (us) | baseline connect (us) | ratio |",
            "|---:|---:|---:|---:|---:|---:|"]
    out += ["| %d | %d | %d | %.0f | %.0f | %s |" % (n, orules, brules, o, b, ratio(b, o)) for n, orules, brules, o, b in pp]
    out += ["", "## 3. network_policy vs one `kubernetes.core.k8s` task per namespace", "",
            "Baseline: `tests/bench/baseline_policies.yml`, a loop applying each namespace's two policies with its",
            "own task. Ours applies every object in one task (plus one kube-system policy the baseline lacks).",
            "Peak memory is the largest RSS of any process of the run (ansible-playbook and its workers). Goal at 500 namespaces: at least 10x on the first",
            "apply; a re-run with nothing to change in a few seconds.", "",
            "| namespaces | run | ours (s) | ours peak RSS (MiB) | baseline (s) | baseline peak RSS (MiB) | ratio |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    out += ["| %d | %s | %.1f | %.0f | %.1f | %.0f | %s |" % (n, l, o, om, b, bm, ratio(b, o)) for n, l, o, om, b, bm in pol]
    out += ["", "## 4. Filters on many node addresses", "",
            "`node_cidrs` against `ansible.utils.cidr_merge` (the same merge, from the collection users have), and",
            "`network_policies` building the objects for one namespace.", "",
            "| addresses | merged CIDRs | node_cidrs (s) | ansible.utils cidr_merge (s) | ratio | network_policies (s) |",
            "|---:|---:|---:|---:|---:|---:|"]
    out += ["| %d | %d | %.3f | %s | %s | %.3f |" % (n, m, t, "%.3f" % u if u else "n/a", ratio(u, t) if u else "-", p)
            for n, m, t, p, u in flt]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--kubeconfig", default=os.path.join(ROOT, ".lab", "cgpx", "kubeconfig"))
    parser.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()
    q = args.quick
    try:
        fwr = bench_firewall([3, 10] if q else [3, 10, 30])
        pp = bench_packet_path([30, 300] if q else [30, 300, 3000], 200 if q else 1000)
    finally:
        lab_down()
    pol = bench_policies([10, 50] if q else [10, 100, 500], args.kubeconfig)
    flt = bench_filters([10000] if q else [10000, 100000])
    text = report(versions(), fwr, pp, pol, flt, q)
    with open(args.output, "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
