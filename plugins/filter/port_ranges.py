# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: port_ranges
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Normalise ports and port ranges, and render them for iptables or NetworkPolicy
description:
  - Accepts C(9001), C("9001"), C("9001-9022"), C("9001:9022"), a comma-separated string of
    those, or a list of them, and merges them into sorted, non-overlapping, non-adjacent ranges.
  - Renders the result as pairs, as short strings, as iptables C(multiport --dports) arguments
    (split so that no argument exceeds the 15 slots multiport allows, a range taking two), or
    as NetworkPolicy C(ports) entries with C(port) and C(endPort).
  - Pure Python; does not need netaddr.
extends_documentation_fragment:
  - clusterguard.portworx.port_style
positional: style, protocol
options:
  _input:
    description: Ports and port ranges.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Canonical ranges
  ansible.builtin.debug:
    msg: "{{ ['9010-9022', 9001, '9002:9009'] | clusterguard.portworx.port_ranges }}"
  # => [[9001, 9022]]

- name: Arguments for iptables -m multiport --dports
  ansible.builtin.debug:
    msg: "{{ '9001-9022,17001-17022' | clusterguard.portworx.port_ranges('iptables') }}"
  # => ['9001:9022,17001:17022']

- name: NetworkPolicy ports
  ansible.builtin.debug:
    msg: "{{ '9001-9022' | clusterguard.portworx.port_ranges('networkpolicy') }}"
  # => [{'protocol': 'TCP', 'port': 9001, 'endPort': 9022}]
"""

RETURN = r"""
_value:
  description:
    - V(ranges) gives a list of C([first, last]) pairs; V(strings) gives C(9001-9022) or C(9001) strings;
      V(iptables) gives C(--dports) arguments; V(networkpolicy) gives dicts with C(protocol), C(port) and,
      for ranges, C(endPort).
  type: list
"""

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors, render_ports


@filter_errors("port_ranges")
def port_ranges(spec, style="ranges", protocol="TCP"):
    return render_ports(ports.parse_ports(spec), style, protocol)


class FilterModule:
    def filters(self):
        return {"port_ranges": port_ranges}
