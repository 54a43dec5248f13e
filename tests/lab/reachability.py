"""Who reaches which port of which worker, probed with real TCP.

Reads a lab inventory (tests/lab/workers.sh) and, from the outsider, from one
other worker and from loopback inside each worker, opens connections to every
worker's given ports (IPv4, and IPv6 with --ipv6). Prints a table, or JSON with --json:
    {"<source>": {"<worker>": {"<port>": "open"|"timeout"|"refused"}}}
Sources: "outsider", "worker" (the next worker in the list), "loopback", and, when the
lab runs its policy engine (tests/lab/engine.sh), "pod": the lab-apps pod behind the
first worker, to that worker and the next (IPv4). Every probed port has a listener, so
"refused" means a firewall rejected the connection (kube-router rejects, the host
firewall drops).

With --expect-guarded FIRST-LAST it also checks the table: the outsider is
blocked (timeout) on exactly the probed ports inside that range and reaches the
others; workers and loopback reach every port. With --expect-open it checks
that everyone reaches every port. Mismatches are listed and the exit code is 1.

Usage: reachability.py INVENTORY [--ports 9000,9001,9022,9023] [--ipv6] [--json]
                       [--title T] [--expect-guarded 9001-9022 | --expect-open]"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def probe(netns, targets, timeout):
    cmd = ["ip", "netns", "exec", netns, sys.executable if os.path.exists(sys.executable) else "python3",
           os.path.join(HERE, "probe.py"), "--timeout", str(timeout)] + targets
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return {row["target"]: row["result"] for row in map(json.loads, out.splitlines())}


def target(addr, port):
    return "[%s]:%s" % (addr, port) if ":" in addr else "%s:%s" % (addr, port)


def matrix(inventory, ports, ipv6=False, timeout=1.0):
    groups = inventory["all"]["children"]
    workers = groups["workers"]["hosts"]
    outsider = next(iter(groups["outsiders"]["hosts"].values()))
    names = list(workers)
    jobs = []  # (source label, worker, netns, address)
    for i, name in enumerate(names):
        hv = workers[name]
        addrs = [hv["ansible_host"]] + ([hv["node_ipv6"]] if ipv6 and hv.get("node_ipv6") else [])
        peer = workers[names[(i + 1) % len(names)]]
        for addr in addrs:
            jobs.append(("outsider", name, outsider["lab_netns"], addr))
            if len(names) > 1:
                jobs.append(("worker", name, peer["lab_netns"], addr))
        jobs.append(("loopback", name, hv["lab_netns"], "127.0.0.1"))
    pod_ns = "%s-p1" % workers[names[0]]["lab_netns"]
    if subprocess.run(["ip", "netns", "exec", pod_ns, "true"], capture_output=True, check=False).returncode == 0:
        for name in names[:2]:
            jobs.append(("pod", name + (" (own)" if name == names[0] else ""), pod_ns, workers[name]["ansible_host"]))
    by_ns = {}
    for label, name, netns, addr in jobs:
        by_ns.setdefault(netns, []).extend(target(addr, p) for p in ports)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = dict(zip(by_ns, pool.map(lambda ns: probe(ns, sorted(set(by_ns[ns])), timeout), by_ns)))
    table = {}
    for label, name, netns, addr in jobs:
        key = name if ":" not in addr else name + " v6"
        row = table.setdefault(label, {}).setdefault(key, {})
        for port in ports:
            row[str(port)] = results[netns][target(addr, port)]
    return table


def render(table, ports, title):
    lines = ["", title, ""]
    head = "%-10s %-12s" % ("from", "to") + "".join("%9s" % p for p in ports)
    lines += [head, "-" * len(head)]
    for label in ("outsider", "worker", "loopback", "pod"):
        for worker, row in sorted(table.get(label, {}).items()):
            cells = "".join("%9s" % {"open": "open", "timeout": "BLOCKED", "refused": "REJECTED"}.get(
                row[str(p)], row[str(p)][:8]) for p in ports)
            lines.append("%-10s %-12s%s" % ("pod" if label == "pod" else label, worker, cells))
    if "pod" in table:
        lines.append("(pod: namespace lab-apps, behind the first worker; judged by kube-router)")
    return "\n".join(lines)


def mismatches(table, guarded):
    """Cells that differ from the expectation; guarded is (first, last) or None."""
    wrong = []
    for label, rows in table.items():
        for worker, row in rows.items():
            for port, result in row.items():
                blocked = guarded is not None and label in ("outsider", "pod") and guarded[0] <= int(port) <= guarded[1]
                want = "timeout" if blocked else "open"
                if label == "pod" and blocked and result == "refused":
                    continue  # kube-router rejects
                if result != want:
                    wrong.append("%s -> %s:%s is %s, expected %s" % (label, worker, port, result, want))
    return wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory")
    parser.add_argument("--ports", default="9000,9001,9022,9023")
    parser.add_argument("--ipv6", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--expect-guarded", metavar="FIRST-LAST")
    parser.add_argument("--expect-open", action="store_true")
    parser.add_argument("--title", default="Reachability (BLOCKED = dropped by the firewall)")
    args = parser.parse_args()
    with open(args.inventory) as handle:
        inventory = yaml.safe_load(handle)
    ports = [int(p) for p in args.ports.split(",")]
    table = matrix(inventory, ports, args.ipv6, args.timeout)
    print(json.dumps(table, indent=1, sort_keys=True) if args.json else render(table, ports, args.title))
    if args.expect_guarded or args.expect_open:
        guarded = tuple(int(x) for x in args.expect_guarded.split("-")) if args.expect_guarded else None
        wrong = mismatches(table, guarded)
        for line in wrong:
            print("MISMATCH: " + line, file=sys.stderr)
        if wrong:
            sys.exit(1)
        who = "outsider and pod" if "pod" in table else "outsider"
        print("as expected: %s" % ("%s blocked on %s only" % (who, args.expect_guarded) if guarded else "all open"))


if __name__ == "__main__":
    main()
