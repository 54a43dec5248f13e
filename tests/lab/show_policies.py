"""Print the NetworkPolicies of the lab cluster, one line each, and create the
demo's user namespaces when asked (--ensure-namespaces a,b).

Usage: show_policies.py KUBECONFIG [--ensure-namespaces team-a,team-b]"""

import argparse

from kubernetes import client, config
from kubernetes.client.rest import ApiException


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
    return "%-12s %-34s %-28s %s" % (policy.metadata.namespace, policy.metadata.name, selector, "; ".join(parts))


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
    print("%-12s %-34s %-28s %s" % ("namespace", "policy", "selects", "egress allowed"))
    for policy in sorted(items, key=lambda p: (p.metadata.namespace, p.metadata.name)):
        print(summary(policy))
    if not items:
        print("(none)")


if __name__ == "__main__":
    main()
