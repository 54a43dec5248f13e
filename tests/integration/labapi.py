"""Reads of the lab API server that the tests and the lab's scripts share: our
policies as the API server stores them, as plain dicts (camelCase keys), ready for
netpol_eval."""

from kubernetes import client

GROUP = "policy.networking.k8s.io"
# The cluster-scoped kinds, with the version we write and the list's plural.
CLUSTER_KINDS = {"ClusterNetworkPolicy": ("v1beta1", "clusternetworkpolicies"),
                 "AdminNetworkPolicy": ("v1alpha1", "adminnetworkpolicies")}
OURS = "app.kubernetes.io/managed-by=clusterguard.portworx"


def network_policies(api, namespaces=None):
    """The NetworkPolicies of the given namespaces, in that order, or of all namespaces."""
    net = client.NetworkingV1Api(api)
    if namespaces is None:
        items = net.list_network_policy_for_all_namespaces().items
    else:
        items = [item for ns in namespaces for item in net.list_namespaced_network_policy(ns).items]
    return [api.sanitize_for_serialization(item) for item in items]


def cluster_objects(api, label_selector=None):
    """ClusterNetworkPolicies and AdminNetworkPolicies, each with its ``kind``. A kind whose
    CRD is not installed (a test removes one) has none."""
    out = []
    custom = client.CustomObjectsApi(api)
    for kind, (version, plural) in CLUSTER_KINDS.items():
        try:
            items = custom.list_cluster_custom_object(GROUP, version, plural, label_selector=label_selector)["items"]
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise
            items = []
        out.extend(dict(item, kind=kind) for item in items)
    return out
