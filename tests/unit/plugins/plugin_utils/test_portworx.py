"""plugin_utils/portworx.py: the ports a Portworx serves, and its settings read from the
StorageCluster; and what the network_policy plan does with them (metrics access, the
ClusterNetworkPolicy version the cluster serves)."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import cluster_policies as cnp
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import inputs as npi
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import portworx, spec

INVENTORY = [("w1", "ansible_host", "10.0.0.11"), ("w2", "ansible_host", "10.0.0.12")]


def values(**given):
    raw = {k if k.startswith("portworx_") else "network_policy_" + k: v for k, v in given.items()}
    out, errors = spec.resolve(spec.load_options("network_policy"), raw)
    assert errors == []
    return out


@pytest.mark.parametrize("start, version, tcp, udp, metrics, named", [
    (9001, "", [(9001, 9023)], [(9002, 9002)], [(9001, 9001), (9019, 9019)],
     {"rest": 9001, "gossip": 9002, "kvdb": 9019, "sdk": 9020, "rest_gateway": 9021, "tls_rest": 9023}),
    (9001, "2.8.3", [(9001, 9022)], [(9002, 9002)], [(9001, 9001), (9019, 9019)],
     {"rest": 9001, "gossip": 9002, "kvdb": 9019, "sdk": 9020, "rest_gateway": 9021}),
    (9001, "3.1.0", [(9001, 9023)], [(9002, 9002)], [(9001, 9001), (9019, 9019)], None),
    (17001, "3.1.0", [(17001, 17020)], [(17002, 17002)], [(17001, 17001), (17016, 17016)],
     {"rest": 17001, "gossip": 17002, "kvdb": 17016, "sdk": 17017, "rest_gateway": 17018, "tls_rest": 17020}),
    (20000, "", [(20000, 20019)], [(20001, 20001)], [(20000, 20000), (20015, 20015)], None),
])
def test_port_map_follows_the_operator(start, version, tcp, udp, metrics, named):
    got = portworx.port_map(start, version)
    assert (got["tcp"], got["udp"], got["metrics"]) == (tcp, udp, metrics)
    if named:
        assert got["named"] == named


@pytest.mark.parametrize("image, version", [
    ("portworx/oci-monitor:3.1.2", "3.1.2"), ("docker.io/portworx/oci-monitor:2.13.8", "2.13.8"),
    ("registry:5000/portworx/oci-monitor:3.2", "3.2"), ("portworx/oci-monitor", ""),
    ("portworx/oci-monitor@sha256:abc", ""), ("portworx/oci-monitor:latest", ""), (None, ""),
])
def test_version_of_image(image, version):
    assert portworx.version_of_image(image) == version


def storagecluster(name="px", namespace="portworx", spec_=None, annotations=None):
    return {"metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}}, "spec": spec_ or {}}


@pytest.mark.parametrize("item, openshift, start, tcp, namespace, security", [
    (storagecluster(spec_={"image": "portworx/oci-monitor:3.1.0"}), None, 9001, ["9001-9023"], "portworx", False),
    (storagecluster(spec_={"image": "portworx/oci-monitor:2.8.0"}), None, 9001, ["9001-9022"], "portworx", False),
    (storagecluster(namespace="kube-system", spec_={"startPort": 17001, "security": {"enabled": True}}), None,
     17001, ["17001-17020"], "kube-system", True),
    (storagecluster(annotations={"portworx.io/is-openshift": "true"}), None, 17001, ["17001-17020"], "portworx", False),
    (storagecluster(), [], 17001, ["17001-17020"], "portworx", False),  # the cluster serves config.openshift.io
])
def test_resolve_reads_the_storagecluster(item, openshift, start, tcp, namespace, security):
    got = portworx.resolve(values(portworx_source="storagecluster", portworx_start_port=9001),
                           {"storageclusters": [item], "openshift": openshift})
    assert (got["start_port"], got["tcp"], got["namespace"], got["security"]) == (start, tcp, namespace, security)
    assert got["udp"] == [str(start + 1)] and got["storagecluster"] == "%s/px" % namespace


@pytest.mark.parametrize("read, message", [
    ({"storageclusters": None}, "serves no StorageCluster kind (core.libopenstorage.org/v1"),
    ({"storageclusters": []}, "portworx_source: 'storagecluster', but the cluster holds no StorageCluster"),
    ({"storageclusters": [storagecluster("a"), storagecluster("b", "x")]}, "holds 2 StorageClusters (portworx/a, x/b)"),
    ({"storageclusters": [storagecluster(spec_={"startPort": 70000})]}, "spec.startPort of StorageCluster portworx/px"),
    (None, "'storagecluster' needs the cluster"),
])
def test_resolve_refuses_what_it_cannot_read(read, message):
    with pytest.raises(portworx.PortworxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        portworx.resolve(values(portworx_source="storagecluster"), read)


def test_renamed_variables_of_2x_are_refused_by_name():
    assert portworx.renamed_errors(["network_policy_ports", "network_policy_mode"]) == [
        "network_policy_ports was replaced in 3.0.0 by portworx_start_port (17001 on OpenShift) and "
        "portworx_extra_ports; remove it (its value is no longer read)"]


def test_udp_ranges_guard_the_gossip_port_beside_tcp():
    rules = fw.chain_rules("C", ["10.0.0.11/32"], [(9001, 9023)], ["tcp"], udp_ranges=[(9002, 9002)])
    assert [r.split("--dports ")[1].split()[0] for r in rules if "DROP" in r] == ["9001:9023", "9002"]
    got = fw.guarded([(9001, 9002)], ["tcp", "udp"], [(9002, 9003)])
    assert got == [("tcp", [(9001, 9002)]), ("udp", [(9001, 9003)])]


# -- the network_policy plan --------------------------------------------------
def ns(name):
    return {"metadata": {"name": name, "labels": {}}}


def read(**extra):
    out = {"namespaces": [ns("default"), ns("monitoring"), ns("kube-system"), ns("portworx")],
           "nodes": [{"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.11"}]}}],
           "ours": [], "api": [], "daemonsets": [],
           "cluster:ClusterNetworkPolicy:v1beta1": None, "cluster:ClusterNetworkPolicy:v1alpha2": None,
           "cluster:AdminNetworkPolicy:v1alpha1": None}
    out.update(extra)
    return out


def test_metrics_access_opens_only_the_metrics_ports_to_pods_already_blocked():
    v = values(all_namespaces=True, metrics_access=[
        {"namespace": "monitoring", "pods": "app=prometheus"}, {"namespace": "kube-system", "pods": "app=agent"},
        {"namespace": "portworx"}])
    out, warnings = npi.plan(v, INVENTORY, read())
    by = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in out["apply"]}
    mon = by[("monitoring", "allow-portworx-metrics")]["spec"]
    assert mon["podSelector"] == {"matchExpressions": [{"key": "app", "operator": "In", "values": ["prometheus"]}]}
    assert mon["egress"] == [{"to": [{"ipBlock": {"cidr": "10.0.0.11/32"}}, {"ipBlock": {"cidr": "10.0.0.12/32"}}],
                              "ports": [{"protocol": "TCP", "port": 9001}, {"protocol": "TCP", "port": 9019}]}]
    system = by[("kube-system", "allow-portworx-metrics")]["spec"]["podSelector"]["matchExpressions"]
    assert system[0] == {"key": "app", "operator": "In", "values": ["agent"]}
    assert {"key": "name", "operator": "NotIn", "values": ["portworx-operator", "px-plugin-proxy", "stork",
                                                           "autopilot"]} in system
    assert ("portworx", "allow-portworx-metrics") not in by
    assert any("namespaces portworx get no block policy of ours" in w for w in warnings)


def test_metrics_follow_the_start_port():
    v = values(namespaces=["monitoring"], portworx_start_port=17001, metrics_access=[{"namespace": "monitoring"}])
    out, _w = npi.plan(v, INVENTORY, read())
    metrics = [o for o in out["apply"] if o["metadata"]["name"] == "allow-portworx-metrics"][0]
    assert metrics["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 17001}, {"protocol": "TCP", "port": 17016}]
    block = [o for o in out["apply"] if o["metadata"]["name"] == "block-9001-for-non-system-users"][0]
    assert {"protocol": "TCP", "port": 1, "endPort": 17000} in block["spec"]["egress"][1]["ports"]
    assert {"protocol": "TCP", "port": 17021, "endPort": 65535} in block["spec"]["egress"][1]["ports"]


@pytest.mark.parametrize("given, message", [
    ({"metrics_access": [{"namespace": "Mon"}]}, "network_policy_metrics_access: namespace 'Mon' is not a valid name"),
    ({"metrics_access": [{"ns": "mon"}]}, "must be a mapping with 'namespace'"),
    ({"metrics_access": [{"namespace": "m", "pods": "a==="}]}, "network_policy_metrics_access: pods of m:"),
    ({"metrics_access": [{"namespace": "m"}, {"namespace": "m"}]}, "namespace 'm' is listed twice"),
    ({"metrics_access": [{"namespace": "m"}], "metrics_name": "allow-api"}, "network_policy_metrics_name: 'allow-api'"),
    ({"metrics_access": [{"namespace": "m"}], "scope": "both", "cluster_priority": 0},
     "network_policy_cluster_priority: 0 leaves no priority"),
    ({"portworx_namespace": "Portworx"}, "portworx_namespace: 'Portworx' is not a valid name"),
])
def test_metrics_and_portworx_inputs_are_checked(given, message):
    errors = npi.check(values(**given))
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("served", ["v1beta1", "v1alpha2"])
def test_cluster_objects_take_the_version_the_cluster_serves(served):
    v = values(scope="cluster", metrics_access=[{"namespace": "monitoring", "pods": "app=prometheus"}])
    first, _w = npi.plan(v, INVENTORY, read(**{"cluster:ClusterNetworkPolicy:%s" % served: []}))
    assert {o["apiVersion"] for o in first["apply"]} == {"policy.networking.k8s.io/" + served}
    assert [(o["metadata"]["name"], o["spec"]["priority"], o["spec"]["egress"][0]["action"]) for o in first["apply"]] == [
        ("block-9001-for-non-system-users", 20, "Deny"), ("block-9001-for-non-system-users-kube-system", 21, "Deny"),
        ("allow-portworx-metrics-monitoring", 19, "Accept")]
    again, _w = npi.plan(v, INVENTORY, read(**{"cluster:ClusterNetworkPolicy:%s" % served: first["apply"]}))
    assert again["apply"] == [] and again["prune"] == []
    gone, _w = npi.plan(values(state="absent"), INVENTORY, read(**{"cluster:ClusterNetworkPolicy:%s" % served:
                                                                   first["apply"]}))
    assert {o["apiVersion"] for o in gone["prune"]} == {"policy.networking.k8s.io/" + served}


def test_admin_network_policy_allows_metrics_with_its_own_action_name():
    objs = cnp.build("AdminNetworkPolicy", ["10.0.0.11"], "9001-9023", [], "kube-system", [], 5, "b",
                     metrics=[{"namespace": "mon", "pods": ""}], metrics_ports=["9001", "9019"])
    allow = objs[2]
    assert allow["spec"]["priority"] == 4 and allow["spec"]["egress"][0]["action"] == "Allow"
    assert allow["spec"]["egress"][0]["ports"] == [{"portNumber": {"protocol": "TCP", "port": 9001}},
                                                   {"portNumber": {"protocol": "TCP", "port": 9019}}]
    assert allow["spec"]["subject"]["pods"]["podSelector"] == {}


def test_requests_read_the_storagecluster_and_openshift_discovery_only_when_asked():
    from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster

    assert portworx.requests({"portworx_source": "inventory"}, cluster.path) == {}
    got = portworx.requests({"portworx_source": "storagecluster"}, cluster.path)
    assert got == {"storageclusters": ("/apis/core.libopenstorage.org/v1/storageclusters", None, True),
                   "openshift": ("/apis/config.openshift.io/v1", None, True)}
