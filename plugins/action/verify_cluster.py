# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify role's cluster read: the network_policy role's own plan (so both agree on
what is wanted), plus the Pods, in this process. Nothing is written to the cluster."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import gather as gathering


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            values, inventory, read, found, warnings, _reader = gathering.gather(
                task_vars or {}, self._templar.template, extra=verify.cluster_requests(), detail=True)
        except gathering.Refused as exc:
            checks = [verify.check("cluster", "cluster", "cluster_read", "fail", "; ".join(exc.errors))]
            result.update(changed=False, checks=checks)
            return result
        if read is None:
            checks = [verify.check("cluster", "cluster", "cluster_read", "info",
                                   "network_policy_render_dir is set: the cluster is not read")]
            result.update(changed=False, checks=checks)
            return result
        checks, findings = verify.judge_cluster(values, inventory, read, found)
        result.update(changed=False, checks=checks, warnings=warnings, reachability=findings,
                      portworx=found.get("portworx"), system_namespace=values["network_policy_system_namespace"])
        return result
