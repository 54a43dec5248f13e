#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_cluster
author: clusterguard.portworx contributors (@clusterguard)
version_added: "2.1.0"
short_description: Compare the cluster with what the network_policy role wants, read-only
description:
  - Internal to the P(clusterguard.portworx.verify#role) role. It reads the role's variables from the play,
    not from task options, and its return values may change in any release; call the role, not this action.
  - A task of the P(clusterguard.portworx.verify#role) role. It runs in the controller's process and writes
    nothing to the cluster.
  - Reads the role variables of P(clusterguard.portworx.network_policy#role) (the same C(network_policy_*)
    settings, connection included), computes that role's plan, and reads the Namespaces, Nodes, Pods,
    DaemonSets, every NetworkPolicy and every AdminNetworkPolicy, BaselineAdminNetworkPolicy and
    ClusterNetworkPolicy the cluster serves.
  - Returns one check per finding. Per namespace, whether our objects are there as wanted, whether the
    namespace has no protection at all (not selected, or created after the last run), hostNetwork pods
    (NetworkPolicy does not reach them) and the Pod Security labels. For the cluster, stale objects of
    ours, Nodes that the inventory lacks, and whether an enforcing CNI was found.
  - "Effective reachability: for each protected namespace (and the system namespace's pods without an exempt
    label), whether its pods can reach a guarded TCP port on a node address (every InternalIP and ExternalIP
    of the Nodes, and the workers' inventory addresses), judged from every policy of the cluster, ours and
    others': the Admin tier, NetworkPolicies, the Baseline tier, in the order the API references define.
    Pods are judged per distinct label set of the namespace's running pods, and as a pod without labels. A
    namespace whose pods reach a guarded port fails its C(reachability) check, which names the policy that
    opens the way (kind, tier, priority) and the ports. The ports that
    C(network_policy_metrics_access) opens with our own objects are
    expected."
  - A cluster that cannot be read is one failing check, not an error of the task.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - clusterguard.portworx.controller_action
notes:
  - Secrets of the connection settings appear in no output; see P(clusterguard.portworx.network_policy_plan#module).
"""

EXAMPLES = r"""
- name: Read the cluster and compare
  clusterguard.portworx.verify_cluster:
  run_once: true
  register: cluster_checks
"""

RETURN = r"""
checks:
  description: One entry per finding, with C(scope), C(subject), C(check), C(status) and C(detail).
  returned: always
  type: list
  elements: dict
  sample:
    - {scope: namespace, subject: team-a, check: policies, status: pass, detail: "allow-api, block-9001-for-non-system-users"}
reachability:
  description:
    - Every verdict of the reachability check, one entry per namespace, pod label set and protocol, with
      C(role) (V(protected) or V(exempt)), C(open) and C(blocked) lists of C(addresses), C(ports) and C(by)
      (the policies that decided; none when no policy selects the pods).
  returned: when the cluster was read and network_policy_state is present
  type: list
  elements: dict
  version_added: "3.1.0"
portworx:
  description: The Portworx ports the roles guard (C(tcp), C(udp), C(metrics)) and where they come from.
  returned: when the cluster was read
  type: dict
system_namespace:
  description: The system namespace (C(network_policy_system_namespace)).
  returned: when the cluster was read
  type: str
"""
