# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the Kubernetes objects that the network_policy role writes and the verify role
judges: the admin-tier policy APIs, Pod Security labels, namespaces being deleted, the exempt
pods' selector, the CNI DaemonSets we recognise. Neither role's engine owns them; both read them."""

from __future__ import annotations

ADMIN_GROUP = "policy.networking.k8s.io"
# Per API: the versions we write, best first (the first the cluster serves is used), the
# list path's plural, the CRD, where it comes from, and the name of the allowing action.
ADMIN_APIS = {
    "ClusterNetworkPolicy": {"versions": ("v1beta1", "v1alpha2"), "plural": "clusternetworkpolicies",
                             "source": "sigs.k8s.io/network-policy-api v0.3.0 or v0.2.0", "allow": "Accept"},
    "AdminNetworkPolicy": {"versions": ("v1alpha1",), "plural": "adminnetworkpolicies",
                           "source": "sigs.k8s.io/network-policy-api v0.1.x", "allow": "Allow"},
}

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
CNI = ("calico", "cilium", "antrea", "kube-router", "weave", "canal", "ovn", "openshift-sdn", "kindnet-netpol",
       "romana")


class PolicyError(ValueError):
    """Input the policies cannot be built from."""


def admin_api_version(api, version=None):
    """apiVersion of an admin-tier API, in ``version`` or the best one we write."""
    return "%s/%s" % (ADMIN_GROUP, version or ADMIN_APIS[api]["versions"][0])


def terminating(namespace):
    """A namespace being deleted takes no new objects (the API server refuses them)."""
    return (namespace.get("status") or {}).get("phase") == "Terminating"


def exempt_expressions(exempt):
    """The document's exempt list [{key, values}] as NotIn expressions of a pod selector: a pod
    is selected when it carries none of the exempt labels."""
    exprs = []
    for item in exempt:
        if (not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("values"), list)
                or not item["values"]):
            raise PolicyError("exempt entry %r needs a key and a non-empty list of values" % (item,))
        exprs.append({"key": item["key"], "operator": "NotIn", "values": [str(v) for v in item["values"]]})
    return exprs
