#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_firewall_plan
author: clusterguard.portworx contributors (@clusterguard)
version_added: "2.0.0"
short_description: Check the host_firewall inputs of every host of the play, on the controller
description:
  - Internal to the P(clusterguard.portworx.host_firewall#role) role. It reads the role's variables from the
    play, not from task options, and its return values may change in any release; call the role, not this
    action.
  - The first task of the P(clusterguard.portworx.host_firewall#role) role. It runs in the controller's
    process and contacts no host.
  - Reads the role's variables for every host of the play (C(ansible_play_hosts_all), so every batch
    under C(serial)), checks them against the role's C(meta/argument_specs.yml) and against what the
    values mean, and returns the arguments of P(clusterguard.portworx.port_firewall#module) for each host.
  - One error message lists every bad input, with the variable, the value and the hosts; nothing is
    changed anywhere when it fails.
  - It checks types strictly. A string where a list is expected is refused rather than split into
    characters.
  - A guarded port that is the SSH port Ansible connects on is refused. The port comes from
    C(ansible_port), C(ansible_ssh_port), or C(ssh -G) with the host's SSH arguments and the user's
    ssh_config.
  - The ports come from the shared C(portworx_*) variables; with C(portworx_source=storagecluster) it reads the
    cluster's StorageCluster once per play, with the role's cluster connection.
  - Variables that carry the role's prefix but are not among its options are reported as warnings; variables of
    2.x that 3.0.0 replaced are refused, naming their replacement.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - clusterguard.portworx.controller_action
notes:
  - Use it with C(run_once), as the role does; it covers every host of the play by itself.
"""

EXAMPLES = r"""
- name: Check every input of every host before anything is changed
  clusterguard.portworx.host_firewall_plan:
  run_once: true
  register: plan
"""

RETURN = r"""
hosts:
  description: For each host of the play, the arguments of P(clusterguard.portworx.port_firewall#module).
  returned: success
  type: dict
  sample:
    worker-1:
      chain: CLUSTERGUARD-PX
      ports: ["9001-9023"]
      protocols: [tcp]
      udp_ports: ["9002"]
      sources: ["10.20.1.11/32", "10.20.1.12/31"]
      ip_versions: [ipv4, ipv6]
      state: present
addresses:
  description: The addresses of each worker, from the shared variable C(portworx_node_address_vars).
  returned: success
  type: dict
  sample: {worker-1: ["10.20.1.11", "fd00::11"]}
serial:
  description: Whether the play runs in batches (C(serial)), so that the role reads every host first.
  returned: success
  type: bool
errors:
  description: Every bad input, one line each.
  returned: failure
  type: list
  elements: str
"""
