# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster-scoped policies of sig-network's network-policy-api: one object that
covers every namespace, those created after the run included.

Two objects, because a subject holds one selector:

* ``<block name>``: every namespace but the system, Portworx and excluded ones
  (narrowed by the namespace selector, when one is given);
* ``<block name>-<system namespace>``: the system namespace's pods that carry
  none of the exempt labels (the document's kube-system selector).

Each holds one kind of rule: Deny TCP to the Portworx ports on the nodes. A
Deny in the Admin tier comes before every NetworkPolicy, so nothing in a
namespace can reopen the ports, and it denies only what it matches: no
allow-api, DNS or kubelet holes are needed.

Two APIs carry it: ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1,
network-policy-api v0.3.0: Calico 3.32+, Cilium 1.20+, kube-network-policies)
and its predecessor AdminNetworkPolicy (v1alpha1, network-policy-api v0.1.x:
OpenShift 4.16+ with OVN-Kubernetes, Antrea, Calico 3.29-3.31). The shapes
differ in the action name, the port syntax and the tier field."""

from __future__ import annotations

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import k8snames, netcalc, policies

GROUP = "policy.networking.k8s.io"
# Per API: the version we write, the list path's plural, the CRD, and where it comes from.
APIS = {
    "ClusterNetworkPolicy": {"version": "v1beta1", "plural": "clusternetworkpolicies",
                             "source": "sigs.k8s.io/network-policy-api v0.3.0"},
    "AdminNetworkPolicy": {"version": "v1alpha1", "plural": "adminnetworkpolicies",
                           "source": "sigs.k8s.io/network-policy-api v0.1.x"},
}
PEERS = ("networks", "nodes")
NAME_LABEL = "kubernetes.io/metadata.name"
RULE_NAME = "deny-portworx-ports"
# Limits of the CRDs' schemas: CIDRs per networks peer, peers per rule, rules per object.
MAX_NETWORKS, MAX_PEERS, MAX_RULES = 25, 25, 25
MAX_PORTS = {"ClusterNetworkPolicy": 25, "AdminNetworkPolicy": 100}


class ClusterPolicyError(ValueError):
    """Input the cluster-scoped policies cannot be built from."""


def api_version(api):
    return "%s/%s" % (GROUP, APIS[api]["version"])


def crd_name(api):
    return "%s.%s" % (APIS[api]["plural"], GROUP)


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def _ports(api, ranges):
    if api == "ClusterNetworkPolicy":
        return [{"tcp": {"destinationPort": {"number": lo} if lo == hi else {"range": {"start": lo, "end": hi}}}}
                for lo, hi in ranges]
    return [{"portNumber": {"protocol": "TCP", "port": lo}} if lo == hi else
            {"portRange": {"protocol": "TCP", "start": lo, "end": hi}} for lo, hi in ranges]


def _rules(api, peer, node_cidrs, ranges):
    if peer == "nodes":
        peer_groups = [[{"nodes": {}}]]
    else:
        peers = [{"networks": chunk} for chunk in _chunks(node_cidrs, MAX_NETWORKS)]
        peer_groups = _chunks(peers, MAX_PEERS)
    port_groups = _chunks(_ports(api, ranges), MAX_PORTS[api])
    rules = []
    for to in peer_groups:
        for ports in port_groups:
            rule = {"name": RULE_NAME, "action": "Deny", "to": to}
            rule["protocols" if api == "ClusterNetworkPolicy" else "ports"] = ports
            rules.append(rule)
    if len(rules) > MAX_RULES:
        raise ClusterPolicyError(
            "%d node CIDRs and %d port ranges need %d rules, more than the %d one %s holds: merge the node addresses "
            "(network_policy_node_cidr_mode 'subnet') or use network_policy_cluster_peer 'nodes'" % (
                len(node_cidrs), len(ranges), len(rules), MAX_RULES, api))
    return rules


def _object(api, name, priority, subject, egress, labels):
    spec = {"priority": priority, "subject": subject, "egress": egress}
    if api == "ClusterNetworkPolicy":
        spec["tier"] = "Admin"  # before every NetworkPolicy; the Baseline tier comes after them
    return {"apiVersion": api_version(api), "kind": api, "metadata": {"name": name, "labels": dict(labels)},
            "spec": spec}


def build(api, node_cidrs, ports, excluded, system_namespace, exempt, priority, block_name,
          peer="networks", namespace_selector=None, labels=None):
    """The two objects, user namespaces first.

    ``node_cidrs`` are the merged node CIDRs (unused with the ``nodes`` peer),
    ``ports`` a port spec, ``excluded`` namespaces left out of the user object
    (the system namespace is always left out of it), ``exempt`` the document's
    [{key, values}] list, ``priority`` that of the user object (the system one
    takes the next number, so no two of ours share one), ``namespace_selector``
    a LabelSelector dict that narrows the user namespaces."""
    if api not in APIS:
        raise ClusterPolicyError("api must be one of %s, got %r" % (", ".join(APIS), api))
    if peer not in PEERS:
        raise ClusterPolicyError("peer must be one of %s, got %r" % (", ".join(PEERS), peer))
    if not 0 <= priority <= 999:
        raise ClusterPolicyError("priority must be 0-999 (the system object takes priority + 1), got %r" % (priority,))
    ranges = portlib.parse_ports(ports)
    if not ranges:
        raise ClusterPolicyError("no ports to deny")
    nodes = netcalc.node_cidrs(list(node_cidrs)) if peer == "networks" else []
    if peer == "networks" and not nodes:
        raise ClusterPolicyError("no node addresses: the policies would deny nothing")
    for name in [system_namespace] + list(excluded):
        if k8snames.dns_label_error(name):
            raise ClusterPolicyError("namespace %s" % k8snames.dns_label_error(name))
    for name in (block_name, "%s-%s" % (block_name, system_namespace)):
        if k8snames.dns_subdomain_error(name):
            raise ClusterPolicyError("policy name %s" % k8snames.dns_subdomain_error(name))
    all_labels = {"app.kubernetes.io/managed-by": "clusterguard.portworx"}
    all_labels.update(labels or {})
    egress = _rules(api, peer, nodes, ranges)

    left_out = sorted(set(excluded) | {system_namespace})
    users = {"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": left_out}]}
    for key, value in sorted(((namespace_selector or {}).get("matchLabels") or {}).items()):
        users["matchExpressions"].append({"key": key, "operator": "In", "values": [value]})
    users["matchExpressions"].extend((namespace_selector or {}).get("matchExpressions") or [])
    try:
        exprs = policies.exempt_expressions(exempt)  # the document's kube-system selector, as in its NetworkPolicy
    except policies.PolicyError as exc:
        raise ClusterPolicyError(str(exc)) from None
    system = {"pods": {"namespaceSelector": {"matchLabels": {NAME_LABEL: system_namespace}},
                       "podSelector": {"matchExpressions": exprs} if exprs else {}}}
    return [
        _object(api, block_name, priority, {"namespaces": users}, egress, all_labels),
        _object(api, "%s-%s" % (block_name, system_namespace), priority + 1, system, [dict(r) for r in egress],
                all_labels),
    ]


def stub(api, name):
    """What a delete needs."""
    return {"apiVersion": api_version(api), "kind": api, "metadata": {"name": name}}
