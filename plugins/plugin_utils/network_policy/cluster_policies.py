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
network-policy-api v0.3.0: Calico 3.32+, Cilium 1.20+, kube-network-policies; or
v1alpha2, v0.2.0, which Cilium 1.20's documentation installs: the same shape, and
we write whichever version the cluster serves, v1beta1 first)
and its predecessor AdminNetworkPolicy (v1alpha1, network-policy-api v0.1.x:
OpenShift 4.16+ with OVN-Kubernetes, Antrea, Calico 3.29-3.31). The shapes
differ in the action name, the port syntax and the tier field."""

from __future__ import annotations

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import k8snames, kubeobjects, netcalc
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies

GROUP, APIS, api_version = kubeobjects.ADMIN_GROUP, kubeobjects.ADMIN_APIS, kubeobjects.admin_api_version
PEERS = ("networks", "nodes")
NAME_LABEL = "kubernetes.io/metadata.name"
RULE_NAME = "deny-portworx-ports"
# Limits of the CRDs' schemas: CIDRs per networks peer, peers per rule, rules per object.
MAX_NETWORKS, MAX_PEERS, MAX_RULES = 25, 25, 25
MAX_PORTS = {"ClusterNetworkPolicy": 25, "AdminNetworkPolicy": 100}


class ClusterPolicyError(ValueError):
    """Input the cluster-scoped policies cannot be built from."""


def list_key(api, version):
    """The key under which the plan reads the list of one API in one version."""
    return "cluster:%s:%s" % (api, version)


def served(api, read):
    """(version, items) of the first version of ``api`` whose list could be read, or (None, None)."""
    for version in APIS[api]["versions"]:
        items = read.get(list_key(api, version))
        if items is not None:
            return version, items
    return None, None


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


def _rules(api, peer, node_cidrs, ranges, action="Deny", rule_name=RULE_NAME):
    if peer == "nodes":
        peer_groups = [[{"nodes": {}}]]
    else:
        peers = [{"networks": chunk} for chunk in _chunks(node_cidrs, MAX_NETWORKS)]
        peer_groups = _chunks(peers, MAX_PEERS)
    port_groups = _chunks(_ports(api, ranges), MAX_PORTS[api])
    rules = []
    for to in peer_groups:
        for ports in port_groups:
            rule = {"name": rule_name, "action": action, "to": to}
            rule["protocols" if api == "ClusterNetworkPolicy" else "ports"] = ports
            rules.append(rule)
    if len(rules) > MAX_RULES:
        raise ClusterPolicyError(
            "%d node CIDRs and %d port ranges need %d rules, more than the %d one %s holds: merge the node addresses "
            "(network_policy_node_cidr_mode 'subnet') or use network_policy_cluster_peer 'nodes'" % (
                len(node_cidrs), len(ranges), len(rules), MAX_RULES, api))
    return rules


def _object(api, name, priority, subject, egress, labels, version=None):
    spec = {"priority": priority, "subject": subject, "egress": egress}
    if api == "ClusterNetworkPolicy":
        spec["tier"] = "Admin"  # before every NetworkPolicy; the Baseline tier comes after them
    return {"apiVersion": api_version(api, version), "kind": api, "metadata": {"name": name, "labels": dict(labels)},
            "spec": spec}


def build(api, node_cidrs, ports, excluded, system_namespace, exempt, priority, block_name,
          peer="networks", namespace_selector=None, labels=None, version=None, metrics=(), metrics_ports=(),
          metrics_name="allow-portworx-metrics"):
    """The two objects, user namespaces first.

    ``node_cidrs`` are the merged node CIDRs (unused with the ``nodes`` peer),
    ``ports`` a port spec, ``excluded`` namespaces left out of the user object
    (the system namespace is always left out of it), ``exempt`` the document's
    [{key, values}] list, ``priority`` that of the user object (the system one
    takes the next number, so no two of ours share one), ``namespace_selector``
    a LabelSelector dict that narrows the user namespaces, ``version`` the API version to
    write (the API's first by default). ``metrics`` [{namespace, pods}] adds, per item, an
    object ``<metrics name>-<namespace>`` one priority before ours that allows those pods
    ``metrics_ports`` on the nodes."""
    if api not in APIS:
        raise ClusterPolicyError("api must be one of %s, got %r" % (", ".join(APIS), api))
    if version is not None and version not in APIS[api]["versions"]:
        raise ClusterPolicyError("version of %s must be one of %s, got %r" % (
            api, ", ".join(APIS[api]["versions"]), version))
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
    all_labels = dict(k8snames.MANAGED_BY)
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
    objects = [
        _object(api, block_name, priority, {"namespaces": users}, egress, all_labels, version),
        _object(api, "%s-%s" % (block_name, system_namespace), priority + 1, system, [dict(r) for r in egress],
                all_labels, version),
    ]
    if metrics:
        if priority < 1:
            raise ClusterPolicyError("the metrics access needs a priority before ours: priority must be 1 or more, "
                                     "got %r" % (priority,))
        allow = _rules(api, peer, nodes, portlib.parse_ports(list(metrics_ports)), APIS[api]["allow"],
                       "allow-portworx-metrics")
        for item in metrics:
            name = "%s-%s" % (metrics_name, item["namespace"])
            if k8snames.dns_subdomain_error(name):
                raise ClusterPolicyError("policy name %s" % k8snames.dns_subdomain_error(name))
            subject = {"pods": {"namespaceSelector": {"matchLabels": {NAME_LABEL: item["namespace"]}},
                                "podSelector": k8snames.label_selector(item.get("pods") or "")}}
            objects.append(_object(api, name, priority - 1, subject, [dict(r) for r in allow], all_labels, version))
    return objects


def stub(api, name, version=None):
    """What a delete needs."""
    return {"apiVersion": api_version(api, version), "kind": api, "metadata": {"name": name}}
