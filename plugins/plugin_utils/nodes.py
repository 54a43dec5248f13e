# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's Nodes beside the inventory: both roles (and verify) ask which addresses the
Nodes have and which of them the inventory lacks. Neither role's engine owns this; both read it."""

from __future__ import annotations

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc


def node_addresses(nodes):
    """[(node, "InternalIP", address)] of Node objects, each address written as the inventory's are
    (``fd42:0::12`` becomes ``fd42::12``), so that the two compare; what is no host address is left out."""
    out = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        for item in (node.get("status") or {}).get("addresses") or []:
            if item.get("type") == "InternalIP" and netcalc.host_address_error(item.get("address", "")) is None:
                out.append((name, "InternalIP", str(netcalc.parse_network(item["address"]).ip)))
    return out


def odd_nodes(nodes):
    """[(node, address, why)] of InternalIPs that are no host address (an IPv4-mapped one, a network)."""
    out = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        for item in (node.get("status") or {}).get("addresses") or []:
            if item.get("type") == "InternalIP":
                why = netcalc.host_address_error(item.get("address", ""))
                if why:
                    out.append((name, item.get("address"), why))
    return out


def other_addresses(inventory, nodes):
    """[(node, address)]: InternalIPs of the Nodes that the inventory names (by one of their
    addresses) which the inventory does not give."""
    given = {a for _h, _v, a in inventory}
    by_node = {}
    for name, _t, address in node_addresses(nodes):
        by_node.setdefault(name, []).append(address)
    return [(name, a) for name, addrs in sorted(by_node.items()) if any(a in given for a in addrs)
            for a in addrs if a not in given]


def node_drift(inventory, nodes):
    """Warnings that compare addresses: cluster nodes the inventory lacks, inventory hosts the cluster lacks."""
    have = {(n.get("metadata") or {}).get("name"): [] for n in nodes}
    for name, _var, address in node_addresses(nodes):
        have[name].append(address)
    inv_addresses = {a for _h, _v, a in inventory}
    cluster_addresses = {a for addrs in have.values() for a in addrs}
    missing = ["%s (%s)" % (name, ", ".join(addrs)) for name, addrs in sorted(have.items())
               if addrs and not any(a in inv_addresses for a in addrs)]
    by_host = {}
    for host, _var, address in inventory:
        by_host.setdefault(host, []).append(address)
    extra = ["%s (%s)" % (host, ", ".join(addrs)) for host, addrs in by_host.items()
             if not any(a in cluster_addresses for a in addrs)]
    return missing, extra
