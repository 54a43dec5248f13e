"""plugin_utils/network_policy/inputs.py on plain data: the rules beyond the spec,
and the plan computed from what the cluster holds."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import inputs as npi
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import nodes as nodelib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import spec
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies

INVENTORY = [("w1", "ansible_host", "10.0.0.11"), ("w2", "ansible_host", "10.0.0.12")]


def values(**given):
    out, errors = spec.resolve(spec.load_options("network_policy"),
                               {k if k.startswith("portworx_") else "network_policy_" + k: v for k, v in given.items()})
    assert errors == []
    return out


def ns(name, labels=None, managers=None):
    fields = [{"manager": m, "fieldsV1": {"f:metadata": {"f:labels": {"f:" + k: {} for k in keys}}}}
              for m, keys in (managers or {}).items()]
    return {"metadata": {"name": name, "labels": labels or {}, "managedFields": fields}}


def node(name, address):
    return {"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": address}]}}


def read(**extra):
    out = {"namespaces": [ns("default"), ns("team-a"), ns("kube-system")],
           "nodes": [node("w1", "10.0.0.11"), node("w2", "10.0.0.12")], "ours": [], "api": [], "daemonsets": []}
    out.update(extra)
    return out


@pytest.mark.parametrize("given, message", [
    ({"namespaces": ["default\n"]}, "network_policy_namespaces: 'default\\n' is not a valid name"),
    ({"exempt_pods": [{"key": "name", "values": "scheduler"}]}, "values of 'name' must be a non-empty list"),
    ({"api_port": 0}, "network_policy_api_port: 0 is outside 1-65535"),
    ({"portworx_node_addresses": ["::/0"]}, "portworx_node_addresses: '::/0' is a network, not the address of one node"),
    ({"portworx_node_addresses": ["10.0.0.0/24"]}, "portworx_node_addresses: '10.0.0.0/24' is a network"),
    ({"portworx_node_addresses": ["127.0.0.1"]}, "portworx_node_addresses: '127.0.0.1' is a loopback address"),
    ({"render_dir": "/x", "node_cidr_mode": "subnet"}, "needs network_policy_pod_cidrs"),
    ({"instance": "a b"}, "network_policy_instance: 'a b' is not a label value"),
    ({"host": "ftp://x"}, "network_policy_host: 'ftp://x' is not an API server URL"),
])
def test_check(given, message):
    errors = npi.check(values(**given))
    assert any(message in e for e in errors), errors


def test_plan_applies_what_differs_and_prunes_only_this_instance():
    v = values(namespaces=["default", "team-a"])
    wanted = policies.build(["10.0.0.11", "10.0.0.12"], ["default", "team-a"], exempt=v["network_policy_exempt_pods"],
                            labels={npi.INSTANCE_LABEL: "default"})
    stale = {"metadata": {"namespace": "old", "name": "allow-api", "labels": {}}}  # version 1: no instance label
    other = {"metadata": {"namespace": "team-a", "name": "block-17001", "labels": {npi.INSTANCE_LABEL: "openshift"}}}
    out, warnings = npi.plan(v, INVENTORY, read(ours=wanted[:2] + [stale, other]))
    assert [o["metadata"]["name"] for o in out["apply"]] == [o["metadata"]["name"] for o in wanted[2:]]
    assert out["prune"] == [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                             "metadata": {"name": "allow-api", "namespace": "old"}}]
    assert any("no DaemonSet of a NetworkPolicy-enforcing CNI" in w for w in warnings)


def test_pod_security_labels_of_others_are_not_taken_over():
    v = values(namespaces=["default", "team-a"], pod_security="baseline")
    namespaces = [ns("default", {"pod-security.kubernetes.io/enforce": "restricted"}, {"admin": ["pod-security.kubernetes.io/enforce"]}),
                  ns("team-a", {"pod-security.kubernetes.io/enforce": "privileged"}, {"admin": ["pod-security.kubernetes.io/enforce"]}),
                  ns("gone", {npi.PSA_MARKER: "default"})]
    out, warnings = npi.plan(v, INVENTORY, read(namespaces=namespaces))
    labels = {o["metadata"]["name"]: o["metadata"]["labels"] for o in out["psa_apply"]}
    assert labels["default"] == {"pod-security.kubernetes.io/enforce-version": "latest", npi.PSA_MARKER: "default"}
    assert "pod-security.kubernetes.io/enforce" not in labels["team-a"]
    assert any("team-a pod-security.kubernetes.io/enforce=privileged" in w for w in warnings)
    assert out["psa_release"] == [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone", "labels": {}}}]


def test_drift_is_told_by_address_and_name():
    missing, extra = nodelib.node_drift(INVENTORY, [node("w1", "10.0.0.11"), node("w2", "10.0.0.12"), node("w3", "10.0.0.13")])
    assert missing == ["w3 (10.0.0.13)"] and extra == []


def test_render_writes_policies_and_namespace_labels():
    v = values(namespaces=["team-a"], render_dir="/out", pod_security="baseline")
    out, _warnings = npi.plan(v, INVENTORY, None)
    assert sorted(out["files"]) == ["namespace_team-a.yaml", "networkpolicy_kube-system_block-9001-for-non-system-users.yaml",
                                    "networkpolicy_team-a_allow-api.yaml",
                                    "networkpolicy_team-a_block-9001-for-non-system-users.yaml"]
    assert out["files"]["namespace_team-a.yaml"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_two_instances_cannot_share_an_object():
    v = values(namespaces=["default"], instance="b")
    theirs = policies.build(["10.0.0.11"], ["default"], labels={npi.INSTANCE_LABEL: "a"})
    with pytest.raises(spec.InputError, match="network_policy_instance: 'b' would take over kube-system/"):
        npi.plan(v, INVENTORY, read(ours=theirs))


# -- network_policy_scope ----------------------------------------------------
def cluster_read(**extra):
    """A cluster that serves both cluster-scoped APIs."""
    return read(**{"cluster:ClusterNetworkPolicy:v1beta1": [], "cluster:AdminNetworkPolicy:v1alpha1": [], **extra})


def test_cluster_scope_wants_two_admin_objects_and_prunes_our_networkpolicies():
    old = policies.build(["10.0.0.11", "10.0.0.12"], ["default"], labels={npi.INSTANCE_LABEL: "default"})
    out, warnings = npi.plan(values(scope="cluster"), INVENTORY, cluster_read(ours=old))
    assert [(o["kind"], o["metadata"]["name"], o["spec"]["priority"]) for o in out["apply"]] == [
        ("ClusterNetworkPolicy", "block-9001-for-non-system-users", 20),
        ("ClusterNetworkPolicy", "block-9001-for-non-system-users-kube-system", 21)]
    assert sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in out["prune"]) == sorted(
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in old)
    assert not any("do not exist" in w for w in warnings)


def test_cluster_scope_is_refused_when_the_api_is_not_served():
    with pytest.raises(spec.InputError) as err:
        npi.plan(values(scope="cluster"), INVENTORY, read(**{"cluster:ClusterNetworkPolicy:v1beta1": None}))
    assert "network_policy_scope: 'cluster' needs the ClusterNetworkPolicy API" in str(err.value)
    assert "clusternetworkpolicies.policy.networking.k8s.io" in str(err.value)


def test_absent_or_namespaces_scope_prunes_cluster_objects_of_either_api_and_only_ours():
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import cluster_policies as cnp

    mine = cnp.build("AdminNetworkPolicy", ["10.0.0.11"], "9001-9022", [], "kube-system", [], 20, "block",
                     labels={npi.INSTANCE_LABEL: "default"})
    other = cnp.build("ClusterNetworkPolicy", ["10.0.0.11"], "9001-9022", [], "kube-system", [], 40, "b2",
                      labels={npi.INSTANCE_LABEL: "second"})
    for v in (values(state="absent"), values(scope="namespaces")):
        out, _w = npi.plan(v, INVENTORY, cluster_read(**{"cluster:AdminNetworkPolicy:v1alpha1": mine,
                                                         "cluster:ClusterNetworkPolicy:v1beta1": other}))
        assert [(o["kind"], o["metadata"]["name"]) for o in out["prune"]] == [
            ("AdminNetworkPolicy", "block"), ("AdminNetworkPolicy", "block-kube-system")]


def test_cluster_scope_second_run_changes_nothing_and_names_clash_between_instances():
    v = values(scope="cluster")
    first, _w = npi.plan(v, INVENTORY, cluster_read())
    again, _w = npi.plan(v, INVENTORY, cluster_read(**{"cluster:ClusterNetworkPolicy:v1beta1": first["apply"]}))
    assert again["apply"] == [] and again["prune"] == []
    with pytest.raises(spec.InputError, match="'b' would take over ClusterNetworkPolicy block-9001-for-non-system-users"):
        npi.plan(values(scope="cluster", instance="b"), INVENTORY,
                 cluster_read(**{"cluster:ClusterNetworkPolicy:v1beta1": first["apply"]}))


def test_render_writes_cluster_objects():
    out, _w = npi.plan(values(scope="both", render_dir="/out", cluster_api="AdminNetworkPolicy"), INVENTORY, None)
    assert "adminnetworkpolicy_block-9001-for-non-system-users.yaml" in out["files"]
    assert "networkpolicy_default_allow-api.yaml" in out["files"]


@pytest.mark.parametrize("given, message", [
    ({"scope": "cluster", "cluster_priority": 1000}, "network_policy_cluster_priority: 1000 must be 0-999"),
    ({"scope": "cluster", "mode": "seed"}, "network_policy_mode: 'seed'"),
])
def test_check_cluster_scope(given, message):
    assert any(message in e for e in npi.check(values(**given)))


@pytest.mark.parametrize("name, value, message", [
    ("scope", "Cluster", "network_policy_scope: 'Cluster' must be one of"),
    ("scope", ["cluster"], "network_policy_scope: ['cluster'] must be a string"),
    ("cluster_api", "ClusterNetworkPolicies", "network_policy_cluster_api: 'ClusterNetworkPolicies' must be one of"),
    ("cluster_priority", "twenty", "network_policy_cluster_priority: 'twenty' must be a whole number"),
    ("cluster_priority", -1, "network_policy_cluster_priority: -1 must be 0-999"),
    ("cluster_peer", "node", "network_policy_cluster_peer: 'node' must be one of"),
])
def test_cluster_scope_variables_refuse_mistakes_by_name(name, value, message):
    resolved, errors = spec.resolve(spec.load_options("network_policy"), {"network_policy_" + name: value})
    errors = errors or npi.check(resolved)
    assert any(message in e for e in errors), errors


def test_render_names_never_collide_whatever_the_names():
    """Namespaces a and a--x with block x--allow and API name allow gave 4 files for 5 objects;
    a namespace named namespace met the Pod Security files."""
    import itertools

    namespaces = ["a", "a--x", "x", "namespace", "cluster", "a-x", "x--a", "kube-system-x", "networkpolicy"]
    for block, api in itertools.product(["x--allow", "block", "a--x"], ["allow", "x--allow-api", "api"]):
        v = values(namespaces=namespaces, render_dir="/out", pod_security="baseline", block_name=block, api_name=api,
                   scope="both", metrics_access=[{"namespace": "a", "pods": "app=p"}])
        out, _w = npi.plan(v, INVENTORY, None)
        assert len(out["files"]) == out["objects"] + len(namespaces), (block, api)
        assert all("_" not in name.split("_", 1)[0] for name in out["files"])


def test_stale_manifests_are_ours_of_this_instance_only():
    head = npi.render_header("default")
    found = {"networkpolicy_old_block.yaml": head, "networkpolicy_a_block.yaml": head,
             "notes.yaml": "# an administrator's file", "networkpolicy_b_x.yaml": npi.render_header("other")}
    assert npi.stale_manifests(found, {"networkpolicy_a_block.yaml": {}}, "default") == ["networkpolicy_old_block.yaml"]


def test_seed_has_no_cluster_scoped_form_with_both_scopes_either():
    v = values(scope="both", mode="seed")
    assert [e for e in npi.check(v) if "network_policy_mode: 'seed'" in e]


def test_one_odd_node_address_is_skipped_with_a_warning_unless_the_nodes_are_the_source():
    nodes = [{"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.11"}]}},
             {"metadata": {"name": "odd"}, "status": {"addresses": [{"type": "InternalIP", "address": "::ffff:10.0.0.9"}]}}]
    read = {"namespaces": [ns("team-a")], "nodes": nodes, "ours": []}
    out, warnings = npi.plan(values(namespaces=["team-a"]), INVENTORY, read)
    assert out["apply"] and [w for w in warnings if "odd (" in w and "IPv4-mapped" in w], warnings
    with pytest.raises(spec.InputError, match="Node odd"):
        npi.plan(values(namespaces=["team-a"], portworx_node_source="cluster"), INVENTORY, read)


def test_a_dual_stack_node_that_the_inventory_gives_one_family_of_is_covered_whole():
    """Found by verify's reachability on the lab: with an IPv4 inventory on dual-stack Nodes,
    pods reached the Portworx ports on the Nodes' IPv6 addresses."""
    given = (("w1", "10.0.0.11", "fd00::11"), ("w2", "10.0.0.12", "fd00::12"), ("other", "10.0.9.9", "fd00::99"))
    nodes = [{"metadata": {"name": n}, "status": {"addresses": [
        {"type": "InternalIP", "address": a4}, {"type": "InternalIP", "address": a6}]}} for n, a4, a6 in given]
    read = {"namespaces": [ns("team-a")], "nodes": nodes, "ours": []}
    out, warnings = npi.plan(values(namespaces=["team-a"]), INVENTORY, read)
    block = [o for o in out["apply"] if o["metadata"]["name"] == "block-9001-for-non-system-users"
             and o["metadata"]["namespace"] == "team-a"][0]
    text = str(block["spec"])
    assert "fd00::11" in text and "fd00::12" in text and "fd00::99" not in text  # not a node of the inventory
    assert [w for w in warnings if "w1 fd00::11" in w and "w2 fd00::12" in w]
