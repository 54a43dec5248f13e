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
  - For each host name of the input, reads the first of O(variables) that the host defines and
    returns its value(s). A host that defines none of them counts with its inventory name when
    that name is an IP address, and is an error otherwise.
  - Variables later in O(variables) are read too, when they hold an address of the other
    family, so that C(['ansible_host', 'node_ipv6']) collects both addresses of a dual-stack node.
  - A variable may hold one address or a list of addresses.
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

import ipaddress

from ansible.errors import AnsibleFilterError


def _is_address(value):
    try:
        ipaddress.ip_interface(str(value))
        return True
    except ValueError:
        return False


def host_addresses(hosts, hostvars, variables=None):
    variables = variables or ["ansible_host"]
    if isinstance(variables, str):
        variables = [variables]
    out = []
    for host in hosts:
        try:
            hvars = hostvars[host]
        except KeyError:
            raise AnsibleFilterError("host_addresses: %r is not an inventory host" % (host,)) from None
        found = []
        for var in variables:
            value = hvars.get(var) if hasattr(hvars, "get") else None
            if value in (None, ""):
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                item = str(item)
                if not _is_address(item):
                    raise AnsibleFilterError(
                        "host_addresses: %s of host %s is %r, which is not an IP address" % (var, host, item))
                found.append(item)
        if not found:
            if not _is_address(host):
                raise AnsibleFilterError(
                    "host_addresses: host %s defines none of %s and its name is not an IP address"
                    % (host, ", ".join(variables)))
            found.append(str(host))
        out.extend(found)
    return out


class FilterModule:
    def filters(self):
        return {"host_addresses": host_addresses}
