# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The output options shared by the port_ranges and port_complement filters.
    DOCUMENTATION = r"""
options:
  style:
    description:
      - Output form. V(ranges) gives C([first, last]) pairs, V(strings) gives C(9001-9022) or C(9001),
        V(iptables) gives C(multiport --dports) arguments of at most 15 slots each (a range takes two),
        V(networkpolicy) gives NetworkPolicy C(ports) entries with C(protocol), C(port) and C(endPort).
    type: str
    default: ranges
    choices: [ranges, strings, iptables, networkpolicy]
  protocol:
    description: Protocol of the NetworkPolicy entries (O(style=networkpolicy) only).
    type: str
    default: TCP
    choices: [TCP, UDP, SCTP]
"""
