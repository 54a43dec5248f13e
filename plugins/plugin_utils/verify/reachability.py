# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pods may reach on the nodes, judged from every policy the cluster holds.

NetworkPolicies add up: any policy of a namespace that allows a flow allows it, so our
block is void as soon as another team's policy opens the way. This module answers the
auditor's question ("which pods can reach the Portworx ports?") from the objects as the
API server returns them, ours and everyone else's:

* the Admin tier: AdminNetworkPolicy (v1alpha1) and ClusterNetworkPolicy with tier
  Admin (v1alpha2, v1beta1), by ascending priority, rules in order; the first rule that
  matches the flow decides. Allow/Accept allows, Deny denies, Pass leaves the tier;
* the NetworkPolicy tier: a pod that an Egress policy of its namespace selects may send
  exactly what one of those policies' rules allows;
* the Baseline tier, for pods no NetworkPolicy selects: ClusterNetworkPolicy with tier
  Baseline by priority, then the BaselineAdminNetworkPolicy;
* otherwise the flow is allowed.

The destinations are node addresses, which no pod holds: peers that select pods or
namespaces never match them, and neither do named ports nor domain names. Peers of
addresses (``ipBlock``, ``networks``) and of Nodes (``nodes``, by the Nodes' labels) do.
Two policies of one tier at the same priority are taken by name (the API leaves that
order to the implementation). Pure functions, no I/O.

This is the collection's own reading of the API references; the tests keep a second one
(tests/integration/netpol_eval.py) and each is judged by the other."""

from __future__ import annotations

import ipaddress
import json

ADMIN, NETWORK_POLICY, BASELINE = "Admin", "NetworkPolicy", "Baseline"
PROTOCOLS = ("TCP", "UDP", "SCTP")
ALLOWS = ("Allow", "Accept")
ADDRESS_TYPES = ("InternalIP", "ExternalIP")


class Policy:
    """One object, reduced to what decides an egress flow to a node address."""

    __slots__ = ("kind", "name", "namespace", "tier", "priority", "labels", "subject", "rules", "_dict")

    def __init__(self, kind, name, namespace, tier, priority, labels, subject, rules):
        self.kind, self.name, self.namespace, self.tier = kind, name, namespace, tier
        self.priority, self.labels, self.subject, self.rules = priority, labels, subject, rules
        self._dict = None

    def describe(self):
        where = "%s/%s" % (self.namespace, self.name) if self.namespace else self.name
        if self.tier == NETWORK_POLICY:
            return "NetworkPolicy %s" % where
        if self.priority is None:
            return "%s %s (%s tier)" % (self.kind, where, self.tier)
        return "%s %s (%s tier, priority %d)" % (self.kind, where, self.tier, self.priority)

    def as_dict(self):
        if self._dict is None:
            self._dict = {"kind": self.kind, "name": self.name, "namespace": self.namespace, "tier": self.tier,
                          "priority": self.priority, "labels": dict(self.labels), "text": self.describe()}
        return dict(self._dict)


# -- label selectors -----------------------------------------------------------
def selects(selector, labels):
    """A LabelSelector against a label map; None selects nothing, {} everything."""
    if selector is None:
        return False
    for key, want in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != want:
            return False
    for expr in selector.get("matchExpressions") or []:
        have, values = labels.get(expr.get("key")), expr.get("values") or []
        present = expr.get("key") in labels
        ok = {"In": present and have in values, "NotIn": not present or have not in values,
              "Exists": present, "DoesNotExist": not present}.get(expr.get("operator"), False)
        if not ok:
            return False
    return True


# -- reading the objects -------------------------------------------------------
def _networks(cidrs):
    out = []
    for cidr in cidrs or []:
        try:
            out.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue  # the API server validates these; an unreadable one matches nothing
    return out


def _np_peer(peer):
    block = peer.get("ipBlock")
    if block:
        return ("cidr", tuple(_networks([block.get("cidr")])), tuple(_networks(block.get("except"))))
    return ("none",)  # pods and namespaces: never a node address


def _cluster_peer(peer):
    if peer.get("networks"):
        return ("cidr", tuple(_networks(peer["networks"])), ())
    if "nodes" in peer:
        return ("nodes", json.dumps(peer["nodes"] or {}, sort_keys=True))
    return ("none",)


def _span(protocol, first, last=None):
    first = int(first)
    return (protocol.upper(), first, int(last) if last is not None else first)


def _np_ports(entries):
    """NetworkPolicy ports: None (every port) or [(protocol, first, last)]."""
    if not entries:
        return None
    out = []
    for entry in entries:
        protocol = entry.get("protocol") or "TCP"
        port = entry.get("port")
        if port is None:
            out.append((protocol, 1, 65535))
        elif isinstance(port, int):
            out.append(_span(protocol, port, entry.get("endPort") or port))
        # a named port names a container port of the destination pod: no node address has one
    return out


def _anp_ports(entries):
    if not entries:
        return None
    out = []
    for entry in entries:
        one, span = entry.get("portNumber"), entry.get("portRange")
        if one:
            out.append(_span(one.get("protocol") or "TCP", one["port"]))
        elif span:
            out.append(_span(span.get("protocol") or "TCP", span["start"], span["end"]))
    return out


def _cnp_ports(entries):
    if not entries:
        return None
    out = []
    for entry in entries:
        for protocol in PROTOCOLS:
            match = entry.get(protocol.lower())
            if match is None:
                continue
            port = (match or {}).get("destinationPort")
            if not port:
                out.append((protocol, 1, 65535))
            elif port.get("range"):
                out.append(_span(protocol, port["range"]["start"], port["range"]["end"]))
            elif port.get("number"):
                out.append(_span(protocol, port["number"]))
    return out


def _meta(obj):
    return obj.get("metadata") or {}


def _rule(action, peers, ports):
    """(action, peers or None, ports or None) as tuples: hashable, so that the same rule in many
    namespaces (ours are alike in each) is matched against an address once."""
    return (action, tuple(peers) if peers is not None else None, tuple(ports) if ports is not None else None)


def network_policy(obj):
    """A NetworkPolicy, or None when it does not isolate egress."""
    spec = obj.get("spec") or {}
    types = spec.get("policyTypes")
    if types is None:  # what the API server fills in when it is left out
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    if "Egress" not in types:
        return None
    rules = [_rule("Allow", [_np_peer(p) for p in rule.get("to") or []] or None, _np_ports(rule.get("ports")))
             for rule in spec.get("egress") or []]
    return Policy("NetworkPolicy", _meta(obj).get("name"), _meta(obj).get("namespace"), NETWORK_POLICY, None,
                  _meta(obj).get("labels") or {}, spec.get("podSelector") or {}, rules)


def cluster_policy(obj):
    """An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "ClusterNetworkPolicy":
        tier, ports = spec.get("tier") or ADMIN, _cnp_ports
    elif kind == "AdminNetworkPolicy":
        tier, ports = ADMIN, _anp_ports
    elif kind == "BaselineAdminNetworkPolicy":
        tier, ports = BASELINE, _anp_ports
    else:
        raise ValueError("not a cluster-scoped policy kind: %r" % kind)
    rules = [_rule(rule.get("action"), [_cluster_peer(p) for p in rule.get("to") or []], ports(
        rule.get("protocols") if kind == "ClusterNetworkPolicy" else rule.get("ports")))
        for rule in spec.get("egress") or []]
    return Policy(kind, _meta(obj).get("name"), None, tier, spec.get("priority"), _meta(obj).get("labels") or {},
                  spec.get("subject") or {}, rules)


def _subject_selects(subject, namespace_labels, pod_labels):
    if "namespaces" in subject:
        return selects(subject["namespaces"] or {}, namespace_labels)
    pods = subject.get("pods")
    if pods is None:
        return False
    return selects(pods.get("namespaceSelector") or {}, namespace_labels) and selects(
        pods.get("podSelector") or {}, pod_labels)


# -- the decision --------------------------------------------------------------
class Cluster:
    """Every policy of the cluster, and the Nodes (for ``nodes`` peers)."""

    def __init__(self, network_policies=(), cluster_policies=(), nodes=()):
        self.by_namespace = {}
        for obj in network_policies:
            policy = network_policy(obj)
            if policy:
                self.by_namespace.setdefault(policy.namespace, []).append(policy)
        order = {ADMIN: [], BASELINE: []}
        for obj in cluster_policies:
            policy = cluster_policy(obj)
            order.setdefault(policy.tier, []).append(policy)

        def rank(p):
            # the BaselineAdminNetworkPolicy has no priority: it comes after the Baseline ClusterNetworkPolicies
            return (p.priority if p.priority is not None else 1001, p.kind, p.name)

        self.admin = sorted(order[ADMIN], key=rank)
        self.baseline = sorted(order[BASELINE], key=rank)
        self._memo, self._matches, self._ids, self._numbers, self._keep = {}, {}, {}, {}, []
        self.node_addresses = []
        for node in nodes:
            labels = _meta(node).get("labels") or {}
            for entry in (node.get("status") or {}).get("addresses") or []:
                if entry.get("type") in ADDRESS_TYPES:
                    try:
                        self.node_addresses.append((ipaddress.ip_address(entry["address"]), labels))
                    except ValueError:
                        continue

    def policies(self):
        return self.admin + [p for ps in self.by_namespace.values() for p in ps] + self.baseline

    def _peer_matches(self, peer, address):
        if peer[0] == "cidr":
            return any(address.version == n.version and address in n for n in peer[1]) and not any(
                address.version == n.version and address in n for n in peer[2])
        if peer[0] == "nodes":
            selector = json.loads(peer[1])
            return any(a == address and selects(selector, labels) for a, labels in self.node_addresses)
        return False

    def _rule_matches(self, rule, address, protocol, port):
        # the same rule in many namespaces (ours are alike in each) is matched once per flow:
        # a rule's number is looked up by identity, its content hashed once per rule object
        number = self._numbers.get(id(rule))
        if number is None:
            number = self._numbers[id(rule)] = self._ids.setdefault(rule, len(self._ids))
            self._keep.append(rule)
        key = (number, address, protocol, port)
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = self._match(rule, address, protocol, port)
        return found

    def _match(self, rule, address, protocol, port):
        _action, peers, ports = rule
        if peers is not None and not any(self._peer_matches(p, address) for p in peers):
            return False
        return ports is None or any(p == protocol and lo <= port <= hi for p, lo, hi in ports)

    def _tier(self, tier, namespace_labels, pod_labels, address, protocol, port):
        """(action, policy) of the first rule of the tier that matches, or (None, None)."""
        for policy in tier:
            if not _subject_selects(policy.subject, namespace_labels, pod_labels):
                continue
            for rule in policy.rules:
                if self._rule_matches(rule, address, protocol, port):
                    return rule[0], policy
        return None, None

    def decide(self, namespace, namespace_labels, pod_labels, address, protocol, port):
        """(allowed, [policies that decided]) for a pod's egress flow to address:port.
        No policy in the list: nothing selects the pod, so the flow is allowed by default."""
        if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            address = ipaddress.ip_address(address)
        action, policy = self._tier(self.admin, namespace_labels, pod_labels, address, protocol, port)
        if action in ALLOWS:
            return True, [policy]
        if action == "Deny":
            return False, [policy]
        selecting = [p for p in self.by_namespace.get(namespace, []) if selects(p.subject, pod_labels)]
        if selecting:
            allowing = [p for p in selecting if any(self._rule_matches(r, address, protocol, port) for r in p.rules)]
            return (True, allowing) if allowing else (False, selecting)
        action, policy = self._tier(self.baseline, namespace_labels, pod_labels, address, protocol, port)
        if action in ALLOWS:
            return True, [policy]
        if action == "Deny":
            return False, [policy]
        return True, []

    # -- whole ranges and address classes ---------------------------------------
    def _cuts(self, protocol):
        cuts = set()
        for policy in self.policies():
            for _action, _peers, ports in policy.rules:
                for proto, lo, hi in ports or ():
                    if proto == protocol:
                        cuts.update((lo, hi + 1))
        return cuts

    def segments(self, protocol, ranges):
        """``ranges`` [(first, last)] cut where any rule's ports start or end: every port
        of a segment meets the same rules, so the first one stands for all."""
        key = (protocol, tuple(tuple(r) for r in ranges))
        if key not in self._memo:
            self._memo[key] = self._segments(protocol, ranges)
        return self._memo[key]

    def _segments(self, protocol, ranges):
        cuts = self._cuts(protocol)
        out = []
        for lo, hi in ranges:
            edges = sorted({lo, hi + 1} | {c for c in cuts if lo < c <= hi})
            out.extend((a, b - 1) for a, b in zip(edges, edges[1:]))
        return out

    def address_classes(self, addresses):
        """[[address, ...]]: addresses that every peer of every rule treats alike (computed
        once per address list: it depends on the policies only)."""
        key = ("addresses", tuple(addresses))
        if key in self._memo:
            return self._memo[key]
        peers = {}
        for policy in self.policies():
            for _a, ps, _p in policy.rules:
                for peer in ps or ():
                    peers.setdefault(repr(peer), peer)  # a peer many policies share is looked at once
        groups = {}
        for text in addresses:
            address = ipaddress.ip_address(text)
            signature = (address.version,) + tuple(self._peer_matches(p, address) for p in peers.values())
            groups.setdefault(signature, []).append(text)
        self._memo[key] = list(groups.values())
        return self._memo[key]


def _merge(spans):
    out = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def reach(cluster, subjects, addresses, guarded):
    """Which guarded ports each subject's pods reach on the node ``addresses``.

    ``subjects`` are [(namespace, namespace labels, pod labels)], ``guarded`` is
    {protocol: [(first, last)]}. Returns one finding per subject and protocol:
    {namespace, labels, protocol, open: [{addresses, ports, by}], blocked: [{addresses,
    ports, by}]}, where ``by`` lists the policies (as_dict) that decided, and an empty
    ``by`` with an open port means that no policy selects those pods."""
    classes = [(members, ipaddress.ip_address(members[0])) for members in cluster.address_classes(addresses)]
    findings = []
    for namespace, namespace_labels, pod_labels in subjects:
        for protocol in sorted(guarded):
            segments = cluster.segments(protocol, guarded[protocol])
            verdicts = {"open": {}, "blocked": {}}
            for members, first in classes:
                for lo, hi in segments:
                    allowed, deciders = cluster.decide(namespace, namespace_labels, pod_labels, first, protocol, lo)
                    key = (tuple(members), tuple((p.kind, p.namespace, p.name) for p in deciders))
                    entry = verdicts["open" if allowed else "blocked"].setdefault(key, {"spans": [], "by": deciders})
                    entry["spans"].append((lo, hi))
            finding = {"namespace": namespace, "labels": dict(pod_labels), "protocol": protocol}
            for state, found in verdicts.items():
                finding[state] = [{"addresses": sorted(key[0]), "ports": _merge(entry["spans"]),
                                   "by": [p.as_dict() for p in entry["by"]]} for key, entry in found.items()]
            findings.append(finding)
    return findings


def open_ports(finding, address):
    """The open (first, last) ranges of one finding at one address."""
    return _merge([span for item in finding["open"] if address in item["addresses"] for span in item["ports"]])
