# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NetworkPolicy objects of steps 2 and 3 of the Portworx document.

Two modes:

* ``seed`` renders the document's policies as written. They make the selected
  pods egress-isolated and allow only what they list, so everything else those
  pods send (cluster DNS, the kubelet, NodePorts) is cut.
* ``precise`` (default) blocks only what the document means to block: TCP to
  the Portworx ports on node addresses. It allows all egress to non-node
  addresses (IPv4 and IPv6), every other TCP port on the nodes, and all UDP
  and SCTP.

NetworkPolicies only add allowances, so the only way to subtract one port
range is to allow its complement; that is what the node rule does."""

from __future__ import annotations

import copy

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import k8snames, kubeobjects, netcalc

# Defined once, in the module that network_policy and verify share; here for the filters.
PolicyError = kubeobjects.PolicyError
exempt_expressions = kubeobjects.exempt_expressions

MODES = ("precise", "seed")
# The document's exempt list: pods with any of these labels may reach the Portworx ports.
DOC_EXEMPT = [
    {"key": "name", "values": ["scheduler"]},
    {"key": "component", "values": ["stork"]},
    {"key": "tier", "values": ["control-plane"]},
    {"key": "k8s-app", "values": ["kube-controller-manager"]},
    {"key": "name", "values": ["portworx-pvc-controller"]},
    {"key": "tier", "values": ["px-web-console"]},
]


def _check_name(value, what):
    check = k8snames.dns_label_error if what == "namespace" else k8snames.dns_subdomain_error
    if check(value):
        raise PolicyError("%s %s" % (what, check(value)))
    return value


def _world(version, except_cidrs):
    block = {"cidr": "0.0.0.0/0" if version == 4 else "::/0"}
    if except_cidrs:
        block["except"] = list(except_cidrs)
    return {"ipBlock": block}


def _split(cidrs):
    v4 = [c for c in cidrs if ":" not in c]
    v6 = [c for c in cidrs if ":" in c]
    return v4, v6


def _precise_egress(node_cidrs, guarded):
    v4, v6 = _split(node_cidrs)
    open_ports = portlib.policy_ports(portlib.complement(guarded), "TCP")
    open_ports += [{"protocol": "UDP"}, {"protocol": "SCTP"}]
    rules = [{"to": [_world(4, v4), _world(6, v6)]}]
    if node_cidrs:
        rules.append({"to": [{"ipBlock": {"cidr": c}} for c in node_cidrs], "ports": open_ports})
    return rules


def _policy(name, namespace, pod_selector, egress, labels):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"podSelector": pod_selector, "policyTypes": ["Egress"], "egress": egress},
    }


def build(node_cidrs, namespaces, mode="precise", ports="9001-9023", exempt=None,
          system_namespace="kube-system", seed_allow_ports=(8099,), api_port=6443,
          api_cidrs=(), block_name="block-9001-for-non-system-users", api_name="allow-api",
          labels=None, metrics=(), metrics_ports=(), metrics_name="allow-portworx-metrics"):
    """All policy objects, system namespace first, in a stable order.

    ``metrics`` is [{namespace, pods}] (pods a label selector string): in each of those
    namespaces that gets our block policy, a policy that lets the selected pods reach
    ``metrics_ports`` on the nodes. It selects only pods the block policy selects too
    (in the system namespace: those without an exempt label), so it never makes a pod
    egress-isolated that was not already."""
    if mode not in MODES:
        raise PolicyError("mode must be one of %s, got %r" % (", ".join(MODES), mode))
    nodes = netcalc.node_cidrs(node_cidrs)
    if not nodes:
        raise PolicyError("no node addresses: the policies would not block anything")
    guarded = portlib.parse_ports(ports)
    if not guarded:
        raise PolicyError("no ports to block")
    api = portlib.parse_ports([api_port])
    apis = netcalc.node_cidrs(list(api_cidrs))
    for ns in [system_namespace] + list(namespaces):
        _check_name(ns, "namespace")
    for value, what in ((block_name, "policy name"), (api_name, "policy name")):
        _check_name(value, what)
    all_labels = dict(k8snames.MANAGED_BY)
    all_labels.update(labels or {})
    exprs = exempt_expressions(DOC_EXEMPT if exempt is None else exempt)
    system_selector = {"matchExpressions": exprs} if exprs else {}

    if mode == "precise":
        system_egress = _precise_egress(nodes, guarded)
        user_egress = _precise_egress(nodes, guarded)
    else:
        v4, _v6 = _split(nodes)
        allow = portlib.parse_ports(list(seed_allow_ports)) if seed_allow_ports else []
        system_rule = {"to": [_world(4, v4)]}
        if allow:
            system_rule["ports"] = portlib.policy_ports(allow, "TCP")
        system_egress = [system_rule]
        user_egress = [{"to": [_world(4, v4)]}]
    api_egress = [{
        "to": [{"ipBlock": {"cidr": c}} for c in nodes + [a for a in apis if a not in nodes]],
        "ports": portlib.policy_ports(api, "TCP"),
    }]

    objects = [_policy(block_name, system_namespace, system_selector, system_egress, all_labels)]
    scrapers = {item["namespace"]: k8snames.label_selector(item.get("pods") or "") for item in metrics or ()}
    scrape_ports = portlib.parse_ports(list(metrics_ports)) if scrapers else []
    if scrapers and not scrape_ports:
        raise PolicyError("no metrics ports for the metrics access")
    if system_namespace in scrapers:
        _check_name(metrics_name, "policy name")
        objects.append(_policy(metrics_name, system_namespace, _narrowed(scrapers[system_namespace], exprs),
                               _to_nodes(nodes, scrape_ports), all_labels))
    for ns in sorted(set(namespaces)):
        if ns == system_namespace:
            continue
        objects.append(_policy(block_name, ns, {}, copy.deepcopy(user_egress), all_labels))
        objects.append(_policy(api_name, ns, {}, copy.deepcopy(api_egress), all_labels))
        if ns in scrapers:
            objects.append(_policy(metrics_name, ns, scrapers[ns], _to_nodes(nodes, scrape_ports), all_labels))
    return objects


def _to_nodes(nodes, ranges):
    return [{"to": [{"ipBlock": {"cidr": c}} for c in nodes], "ports": portlib.policy_ports(ranges, "TCP")}]


def _narrowed(selector, exprs):
    """``selector`` and the NotIn expressions of the exempt labels, as one LabelSelector."""
    out = copy.deepcopy(selector)
    if exprs:
        out["matchExpressions"] = list(out.get("matchExpressions") or []) + copy.deepcopy(exprs)
    return out


def select_namespaces(existing, names=(), all_namespaces=False, exclude=()):
    """Which namespaces get policies, and which listed ones do not exist.

    ``existing`` is the list of namespace names on the cluster (already filtered
    by a label selector when the user gave one)."""
    existing = list(existing)
    for ns in list(names) + list(exclude):
        _check_name(ns, "namespace")
    if all_namespaces:
        chosen = [ns for ns in existing if ns not in exclude]
    else:
        chosen = [ns for ns in names if ns in existing and ns not in exclude]
    missing = [ns for ns in names if ns not in existing]
    return {"selected": sorted(set(chosen)), "missing": sorted(set(missing))}


def stale(existing_policies, wanted):
    """Our policies on the cluster that the wanted list no longer holds."""
    keep = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in wanted}
    out = []
    for obj in existing_policies:
        meta = obj.get("metadata", {})
        key = (meta.get("namespace"), meta.get("name"))
        if key not in keep:
            out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": key[1], "namespace": key[0]}})
    return out


def changed(wanted, existing_objects):
    """The wanted objects that the cluster does not hold as wanted.

    An object is unchanged when one with the same namespace and name exists,
    its spec equals the wanted spec, and it carries every wanted label. The API
    server keeps our specs as sent (we set every field it would default), so a
    plain comparison is exact; anything else, such as an edit by hand, differs
    and is applied again."""
    have = {}
    for obj in existing_objects:
        meta = obj.get("metadata", {})
        have[(meta.get("namespace"), meta.get("name"))] = obj
    out = []
    for obj in wanted:
        meta = obj["metadata"]
        cur = have.get((meta.get("namespace"), meta["name"]))
        if cur is None or cur.get("spec") != obj.get("spec"):
            out.append(obj)
            continue
        labels = cur.get("metadata", {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in (meta.get("labels") or {}).items()):
            out.append(obj)
    return out
