# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: changed_objects
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The wanted objects that the cluster does not already hold as wanted
description:
  - Compares wanted objects with the ones read from the cluster (same namespace and name) and returns
    those whose C(spec) differs or that lack a wanted label, and those that do not exist.
  - The network_policy role applies only these, so a run with nothing to change makes no write call,
    however many namespaces there are. An object edited by hand differs and is applied again.
positional: existing
options:
  _input:
    description: Wanted objects.
    type: list
    elements: dict
    required: true
  existing:
    description: Objects read from the cluster, such as the C(resources) of C(kubernetes.core.k8s_info).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply only what differs
  kubernetes.core.k8s:
    definition: "{{ wanted | clusterguard.portworx.changed_objects(found.resources) }}"
    apply: true
    server_side_apply:
      field_manager: clusterguard.portworx
"""

RETURN = r"""
_value:
  description: The wanted objects to apply, in their original order.
  type: list
  elements: dict
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("changed_objects", policies.PolicyError)
def changed_objects(wanted, existing):
    return policies.changed(wanted, existing)


class FilterModule:
    def filters(self):
        return {"changed_objects": changed_objects}
