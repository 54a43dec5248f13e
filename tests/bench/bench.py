"""Benchmarks of clusterguard.portworx against the way users do it by hand.

Every figure is measured side by side in the same run and printed with its
ratio; the results go into BENCHMARKS.md. Nothing here asserts a speed.

  python tests/bench/bench.py [--quick]

Sections:
  1. host_firewall (defaults) vs a one-task play (the limit) and the doc's step 1 as
     ansible.builtin.iptables tasks, on 3, 12, 30, 100 lab workers; the re-run with Mitogen
  2. rules per host and the cost on the packet path at 30, 300, 3000 allowed sources
  3. network_policy vs one kubernetes.core.k8s task per namespace, and a one-task localhost play,
     on 10, 100, 500 namespaces
  4. the filters on 10,000 and 100,000 node addresses
Both columns run with the same lab ansible.cfg (tests/lab/): SSH pipelining, ControlPersist, forks 50."""

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
LAB_NAME, LAB_NET = "cgb", "10.231.5"
LAB_DIR = os.path.join(ROOT, ".lab", LAB_NAME)
INVENTORY = os.path.join(LAB_DIR, "inventory.yml")
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw  # noqa: E402
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib  # noqa: E402

try:
    from importlib.metadata import version as _version
    MITOGEN_VERSION = _version("mitogen")
except Exception:  # pylint: disable=broad-except
    MITOGEN_VERSION = "?"
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
           ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"))


def log(msg):
    print(">> " + msg, flush=True)


def sh(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def playbook(path, extra=None, inventory=INVENTORY, env=None):
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
    proc = subprocess.run([sys.executable, "-c", wrapper] + cmd, env=dict(ENV, **(env or {})), capture_output=True,
                          text=True, cwd=ROOT, check=False)
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
def bench_firewall(sizes, baseline_sizes):
    """Ours (defaults), the one-task limit, and the doc's rules as iptables tasks, per lab size."""
    rows = []
    ours, base = os.path.join(BENCH, "ours_firewall.yml"), os.path.join(BENCH, "baseline_firewall.yml")
    limit = os.path.join(BENCH, "limit.yml")
    for n in sizes:
        log("host_firewall vs the limit%s on %d workers" % (" and ansible.builtin.iptables" if n in baseline_sizes else "", n))
        lab(n)
        playbook(ours, {"host_firewall_state": "absent"})
        playbook(limit)  # open the SSH master connections, as both sides' first runs find them
        o = [playbook(ours), playbook(ours), playbook(ours, {"host_firewall_state": "absent"})]
        lim = [playbook(limit) for _i in range(3)]
        if n in baseline_sizes:
            playbook(base, {"bench_state": "absent"})
            b = [playbook(base), playbook(base), playbook(base, {"bench_state": "absent"})]
        else:
            b = [None, None, None]
        for label, oo, ll, bb in zip(("first run", "re-run, nothing to change", "removal"), o, lim, b):
            rows.append((n, label, oo[0], oo[1], ll[0], bb[0] if bb else None, bb[1] if bb else None))
    return rows


def bench_mitogen(n):
    """The re-run of section 1 with the Mitogen strategy, when it loads with this ansible-core."""
    try:
        import ansible_mitogen
    except ImportError:
        return None, "mitogen is not installed (tests/bench/requirements.txt)"
    strategy = os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")
    env = {"ANSIBLE_STRATEGY_PLUGINS": strategy, "ANSIBLE_STRATEGY": "mitogen_linear"}
    ours, limit = os.path.join(BENCH, "ours_firewall.yml"), os.path.join(BENCH, "limit.yml")
    lab(n)
    try:
        playbook(ours)
        plain = min(playbook(ours)[0] for _i in range(2))
        plain_limit = min(playbook(limit)[0] for _i in range(2))
        playbook(ours, env=env)
        fast = min(playbook(ours, env=env)[0] for _i in range(2))
        fast_limit = min(playbook(limit, env=env)[0] for _i in range(2))
        playbook(ours, {"host_firewall_state": "absent"})
    except RuntimeError as exc:
        return None, "fails with this ansible-core: %s" % str(exc).strip().splitlines()[-1][:300]
    return (n, plain, fast, plain_limit, fast_limit), None


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
                   fw.ipset_payload("CGB-v4", "ipv4", merged, False))
        ours_t = statistics.median(connect_times(client, target, count))
        rows.append((n, len(rules) + 1, base_rules, ours_t * 1e6, base_t * 1e6))
    load_rules(server, "*filter\nCOMMIT\n")
    return rows


# 3 ---------------------------------------------------------------------------
def bench_policies(sizes, kubeconfig, baseline_sizes=None):
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
        lim = min(playbook(os.path.join(BENCH, "limit.yml"), {"bench_hosts": "localhost"}, inv)[0] for _i in range(3))
        if baseline_sizes is None or n in baseline_sizes:
            b = [playbook(base, common, inv), playbook(base, common, inv),
                 playbook(base, dict(common, bench_state="absent"), inv)]
        else:
            b = [(None, None, None)] * 3
        for label, oo, bb in zip(("first apply", "re-run, nothing to change", "removal"), o, b):
            rows.append((n, label, oo[0], oo[2], lim, bb[0], bb[2]))
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


# Why a goal can fall short, written next to the figure when it does.
WHY_FIRST_RUN = ("by design two module calls per worker on a change: every host is read in check mode before "
                 "any host is changed, so one failing host leaves all of them untouched; the floor is about 2x "
                 "the limit")
WHY_RERUN = ("one module call per worker (the test counts it), which starts Python and reads "
             "iptables-save, ip6tables-save, ipset and the persisted files; the limit's `command: true` "
             "does less; on 2 cores the workers' CPU is shared")


def goals(fwr, pol, flt):
    """The goals of issue 11, each with the measured figure, whether it is met, and why not."""
    rows = []

    def row(goal, figure, met, why=""):
        rows.append("| %s | %s | %s | %s |" % (goal, figure, "met" if met else "**not met**", "" if met else why))

    runs = {(n, label): (o, lim, b) for n, label, o, _oc, lim, b, _bc in fwr}
    for n in (12, 30):
        if (n, "re-run, nothing to change") in runs and runs[(n, "re-run, nothing to change")][2]:
            o, lim, b = runs[(n, "re-run, nothing to change")]
            row("host_firewall re-run <= 0.1x the baseline, %d workers" % n, "%.2fx (%.1f s vs %.1f s)" % (o / b, o, b),
                o / b <= 0.1, "the limit alone is %.2fx the baseline, and ours is %.2fx the limit: %s" % (
                    lim / b, o / lim, WHY_RERUN))
    for (n, label), (o, lim, _b) in sorted(runs.items()):
        if label != "removal":
            row("host_firewall %s <= 1.3x the limit, %d workers" % (label.split(",")[0], n),
                "%.2fx (%.1f s vs %.1f s)" % (o / lim, o, lim), o / lim <= 1.3,
                WHY_FIRST_RUN if label == "first run" else WHY_RERUN)
    for n in (12, 30):
        if (n, "first run") in runs and runs[(n, "first run")][2]:
            o, lim, b = runs[(n, "first run")]
            row("host_firewall first run <= 0.2x the baseline, %d workers" % n, "%.2fx (%.1f s vs %.1f s)" % (
                o / b, o, b), o / b <= 0.2, "the limit alone is %.2fx the baseline; %s" % (lim / b, WHY_FIRST_RUN))
    pols = {(n, label): (o, b) for n, label, o, _om, _lim, b, _bm in pol}
    if (500, "re-run, nothing to change") in pols:
        o, _b = pols[(500, "re-run, nothing to change")]
        row("network_policy re-run <= 3 s, 500 namespaces", "%.1f s" % o, o <= 3,
            "the read of the cluster is one in-process list per kind")
    if (500, "first apply") in pols and pols[(500, "first apply")][1] is not None:
        o, b = pols[(500, "first apply")]
        row("network_policy first apply >= 20x the loop, 500 namespaces", ratio(b, o), b / o >= 20,
            "ours applies %d objects with server-side apply, one request per object, in one task" % (2 * 500 + 2))
    for n, _m, t, _p, u in flt:
        if n == 100000 and u:
            row("node_cidrs at least as fast as ansible.utils.cidr_merge, 100,000 addresses", ratio(u, t), u >= t)
    return ["## Goals", "", "| goal | measured | | why it falls short |", "|---|---|---|---|"] + rows + [""]


def report(v, fwr, pp, pol, flt, quick, mito=None):
    out = ["# Benchmarks", "",
           "Written by `make bench` (`tests/bench/bench.py%s`). Each pair was measured side by side in the same run;" % (
               " " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else ""),
           "*ratio* is baseline time divided by ours (above 1: ours is faster). Both columns use the repository's",
           "`tests/lab/ansible.cfg`: SSH pipelining on, ControlPersist 120 s, forks 50, no fact gathering.", ""]
    out += ["| | |", "|---|---|"] + ["| %s | %s |" % kv for kv in v.items()] + [""]
    out += goals(fwr, pol, flt)
    out += ["## 1. host_firewall (defaults) vs the limit and the doc's step 1 as `ansible.builtin.iptables` tasks", "",
            "*Ours* is `tests/bench/ours_firewall.yml`: the role with its **defaults** (packages installed where a",
            "command is missing, files persisted, boot unit on: TCP 9001-9023 and UDP 9002); the baseline guards 9000:9022.",
            "*Limit* is `tests/bench/limit.yml`, one `command: true` task per worker: the floor for any role that",
            "touches each host once. *Baseline* is `tests/bench/baseline_firewall.yml`, one task per rule, a loop over",
            "the workers (not run at 100 workers: it grows with the square of the workers).",
            "The lab's workers are network namespaces without systemd, so the module reports the boot unit as",
            "`no systemd` and skips it. On a systemd host a re-run reads two files and a symlink more (no",
            "process started), and the first run adds `systemctl daemon-reload` and `systemctl enable`.", "",
            "| workers | run | ours (s) | ours changed | limit (s) | baseline (s) | baseline changed | ours / limit | baseline / ours |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += ["| %d | %s | %.1f | %d | %.1f | %s | %s | %.2fx | %s |" % (
        n, l, o, oc, lim, "%.1f" % b if b is not None else "-", bc if bc is not None else "-", o / lim,
        ratio(b, o) if b is not None else "-") for n, l, o, oc, lim, b, bc in fwr]
    if mito is not None:
        out += ["", "### Mitogen", ""]
        if mito[0]:
            n, plain, fast, plain_limit, fast_limit = mito[0]
            title = "The re-run at %d workers with the `mitogen_linear` strategy (mitogen %s), best of two:" % (
                n, MITOGEN_VERSION)
            out += [title, "", "| play | linear (s) | mitogen_linear (s) | ratio |", "|---|---:|---:|---:|",
                    "| host_firewall re-run | %.1f | %.1f | %s |" % (plain, fast, ratio(plain, fast)),
                    "| limit | %.1f | %.1f | %s |" % (plain_limit, fast_limit, ratio(plain_limit, fast_limit))]
        else:
            out += ["Mitogen was tried and not measured: %s" % mito[1]]
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
            "Peak memory is the largest RSS of any process of the run (ansible-playbook and its workers).", "",
            "*Limit* is a play with one `command: true` task on localhost.", "",
            "| namespaces | run | ours (s) | ours peak RSS (MiB) | limit (s) | baseline (s) | baseline peak RSS (MiB) | ours / limit | baseline / ours |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += ["| %d | %s | %.1f | %.0f | %.1f | %s | %s | %.2fx | %s |" % (
        n, l, o, om, lim, "%.1f" % b if b is not None else "-", "%.0f" % bm if bm is not None else "-", o / lim,
        ratio(b, o) if b is not None else "-") for n, l, o, om, lim, b, bm in pol]
    out += ["", "## 4. Filters on many node addresses", "",
            "`node_cidrs` against `ansible.utils.cidr_merge` (the same merge, from the collection users have), and",
            "`network_policies` building the objects for one namespace.", "",
            "| addresses | merged CIDRs | node_cidrs (s) | ansible.utils cidr_merge (s) | ratio | network_policies (s) |",
            "|---:|---:|---:|---:|---:|---:|"]
    out += ["| %d | %d | %.3f | %s | %s | %.3f |" % (n, m, t, "%.3f" % u if u else "n/a", ratio(u, t) if u else "-", p)
            for n, m, t, p, u in flt]
    return "\n".join(out) + "\n"


def sizes(text):
    return [int(x) for x in text.split(",")] if text else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--kubeconfig", default=os.path.join(ROOT, ".lab", "cgpx", "kubeconfig"))
    parser.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--workers", help="lab sizes of section 1, such as 3,12,30,100")
    parser.add_argument("--baseline-workers", help="sizes of section 1 that also run the baseline")
    parser.add_argument("--namespaces", help="namespace counts of section 3, such as 10,100,500")
    parser.add_argument("--baseline-namespaces", help="counts of section 3 that also run the baseline")
    args = parser.parse_args()
    q = args.quick
    failed = {}

    def attempt(name, func, *fargs):
        """One section; a failure is reported in BENCHMARKS.md instead of losing the others."""
        try:
            return func(*fargs)
        except Exception as exc:  # pylint: disable=broad-except
            log("%s failed: %s" % (name, exc))
            failed[name] = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else repr(exc)
            return None

    try:
        workers = sizes(args.workers) or ([3, 12] if q else [3, 12, 30, 100])
        fwr = attempt("host_firewall", bench_firewall, workers,
                      sizes(args.baseline_workers) or [n for n in workers if n <= 30]) or []
        mito = attempt("mitogen", bench_mitogen, 12 if q else 30)
        pp = attempt("packet path", bench_packet_path, [30, 300] if q else [30, 300, 3000], 200 if q else 1000) or []
    finally:
        lab_down()
    pol = attempt("network_policy", bench_policies, sizes(args.namespaces) or ([10, 50] if q else [10, 100, 500]),
                  args.kubeconfig, sizes(args.baseline_namespaces)) or []
    flt = attempt("filters", bench_filters, [10000] if q else [10000, 100000]) or []
    text = report(versions(), fwr, pp, pol, flt, q, mito)
    if failed:
        text += "\n## Sections that failed\n\n" + "".join("- %s: %s\n" % kv for kv in failed.items())
    with open(args.output, "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
