#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_policy_plan
author: clusterguard.portworx contributors (@clusterguard)
version_added: "2.0.0"
short_description: Check the network_policy inputs, read the cluster and compute what changes
description:
  - Internal to the P(clusterguard.portworx.network_policy#role) role. It reads the role's variables from
    the play, not from task options, and its return values may change in any release; call the role, not
    this action.
  - The first task of the P(clusterguard.portworx.network_policy#role) role. It runs in the controller's
    process and changes nothing.
  - Checks every C(network_policy_*) variable against the role's C(meta/argument_specs.yml) and as the
    API server would check the values. That covers namespace and object names matched in full, label keys
    and values, exempt pods as lists, label selectors, and addresses that are not mapped IPv6 and do not
    cover everything. One error lists every bad input, with the variable and the value.
  - Reads the cluster with one client, every list at the same time. That covers namespaces, nodes, the
    C(kubernetes) EndpointSlice, ServiceCIDRs, our NetworkPolicies, and DaemonSets for the CNI check.
    Connection settings are the role's C(network_policy_kubeconfig), C(_context), C(_host), C(_api_key) and
    C(_validate_certs), then the C(K8S_AUTH_*) environment, as in kubernetes.core.
  - Returns the objects that differ from the cluster, our objects of this instance that are no longer
    wanted, and the Pod Security label patches. When something is to be written, it also returns a
    temporary kubeconfig (mode 0600) for the kubernetes.core tasks. No credential is a task argument or
    appears in any output.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - clusterguard.portworx.controller_action
requirements:
  - kubernetes (Python) on the controller
  - netaddr on the controller
notes:
  - The role removes the temporary kubeconfig in an C(always) section; use the role rather than this
    task on its own.
"""

EXAMPLES = r"""
- name: What would the role change?
  clusterguard.portworx.network_policy_plan:
  run_once: true
  register: plan
  vars:
    network_policy_kubeconfig: ~/.kube/config
    network_policy_namespaces: [team-a]
"""

RETURN = r"""
apply:
  description: Objects the cluster does not hold as wanted (NetworkPolicies), for one server-side apply.
  returned: success
  type: list
  elements: dict
prune:
  description: Our NetworkPolicies of this instance that are no longer wanted.
  returned: success
  type: list
  elements: dict
psa_apply:
  description: Namespace patches with the Pod Security labels to set (labels someone else set are left out).
  returned: success
  type: list
  elements: dict
psa_release:
  description: Namespace patches that give up our Pod Security labels.
  returned: success
  type: list
  elements: dict
files:
  description: In render mode, the manifests by file name.
  returned: success
  type: dict
render_dir:
  description: In render mode, the manifest directory as an absolute path (a relative one is taken from the directory ansible-playbook runs in); else empty.
  returned: success
  type: str
portworx:
  description: The Portworx settings the plan used (ports, start port, version, namespace, PX-Security, source), or null with state absent.
  returned: success
  type: dict
objects:
  description: How many objects the role wants.
  returned: success
  type: int
auth:
  description: C(kubeconfig) (a temporary file, or null when nothing is to be written), C(temporary) and C(validate_certs).
  returned: success
  type: dict
errors:
  description: Every bad input, one line each.
  returned: failure
  type: list
  elements: str
"""
