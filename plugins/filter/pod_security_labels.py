# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pod_security_labels
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: A Namespace patch with Pod Security Admission labels, for server-side apply
description:
  - Returns a minimal Namespace object that carries the C(pod-security.kubernetes.io/<mode>) labels of
    O(level) for each of O(modes), plus a marker label, so that a server-side apply with a field manager
    of our own sets exactly these labels.
  - With an empty O(level) the object carries no labels, so the same apply removes the labels that field
    manager set before, and nothing else.
  - Pod Security Admission (GA since Kubernetes 1.25) replaces the removed PodSecurityPolicy. Its
    C(baseline) level rejects C(hostNetwork) pods, which NetworkPolicies cannot see.
positional: level, modes, marker
options:
  _input:
    description: Namespace name.
    type: str
    required: true
  level:
    description: V(baseline), V(restricted), V(privileged), or empty to remove.
    type: str
    required: true
  modes:
    description: Any of V(enforce), V(warn), V(audit).
    type: list
    elements: str
    default: [enforce]
  marker:
    description: Label key that marks the namespace as labelled by us (value C(managed)).
    type: str
    default: clusterguard.portworx/pod-security
"""

EXAMPLES = r"""
- name: Enforce the baseline level on two namespaces
  kubernetes.core.k8s:
    definition: "{{ ['team-a', 'team-b'] | map('clusterguard.portworx.pod_security_labels', 'baseline', ['enforce']) | list }}"
    apply: true
    server_side_apply:
      field_manager: clusterguard.portworx-pod-security
"""

RETURN = r"""
_value:
  description: A Namespace object with only C(metadata.name) and C(metadata.labels).
  type: dict
"""

from ansible.errors import AnsibleFilterError

LEVELS = ("", "privileged", "baseline", "restricted")
MODES = ("enforce", "warn", "audit")


def pod_security_labels(namespace, level, modes=("enforce",), marker="clusterguard.portworx/pod-security"):
    if level not in LEVELS:
        raise AnsibleFilterError("pod_security_labels: level must be baseline, restricted or privileged, got %r" % (level,))
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise AnsibleFilterError("pod_security_labels: modes must be enforce, warn or audit, got %r" % (bad,))
    labels = {}
    if level:
        labels = {"pod-security.kubernetes.io/%s" % m: level for m in modes}
        labels.update({"pod-security.kubernetes.io/%s-version" % m: "latest" for m in modes})
        if marker:
            labels[marker] = "managed"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}


class FilterModule:
    def filters(self):
        return {"pod_security_labels": pod_security_labels}
