# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: node_subnet
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The single network that holds every node address
description:
  - Without O(prefix), returns the smallest network that contains all the given addresses.
  - With O(prefix) (the Portworx document's C(/16)), returns that network, and fails when
    it cannot hold every address.
  - Addresses of both families need O(family); otherwise the filter fails rather than guess.
  - Needs the Python package C(netaddr) on the controller.
positional: prefix, family
options:
  _input:
    description: Addresses or CIDR strings.
    type: list
    elements: str
    required: true
  prefix:
    description: Prefix length of the network to return, such as C(16) or C(/16).
    type: raw
  family:
    description: Use only addresses of this family (C(4), C(6), C(ipv4) or C(ipv6)).
    type: raw
"""

EXAMPLES = r"""
- name: The smallest subnet of the workers
  ansible.builtin.debug:
    msg: "{{ ['10.20.1.5', '10.20.3.7'] | clusterguard.portworx.node_subnet }}"
  # => 10.20.0.0/22

- name: The doc's blanket /16
  ansible.builtin.debug:
    msg: "{{ ['10.20.1.5', '10.20.3.7'] | clusterguard.portworx.node_subnet(16) }}"
  # => 10.20.0.0/16

- name: IPv6 part of a dual-stack inventory
  ansible.builtin.debug:
    msg: "{{ ['10.20.1.5', 'fd00:1::5', 'fd00:1::9'] | clusterguard.portworx.node_subnet(family=6) }}"
  # => fd00:1::/124
"""

RETURN = r"""
_value:
  description: One CIDR string.
  type: str
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("node_subnet")
def node_subnet(addresses, prefix=None, family=None):
    return netcalc.node_subnet(addresses, prefix, family)


class FilterModule:
    def filters(self):
        return {"node_subnet": node_subnet}
