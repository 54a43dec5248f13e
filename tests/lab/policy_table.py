"""Print what the lab cluster's policies decide for pods, flow by flow: the
NetworkPolicies and the cluster-scoped objects (ClusterNetworkPolicy,
AdminNetworkPolicy) as the API server holds them, judged tier by tier by the
tests' evaluator (tests/integration/netpol_eval.py). The lab runs no CNI, so this
is the API's meaning, not packets.

Usage: policy_table.py KUBECONFIG NAMESPACE [NAMESPACE ...] [--node ADDRESS]"""

import argparse
import os
import sys

from kubernetes import client, config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from labapi import cluster_objects, network_policies  # noqa: E402  pylint: disable=wrong-import-position
from netpol_eval import connection_allowed  # noqa: E402  pylint: disable=wrong-import-position


def flows(node):
    return [(node, "TCP", 9001), (node, "TCP", 9022), (node, "TCP", 9023), (node, "TCP", 6443), (node, "TCP", 10250),
            (node, "UDP", 9001), ("10.96.0.10", "UDP", 53)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kubeconfig")
    parser.add_argument("namespaces", nargs="+")
    parser.add_argument("--node", default="10.231.0.12")
    args = parser.parse_args()
    api = config.new_client_from_config(config_file=args.kubeconfig)
    core = client.CoreV1Api(api)
    policies = network_policies(api)
    objects = cluster_objects(api)
    nodes = [api.sanitize_for_serialization(n) for n in core.list_node().items]
    pods = [(ns, {}, "pod") for ns in args.namespaces]
    pods += [("kube-system", {"k8s-app": "kube-dns"}, "pod k8s-app=kube-dns"),
             ("kube-system", {"component": "stork"}, "pod component=stork")]
    header = ["from"] + ["%s %s:%d" % (proto, "node" if dest == args.node else dest, port)
                         for dest, proto, port in flows(args.node)]
    rows = []
    for ns, labels, what in pods:
        ns_labels = core.read_namespace(ns).metadata.labels or {}
        row = ["%s (%s)" % (ns, what)]
        for dest, proto, port in flows(args.node):
            ok = connection_allowed(policies, objects, nodes, ns, ns_labels, labels, dest, proto, port)
            row.append("open" if ok else "BLOCKED")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print("(node = %s; cluster-scoped objects: %s)" % (args.node, ", ".join(
        "%s %s" % (o["kind"], o["metadata"]["name"]) for o in objects) or "none"))


if __name__ == "__main__":
    main()
