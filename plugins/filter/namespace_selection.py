# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: namespace_selection
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Which namespaces get the Portworx NetworkPolicies
description:
  - Given the namespaces that exist, returns the ones to protect, and the listed ones that do not exist
    (so that a caller can warn about them and skip them).
  - With O(all_namespaces), every existing namespace but O(exclude); otherwise the O(names) that exist,
    less O(exclude).
options:
  _input:
    description: Names of the namespaces on the cluster (filtered by a label selector beforehand, if any).
    type: list
    elements: str
    required: true
  names:
    description: Namespaces asked for by name.
    type: list
    elements: str
    default: []
  all_namespaces:
    description: Select every existing namespace but O(exclude).
    type: bool
    default: false
  exclude:
    description: Namespaces never selected (system and Portworx namespaces).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Every namespace but the system ones
  ansible.builtin.set_fact:
    chosen: "{{ ['default', 'team-a', 'kube-system'] | clusterguard.portworx.namespace_selection(all_namespaces=true, exclude=['kube-system']) }}"
  # => {'selected': ['default', 'team-a'], 'missing': []}
"""

RETURN = r"""
_value:
  description: The selection.
  type: dict
  contains:
    selected:
      description: Namespaces to protect, sorted.
      type: list
      elements: str
    missing:
      description: Namespaces of O(names) that do not exist.
      type: list
      elements: str
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("namespace_selection", policies.PolicyError)
def namespace_selection(existing, names=(), all_namespaces=False, exclude=()):
    return policies.select_namespaces(existing, names or (), all_namespaces, exclude or ())


class FilterModule:
    def filters(self):
        return {"namespace_selection": namespace_selection}
