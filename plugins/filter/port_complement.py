# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: port_complement
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Every port of 1-65535 that is not in the given ports
description:
  - Returns the ranges of 1-65535 that the input leaves out, so that a NetworkPolicy can allow
    every port but the Portworx ones.
  - Takes the same input and output styles as P(clusterguard.portworx.port_ranges#filter).
extends_documentation_fragment:
  - clusterguard.portworx.port_style
positional: style, protocol
options:
  _input:
    description: Ports and port ranges to leave out.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Every TCP port but Portworx's, as NetworkPolicy ports
  ansible.builtin.debug:
    msg: "{{ '9001-9022' | clusterguard.portworx.port_complement('networkpolicy') }}"
  # => [{'protocol': 'TCP', 'port': 1, 'endPort': 9000}, {'protocol': 'TCP', 'port': 9023, 'endPort': 65535}]
"""

RETURN = r"""
_value:
  description: The ports left out, in the chosen style (see P(clusterguard.portworx.port_ranges#filter)).
  type: list
"""

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors, render_ports


@filter_errors("port_complement")
def port_complement(spec, style="ranges", protocol="TCP"):
    return render_ports(ports.complement(ports.parse_ports(spec)), style, protocol)


class FilterModule:
    def filters(self):
        return {"port_complement": port_complement}
