# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: probe_targets
author: clusterguard.portworx contributors (@clusterguard)
version_added: "2.1.0"
short_description: The TCP probes that show whether the workers' Portworx ports are guarded
description:
  - Takes the per-host plan of P(clusterguard.portworx.host_firewall_plan#module) and the workers' addresses,
    and returns the probes that the P(clusterguard.portworx.verify#role) role makes with
    P(clusterguard.portworx.tcp_probe#module).
  - From outside, every address of every worker on the first, the middle and the last port of each guarded
    range (expected dropped), and on the ports just outside each range (reported, not judged).
  - From each worker, a sample of the other workers on their first guarded port (expected to reach them).
  - Only addresses of the inventory are probed. Only TCP is probed.
positional: addresses, sample
options:
  _input:
    description: The C(hosts) result of P(clusterguard.portworx.host_firewall_plan#module).
    type: dict
    required: true
  addresses:
    description: The C(addresses) result of P(clusterguard.portworx.host_firewall_plan#module), per worker.
    type: dict
    required: true
  sample:
    description: How many other workers each worker probes.
    type: int
    default: 2
"""

EXAMPLES = r"""
- name: The probes to make
  ansible.builtin.set_fact:
    probes: "{{ plan.hosts | clusterguard.portworx.probe_targets(plan.addresses, 2) }}"
  # probes.outside: [{host: w1, address: 10.0.0.11, port: 9001, expect: blocked}, ...]
  # probes.peers: {w1: [{host: w2, address: 10.0.0.12, port: 9001, expect: open}, ...], ...}
"""

RETURN = r"""
_value:
  description: C(outside), a list of targets, and C(peers), the targets of each worker.
  type: dict
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("probe_targets")
def probe_targets(hosts, addresses, sample=2):
    return verify.probe_plan(dict(hosts), dict(addresses), int(sample))


class FilterModule:
    def filters(self):
        return {"probe_targets": probe_targets}
