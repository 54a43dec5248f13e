# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: stale_objects
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Our NetworkPolicies on the cluster that are no longer wanted
description:
  - Compares the policies found on the cluster (with our C(managed-by) label) with the wanted list,
    and returns a minimal definition (kind, name, namespace) of each one to delete, for example
    after a namespace was dropped from the selection.
positional: wanted
options:
  _input:
    description: Objects found on the cluster, such as the C(resources) of C(kubernetes.core.k8s_info).
    type: list
    elements: dict
    required: true
  wanted:
    description: Objects that should exist.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Delete our policies that are no longer wanted
  kubernetes.core.k8s:
    state: absent
    definition: "{{ found.resources | clusterguard.portworx.stale_objects(wanted) }}"
"""

RETURN = r"""
_value:
  description: Definitions to delete (apiVersion, kind, metadata.name, metadata.namespace).
  type: list
  elements: dict
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("stale_objects", policies.PolicyError)
def stale_objects(existing, wanted):
    return policies.stale(existing, wanted)


class FilterModule:
    def filters(self):
        return {"stale_objects": stale_objects}
