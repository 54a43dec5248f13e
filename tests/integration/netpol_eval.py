"""An independent evaluator of Kubernetes NetworkPolicy egress semantics.

Written from the networking.k8s.io/v1 API reference, sharing no code with the
collection. It takes policies as the API server returns them (defaults filled
in: protocol TCP, policyTypes) as plain dicts (camelCase keys) and answers
whether a connection from a pod to an IP address is allowed.

Rules implemented:
* A pod is egress-isolated when at least one policy in its namespace selects it
  (podSelector) and lists Egress in policyTypes. A pod that is not isolated may
  send anything.
* An isolated pod may send a packet when any egress rule of any selecting
  policy allows it (policies are additive; order does not matter).
* A rule allows a packet when both its ``to`` and its ``ports`` match. A
  missing or empty ``to`` matches every destination; a missing or empty
  ``ports`` matches every port and protocol.
* ``ipBlock`` matches an address inside ``cidr`` and outside every ``except``.
  Pod and namespace selectors match pods only; our destinations are addresses
  that no pod holds (nodes, the outside world), so they never match them.
* A port entry matches the protocol (TCP when absent) and, when ``port`` is
  set, that port or the range ``port``..``endPort``; without ``port`` every
  port of the protocol matches.
* Label selectors: matchLabels and matchExpressions (In, NotIn, Exists,
  DoesNotExist) are ANDed; an empty selector matches every pod.

Cluster-scoped policies (sig-network network-policy-api), from its API reference:
* Tiers, in order: the Admin tier (ClusterNetworkPolicy with tier Admin, and
  every AdminNetworkPolicy), then NetworkPolicy, then the Baseline tier
  (ClusterNetworkPolicy with tier Baseline), then allow.
* Within a tier, policies by ascending priority, and within a policy its rules
  in the order written: the first rule that matches decides. Accept/Allow
  allows, Deny denies, Pass skips the rest of the tier and goes on to the
  NetworkPolicy tier.
* The NetworkPolicy tier decides only for pods that a NetworkPolicy selects;
  others go on to the Baseline tier.
* A subject ``namespaces`` selector matches the pod's namespace labels; a
  ``pods`` subject needs both its namespaceSelector and its podSelector.
* A ``networks`` peer matches an address inside one of its CIDRs; a ``nodes``
  peer matches the addresses in status.addresses of the Nodes it selects.
* Ports: ClusterNetworkPolicy ``protocols`` entries {tcp|udp|sctp:
  {destinationPort: {number} | {range: {start, end}}}}; AdminNetworkPolicy
  ``ports`` entries portNumber {protocol, port} or portRange {protocol, start,
  end}. No list matches every port and protocol."""

import ipaddress


def selector_matches(selector, labels):
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer, dest_ip):
    block = peer.get("ipBlock")
    if not block:
        return False  # pod/namespace selectors never match a non-pod address
    addr = ipaddress.ip_address(dest_ip)
    net = ipaddress.ip_network(block["cidr"], strict=False)
    if addr.version != net.version or addr not in net:
        return False
    return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


def _port_matches(entry, protocol, port):
    if entry.get("protocol", "TCP") != protocol:
        return False
    if entry.get("port") is None:
        return True
    start = int(entry["port"])
    end = int(entry.get("endPort") or start)
    return start <= port <= end


def egress_allowed(policies, namespace, pod_labels, dest_ip, protocol, port):
    selecting = [
        p for p in policies
        if p["metadata"]["namespace"] == namespace
        and "Egress" in (p["spec"].get("policyTypes") or [])
        and selector_matches(p["spec"].get("podSelector"), pod_labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("egress") or []:
            peers = rule.get("to") or []
            ports = rule.get("ports") or []
            if peers and not any(_peer_matches(peer, dest_ip) for peer in peers):
                continue
            if ports and not any(_port_matches(e, protocol, port) for e in ports):
                continue
            return True
    return False


# -- cluster-scoped policies ---------------------------------------------------
def _in_any(dest_ip, cidrs):
    addr = ipaddress.ip_address(dest_ip)
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if addr.version == net.version and addr in net:
            return True
    return False


def _cluster_peer_matches(peer, dest_ip, nodes):
    if "networks" in peer:
        return _in_any(dest_ip, peer["networks"])
    if "nodes" in peer:
        for node in nodes:
            if selector_matches(peer["nodes"], node["metadata"].get("labels") or {}):
                if any(ipaddress.ip_address(a["address"]) == ipaddress.ip_address(dest_ip) for a in (node.get("status") or {}).get("addresses") or []
                       if a.get("type") in ("InternalIP", "ExternalIP")):
                    return True
    return False  # namespaces and pods peers: our destinations are no pods


def _cluster_port_matches(kind, rule, protocol, port):
    if kind == "ClusterNetworkPolicy":
        entries = rule.get("protocols")
        if not entries:
            return True
        for entry in entries:
            match = entry.get(protocol.lower())
            if match is None:
                continue
            dest = match.get("destinationPort") or {}
            if "number" in dest and dest["number"] == port:
                return True
            if "range" in dest and dest["range"]["start"] <= port <= dest["range"]["end"]:
                return True
        return False
    entries = rule.get("ports")
    if not entries:
        return True
    for entry in entries:
        one = entry.get("portNumber")
        if one and one.get("protocol", "TCP") == protocol and one["port"] == port:
            return True
        span = entry.get("portRange")
        if span and span.get("protocol", "TCP") == protocol and span["start"] <= port <= span["end"]:
            return True
    return False


def _subject_matches(subject, namespace_labels, pod_labels):
    if "namespaces" in subject:
        return selector_matches(subject["namespaces"], namespace_labels)
    pods = subject.get("pods") or {}
    return selector_matches(pods.get("namespaceSelector"), namespace_labels) and selector_matches(
        pods.get("podSelector"), pod_labels)


def _tier_decision(objects, tier, namespace_labels, pod_labels, dest_ip, protocol, port, nodes):
    """allow, deny, pass or None (no rule of the tier matched)."""
    chosen = [o for o in objects if (o["kind"] == "AdminNetworkPolicy" and tier == "Admin")
              or (o["kind"] == "ClusterNetworkPolicy" and o["spec"].get("tier") == tier)]
    for obj in sorted(chosen, key=lambda o: o["spec"]["priority"]):
        if not _subject_matches(obj["spec"]["subject"], namespace_labels, pod_labels):
            continue
        for rule in obj["spec"].get("egress") or []:
            if any(_cluster_peer_matches(p, dest_ip, nodes) for p in rule.get("to") or []) and _cluster_port_matches(
                    obj["kind"], rule, protocol, port):
                return {"Accept": "allow", "Allow": "allow", "Deny": "deny", "Pass": "pass"}[rule["action"]]
    return None


def connection_allowed(policies, cluster_objects, nodes, namespace, namespace_labels, pod_labels, dest_ip, protocol,
                       port):
    """Every tier: is egress from a pod (namespace, labels) to dest_ip:port allowed?
    ``cluster_objects`` carry their ``kind``; ``nodes`` are Node objects (for ``nodes`` peers)."""
    decision = _tier_decision(cluster_objects, "Admin", namespace_labels, pod_labels, dest_ip, protocol, port, nodes)
    if decision in ("allow", "deny"):
        return decision == "allow"
    selected = any(p["metadata"]["namespace"] == namespace and "Egress" in (p["spec"].get("policyTypes") or [])
                   and selector_matches(p["spec"].get("podSelector"), pod_labels) for p in policies)
    if selected:
        return egress_allowed(policies, namespace, pod_labels, dest_ip, protocol, port)
    decision = _tier_decision(cluster_objects, "Baseline", namespace_labels, pod_labels, dest_ip, protocol, port, nodes)
    if decision in ("allow", "deny"):
        return decision == "allow"
    return True
