# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: node_cidrs
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The shortest CIDR list that covers exactly the given addresses
description:
  - Takes node addresses (IPv4 and IPv6, bare or as CIDRs, in any order, with duplicates)
    and returns the minimal list of CIDRs that covers exactly those addresses and no other.
  - IPv4 networks come first, then IPv6, each in address order.
  - A CIDR with host bits set (C(10.1.2.3/16)) is refused, since a firewall should not guess
    whether the host or the network was meant.
  - Needs the Python package C(netaddr) on the controller.
positional: family
options:
  _input:
    description: Addresses or CIDR strings.
    type: list
    elements: str
    required: true
  family:
    description: Keep only one family (C(4), C(6), C(ipv4) or C(ipv6)). All by default.
    type: raw
seealso:
  - plugin: ansible.utils.cidr_merge
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Four neighbours merge into one /30, the rest stay as host routes
  ansible.builtin.debug:
    msg: "{{ ['10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.0', '10.0.0.9', 'fd00::1'] | clusterguard.portworx.node_cidrs }}"
  # => ['10.0.0.0/30', '10.0.0.9/32', 'fd00::1/128']

- name: Only the IPv6 addresses of the workers
  ansible.builtin.set_fact:
    worker_v6: "{{ groups['workers'] | map('extract', hostvars, 'ansible_host') | clusterguard.portworx.node_cidrs(6) }}"
"""

RETURN = r"""
_value:
  description: CIDR strings, IPv4 first; empty when the input (of that family) is empty.
  type: list
  elements: str
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("node_cidrs")
def node_cidrs(addresses, family=None):
    return netcalc.node_cidrs(addresses, family)


class FilterModule:
    def filters(self):
        return {"node_cidrs": node_cidrs}
