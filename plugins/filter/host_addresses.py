# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: host_addresses
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The node addresses of inventory hosts, from the host variables that hold them
description:
  - For each host name of the input and for each family (IPv4, IPv6), the first of O(variables)
    that holds an address of that family wins; later variables of the same family are ignored,
    so a management address in a later variable never becomes a node address by accident.
    C(['node_ip', 'node_ipv6']) collects both addresses of a dual-stack node.
  - A host that defines none of them counts with its inventory name when that name is an IP
    address, and is an error otherwise.
  - A variable may hold one address or a list of addresses. Each must be the address of one host;
    networks, IPv4-mapped IPv6, loopback, multicast and unspecified addresses are refused.
  - Feed the result to P(clusterguard.portworx.node_cidrs#filter).
positional: hostvars, variables
options:
  _input:
    description: Inventory host names, such as C(groups['workers']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  variables:
    description: Host variables that hold the node's cluster address(es), in order of preference.
    type: list
    elements: str
    default: [ansible_host]
"""

EXAMPLES = r"""
- name: Addresses of every worker, IPv6 from node_ipv6 where set
  ansible.builtin.set_fact:
    worker_cidrs: >-
      {{ groups['workers'] | clusterguard.portworx.host_addresses(hostvars, ['ansible_host', 'node_ipv6'])
         | clusterguard.portworx.node_cidrs }}
"""

RETURN = r"""
_value:
  description: Address strings in host order (not merged, may repeat).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc


def host_addresses(hosts, hostvars, variables=None):
    variables = variables or ["ansible_host"]
    if isinstance(variables, str):
        variables = [variables]
    for host in hosts:
        if host not in hostvars:
            raise AnsibleFilterError("host_addresses: %r is not an inventory host" % (host,))

    def lookup(host, var):
        hvars = hostvars[host]
        return hvars.get(var) if hasattr(hvars, "get") else None

    try:
        found, errors = netcalc.inventory_addresses(hosts, lookup, variables)
    except netcalc.AddressError as exc:
        raise AnsibleFilterError("host_addresses: %s" % exc) from None
    if errors:
        raise AnsibleFilterError("host_addresses: %s" % errors[0])
    return [address for _host, _var, address in found]


class FilterModule:
    def filters(self):
        return {"host_addresses": host_addresses}
