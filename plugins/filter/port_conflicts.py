# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: port_conflicts
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The ports that two port lists have in common
description:
  - Returns, as strings such as C(9001-9022) or C(22), the ports present both in the input and in O(others).
  - The host_firewall role uses it to refuse a port range that holds the SSH port Ansible is connected on.
positional: others
options:
  _input:
    description: Ports and port ranges.
    type: raw
    required: true
  others:
    description: Ports and port ranges to compare with.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Never firewall the SSH port
  ansible.builtin.assert:
    that: (['1-1024'] | clusterguard.portworx.port_conflicts([ansible_port | default(22)])) == []
"""

RETURN = r"""
_value:
  description: Shared ports and ranges; empty when there are none.
  type: list
  elements: str
"""

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("port_conflicts")
def port_conflicts(spec, others):
    return ports.range_strings(ports.intersect(ports.parse_ports(spec), ports.parse_ports(others)))


class FilterModule:
    def filters(self):
        return {"port_conflicts": port_conflicts}
