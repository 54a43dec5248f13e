"""Print the NetworkPolicies of the lab cluster, one line each, and create the
demo's user namespaces when asked (--ensure-namespaces a,b).

Usage: show_policies.py KUBECONFIG [--ensure-namespaces team-a,team-b]"""

import argparse
import os
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from labapi import CLUSTER_KINDS, cluster_objects  # noqa: E402  pylint: disable=wrong-import-position


def summary(policy):
    spec = policy.spec
    parts = []
    for rule in spec.egress or []:
        peers = []
        for peer in rule.to or []:
            if peer.ip_block:
                block = peer.ip_block.cidr
                if peer.ip_block._except:
                    block += " except %d node CIDRs" % len(peer.ip_block._except)
                peers.append(block)
        ports = ["%s %s%s" % (p.protocol, p.port if p.port is not None else "all",
                              "-%s" % p.end_port if p.end_port else "") for p in rule.ports or []]
        parts.append("to [%s] ports [%s]" % (", ".join(peers) or "any", ", ".join(ports) or "all"))
    selector = "all pods" if not (spec.pod_selector.match_expressions or spec.pod_selector.match_labels) \
        else "pods except %d exempt label sets" % len(spec.pod_selector.match_expressions or [])
    return "%-12s %-44s %-30s %s" % (policy.metadata.namespace, policy.metadata.name, selector, "; ".join(parts))


def cluster_summary(kind, obj):
    spec = obj["spec"]
    subject = spec["subject"]
    if "namespaces" in subject:
        left_out = [v for e in subject["namespaces"].get("matchExpressions") or [] if e["operator"] == "NotIn"
                    for v in e["values"]]
        who = "all namespaces but %d" % len(left_out)
    else:
        who = "%s pods but exempt" % subject["pods"]["namespaceSelector"].get("matchLabels", {}).get(
            "kubernetes.io/metadata.name", "?")
    rules = []
    for rule in spec.get("egress") or []:
        peers = sum(len(p.get("networks") or []) for p in rule["to"])
        to = "%d node CIDRs" % peers if peers else "all Nodes"
        ports = []
        for entry in rule.get("protocols") or rule.get("ports") or []:
            one = entry.get("tcp", {}).get("destinationPort") or entry.get("portRange") or entry.get("portNumber") or {}
            span = one.get("range") or one
            ports.append("%s-%s" % (span.get("start"), span.get("end")) if "start" in span else str(
                span.get("number") or span.get("port")))
        rules.append("%s TCP %s to %s" % (rule["action"], ",".join(ports), to))
    return "%-12s %-44s %-30s %s" % ("(cluster)", obj["metadata"]["name"], who, "%s %s priority %s: %s" % (
        kind, spec.get("tier", "Admin"), spec["priority"], "; ".join(rules)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kubeconfig")
    parser.add_argument("--ensure-namespaces", default="")
    args = parser.parse_args()
    api = config.new_client_from_config(config_file=args.kubeconfig)
    core = client.CoreV1Api(api)
    for name in filter(None, args.ensure_namespaces.split(",")):
        try:
            core.create_namespace({"metadata": {"name": name}})
        except ApiException as exc:
            if exc.status != 409:
                raise
    if args.ensure_namespaces:
        return
    items = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
    print("%-12s %-44s %-30s %s" % ("namespace", "policy", "selects", "egress allowed"))
    for policy in sorted(items, key=lambda p: (p.metadata.namespace, p.metadata.name)):
        print(summary(policy))
    if not items:
        print("(none)")
    order = list(CLUSTER_KINDS)
    for obj in sorted(cluster_objects(api), key=lambda o: (order.index(o["kind"]), o["metadata"]["name"])):
        print(cluster_summary(obj["kind"], obj))


if __name__ == "__main__":
    main()
