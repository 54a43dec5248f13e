# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cidr_overlaps
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Which networks of one list share addresses with another list
description:
  - Compares every CIDR of the input with every CIDR of O(others) and returns the pairs that
    share at least one address. Networks of different families never overlap.
  - The roles use it to refuse a node subnet that also holds pod or service addresses, where
    the Portworx document's blanket C(/16) would cut pod-to-pod traffic.
  - Needs the Python package C(netaddr) on the controller.
positional: others
options:
  _input:
    description: Addresses or CIDR strings, such as the node CIDRs.
    type: list
    elements: str
    required: true
  others:
    description: Addresses or CIDR strings to compare with, such as the pod and service CIDRs.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a node subnet that holds the pod network
  ansible.builtin.assert:
    that: (['10.0.0.0/16'] | clusterguard.portworx.cidr_overlaps(['10.0.128.0/17', '10.96.0.0/12'])) == []
    fail_msg: the node subnet overlaps the pod or service CIDR
"""

RETURN = r"""
_value:
  description: One entry per overlapping pair; empty when nothing overlaps.
  type: list
  elements: dict
  contains:
    cidr:
      description: The network from the input.
      type: str
    other:
      description: The network from O(others) that it overlaps.
      type: str
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("cidr_overlaps")
def cidr_overlaps(cidrs, others):
    return netcalc.cidr_overlaps(cidrs, others)


class FilterModule:
    def filters(self):
        return {"cidr_overlaps": cidr_overlaps}
