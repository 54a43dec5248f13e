"""How long verify's reachability judgement takes on a large synthetic cluster, in the
controller's process (no lab): namespaces with several running label sets and policies of
their own beside ours. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/reachability.py [NAMESPACES] [NODES]"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", ".collections"))

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify


def cluster(namespaces, node_count):
    nodes = [{"metadata": {"name": "n%d" % i, "labels": {}}, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, i % 250 + 1)},
        {"type": "InternalIP", "address": "fd00::%x" % (i + 1)}]}} for i in range(node_count)]
    addresses = verify.node_addresses(nodes, [])
    names = ["team-%d" % i for i in range(namespaces)]
    ours = policies.build(addresses, names)
    theirs = [{"metadata": {"name": "app-%d" % j, "namespace": ns}, "spec": {
        "podSelector": {"matchLabels": {"app": "a%d" % j}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "172.16.%d.0/24" % j}}], "ports": [{"port": 443}]}]}}
        for ns in names for j in range(3)]
    pods = [{"metadata": {"namespace": ns, "name": "p%d" % j, "labels": {"app": "a%d" % j}}, "spec": {}, "status": {}}
            for ns in names for j in range(4)]
    read = {"namespaces": [{"metadata": {"name": n, "labels": {}}} for n in names + ["kube-system"]], "nodes": nodes,
            "pods": pods, "all_policies": ours + theirs, "cluster_objects": []}
    values = {"network_policy_state": "present", "network_policy_all_namespaces": True,
              "network_policy_namespace_selector": "", "network_policy_scope": "namespaces",
              "network_policy_system_namespace": "kube-system", "network_policy_exempt_pods": policies.DOC_EXEMPT,
              "network_policy_metrics_access": []}
    found = {"selected": names, "excluded": ["portworx"], "portworx": {"tcp": ["9001-9023"], "udp": ["9002"],
                                                                       "metrics": ["9001", "9019"]}}
    return values, found, read, addresses


def main():
    namespaces = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    node_count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    values, found, read, addresses = cluster(namespaces, node_count)
    start = time.monotonic()
    checks, findings = verify.reachability_checks(values, found, read, addresses)
    seconds = time.monotonic() - start
    print("reachability: %d namespaces, %d nodes (%d addresses), %d policies, %d pods: %.2f s, %d checks "
          "(%d fail), %d findings" % (namespaces, node_count, len(addresses), len(read["all_policies"]),
                                      len(read["pods"]), seconds, len(checks),
                                      sum(c["status"] == "fail" for c in checks), len(findings)))


if __name__ == "__main__":
    main()
