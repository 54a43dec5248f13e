# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify role's cluster read: the network_policy role's own plan (so both agree on
what is wanted), plus the Pods, in this process. Nothing is written to the cluster."""

from __future__ import annotations

from ansible_collections.clusterguard.portworx.plugins.action.network_policy_plan import ActionModule as PlanAction
from ansible_collections.clusterguard.portworx.plugins.action.network_policy_plan import Refused
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, verify
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster_policies as cnp
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import network_policy_inputs as npi

EXTRA = {
    "pods": (cluster.path("v1", "pods"), None, False),
    "daemonsets": (cluster.path("apps/v1", "daemonsets"), None, False),
    # every policy, not only ours: what pods may reach is decided by all of them
    "all_policies": (cluster.path("networking.k8s.io/v1", "networkpolicies"), None, False),
    "all:BaselineAdminNetworkPolicy": (cluster.path(cnp.api_version("AdminNetworkPolicy"),
                                                    "baselineadminnetworkpolicies"), None, (403, 404)),
}
for _api in cnp.APIS:
    for _version in cnp.APIS[_api]["versions"]:
        EXTRA["all:%s:%s" % (_api, _version)] = (cluster.path(cnp.api_version(_api, _version), cnp.APIS[_api]["plural"]),
                                                 None, (403, 404))


def cluster_objects(read):
    """Every Admin and Baseline tier object, each once (in the first version served), with its kind."""
    out = []
    for kind in list(cnp.APIS) + ["BaselineAdminNetworkPolicy"]:
        versions = cnp.APIS[kind]["versions"] if kind in cnp.APIS else ("",)
        for version in versions:
            items = read.get("all:%s:%s" % (kind, version) if version else "all:%s" % kind)
            if items is not None:
                out.extend(dict(item, kind=kind) for item in items)
                break
    return out


class ActionModule(PlanAction):
    def run(self, tmp=None, task_vars=None):
        result = super(PlanAction, self).run(tmp, task_vars)  # pylint: disable=bad-super-call
        try:
            values, inventory, read, found, warnings, _reader = self.gather(task_vars or {}, extra=EXTRA, detail=True)
        except Refused as exc:
            checks = [verify.check("cluster", "cluster", "cluster_read", "fail", "; ".join(exc.errors))]
            result.update(changed=False, checks=checks)
            return result
        if read is None:
            checks = [verify.check("cluster", "cluster", "cluster_read", "info",
                                   "network_policy_render_dir is set: the cluster is not read")]
            result.update(changed=False, checks=checks)
            return result
        cni = sorted({d["metadata"]["name"] for d in read.get("daemonsets") or []
                      if any(word in d["metadata"].get("name", "") for word in npi.CNI)})
        checks = verify.cluster_checks(values, found, read, found.get("missing_nodes") or [], cni,
                                       partial_inventory=values["portworx_node_source"] in ("cluster", "list"))
        findings = []
        if values["network_policy_state"] == "present":
            read["cluster_objects"] = cluster_objects(read)
            addresses = verify.node_addresses(read.get("nodes") or [], [a for _h, _v, a in inventory])
            more, findings = verify.reachability_checks(values, found, read, addresses)
            checks += more
        result.update(changed=False, checks=checks, warnings=warnings, reachability=findings,
                      portworx=found.get("portworx"), system_namespace=values["network_policy_system_namespace"])
        return result
