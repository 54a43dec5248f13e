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
  DoesNotExist) are ANDed; an empty selector matches every pod."""

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
