# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: network_policies
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: The NetworkPolicies that keep pods off the Portworx ports of the nodes
description:
  - Builds the objects of steps 2 and 3 of the Portworx document "Securing Portworx API endpoints"
    (C(block-9001-for-non-system-users) in the system namespace and in every user namespace, and
    C(allow-api) in every user namespace), ready for one C(kubernetes.core.k8s) call.
  - In O(mode=seed) the policies are the document's as written. They make the selected pods
    egress-isolated, so all egress they do not list (cluster DNS, the kubelet, NodePorts) is cut.
  - In O(mode=precise) (default) they block only TCP to O(ports) on the node addresses. Every other
    destination (IPv4 and IPv6), every other TCP port of the nodes, and all UDP and SCTP stay allowed.
positional: namespaces
options:
  _input:
    description: Node addresses or CIDRs (both families), such as the output of P(clusterguard.portworx.node_cidrs#filter).
    type: list
    elements: str
    required: true
  namespaces:
    description: User namespaces that get the block and C(allow-api) policies.
    type: list
    elements: str
    required: true
  mode:
    description: V(precise) or V(seed), see above.
    type: str
    default: precise
    choices: [precise, seed]
  ports:
    description:
      - Portworx ports to block. C(9001-9023) is every TCP port of a Portworx with the default start port (the
        document's 9001-9022 and the TLS REST API on 9023); C(17001-17020) on OpenShift.
    type: raw
    default: 9001-9023
  exempt:
    description:
      - Pods in O(system_namespace) with any of these labels are not blocked. Each entry has a C(key) and
        C(values); it becomes a C(NotIn) expression of the policy's pod selector.
      - Defaults to the document's six (scheduler, stork, control-plane, kube-controller-manager,
        portworx-pvc-controller, px-web-console).
    type: list
    elements: dict
  system_namespace:
    description: Namespace of Portworx's system components.
    type: str
    default: kube-system
  seed_allow_ports:
    description: In O(mode=seed), the TCP ports the system namespace policy allows to non-node addresses (the document's C(8099)).
    type: list
    elements: raw
    default: [8099]
  api_port:
    description: Port of the API server that C(allow-api) opens.
    type: int
    default: 6443
  api_cidrs:
    description: API server addresses outside the node CIDRs that C(allow-api) opens too.
    type: list
    elements: str
    default: []
  block_name:
    description: Name of the block policy.
    type: str
    default: block-9001-for-non-system-users
  api_name:
    description: Name of the API policy.
    type: str
    default: allow-api
  labels:
    description: Extra labels for every object; C(app.kubernetes.io/managed-by=clusterguard.portworx) is always set.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Policies for two user namespaces, precise mode
  kubernetes.core.k8s:
    definition: "{{ ['10.0.0.11', '10.0.0.12'] | clusterguard.portworx.network_policies(['team-a', 'team-b']) }}"
    apply: true
    server_side_apply:
      field_manager: clusterguard.portworx

- name: The document's policies as written, for OpenShift ports
  ansible.builtin.set_fact:
    policies: "{{ node_cidrs | clusterguard.portworx.network_policies(['default'], mode='seed', ports='17001-17020') }}"
"""

RETURN = r"""
_value:
  description: NetworkPolicy objects, the system namespace's first, then per namespace the block and the API policy.
  type: list
  elements: dict
"""

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.filters import filter_errors


@filter_errors("network_policies", policies.PolicyError)
def network_policies(node_cidrs, namespaces, **kwargs):
    return policies.build(node_cidrs, namespaces, **kwargs)


class FilterModule:
    def filters(self):
        return {"network_policies": network_policies}
