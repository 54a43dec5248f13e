#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_report
author: clusterguard.portworx contributors (@clusterguard)
version_added: "2.1.0"
short_description: Turn the verify role's findings into checks and write the reports
description:
  - Internal to the P(clusterguard.portworx.verify#role) role. Its options are the role's results of earlier
    tasks, and they and its return values may change in any release; call the role, not this action.
  - The last task of the P(clusterguard.portworx.verify#role) role. It runs in the controller's process.
  - Turns each host's firewall read, the probe results and the cluster checks into one list of checks,
    writes it as JSON, as a Markdown summary (a table per scope, failing rows first), as JUnit XML (one
    testcase per check) and as a self-contained HTML page, and fails when a check fails.
  - "The reachability matrix: rows are sources (each outside vantage point, each worker, loopback on the
    workers, the pods of each protected namespace, the exempt system pods), columns the guarded port ranges.
    Each cell is V(open), V(blocked), V(untested) or V(error), with a verdict (V(ok), V(exposed), V(cut),
    V(untested), V(error)) and the reason. Host rows come from the probes, pod rows from every policy the
    cluster holds (P(clusterguard.portworx.verify_cluster#module)). It is in the JSON (C(matrix)), the
    Markdown and the HTML page; the page carries each cell's state and verdict as C(data-state) and
    C(data-verdict) attributes."
options:
  firewall:
    description: The registered result of P(clusterguard.portworx.host_firewall_plan#module).
    type: dict
    required: true
  hosts:
    description: The hosts whose results are read (the play's hosts).
    type: list
    elements: str
  host_result:
    description: Name of the host variable that holds each host's P(clusterguard.portworx.port_firewall#module) read.
    type: str
    required: true
  peer_result:
    description: Name of the host variable that holds each worker's P(clusterguard.portworx.tcp_probe#module) result.
    type: str
    required: true
  outside:
    description: The registered loop result of P(clusterguard.portworx.tcp_probe#module) over the vantage points.
    type: dict
  cluster:
    description: The registered result of P(clusterguard.portworx.verify_cluster#module).
    type: dict
  json:
    description: Path of the JSON report on the controller; empty for none.
    type: path
  markdown:
    description: Path of the Markdown summary on the controller; empty for none.
    type: path
  junit:
    description: Path of the JUnit XML file on the controller; empty for none.
    type: path
  html:
    description: Path of the HTML page on the controller (the matrix and every check, styles inline); empty for none.
    type: path
    version_added: "3.1.0"
  fail_on_exposure:
    description: Fail when a check fails.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - clusterguard.portworx.controller_action
"""

EXAMPLES = r"""
- name: Write the reports
  clusterguard.portworx.verify_report:
    firewall: "{{ plan }}"
    hosts: "{{ ansible_play_hosts_all }}"
    host_result: firewall_read
    peer_result: peer_probe
    outside: "{{ outside_probe }}"
    cluster: "{{ cluster_checks }}"
    json: report/verify.json
    markdown: report/verify.md
    junit: report/verify-junit.xml
    html: report/verify.html
  run_once: true
"""

RETURN = r"""
summary:
  description: How many checks pass, fail, warn or only inform.
  returned: always
  type: dict
  sample: {pass: 40, fail: 0, warn: 1, info: 6}
exposed:
  description: Whether a check fails.
  returned: always
  type: bool
failing:
  description: The failing checks, one line each.
  returned: always
  type: list
  elements: str
paths:
  description: The reports written, by kind.
  returned: always
  type: dict
markdown:
  description: The Markdown summary.
  returned: always
  type: str
matrix:
  description: The reachability matrix, C(columns) (guarded port ranges) and C(rows) (C(source), C(group), C(cells)).
  returned: always
  type: dict
  sample: {columns: ["TCP 9001-9023", "UDP 9002"], rows: [{source: "outsider: controller", group: hosts,
           cells: [{state: blocked, verdict: ok, text: "9 probes to 3 workers dropped"}]}]}
"""
