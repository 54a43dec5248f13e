"""The Portworx users deploy, on the lab: settings read from a StorageCluster (its start port
17001 moves every guarded port, on the hosts and in the policies, and verify agrees), and a
cluster that serves ClusterNetworkPolicy only as v1alpha2 (network-policy-api v0.2.0, as
Cilium 1.20's documentation installs it) or only as v1beta1. Real iptables, real probes,
the real API server validating against the module zips' CRDs."""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import LAB, LAB_NAME, ROOT, lab_address, run_playbook
from hostfw import netns, probe, snapshot

W1 = lab_address("w1")

SITE = "playbooks/site.yml"
NETPOL = "tests/integration/playbooks/network_policy.yml"
STORAGECLUSTER = [sys.executable, os.path.join(ROOT, "tests", "lab", "storagecluster.py")]
CRDS = os.path.join(ROOT, "tests", "lab", "install_crds.sh")
GROUP = "policy.networking.k8s.io"


def lab_settings(kubeconfig, **more):
    out = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"],
           "network_policy_kubeconfig": kubeconfig, "host_firewall_kubeconfig": kubeconfig,
           "network_policy_all_namespaces": True, "verify_probe_group": "outsiders"}
    out.update(more)
    return out


@pytest.fixture
def start_17001(kubeconfig, inventory):
    subprocess.run(STORAGECLUSTER + [kubeconfig, "up", "--start-port", "17001"], check=True, capture_output=True)
    yield
    subprocess.run(STORAGECLUSTER + [kubeconfig, "up"], check=True, capture_output=True)  # the lab's own again
    run_playbook(SITE, inventory, lab_settings(kubeconfig), args=("--tags", "host_firewall,network_policy"))


@pytest.fixture
def no_storagecluster(kubeconfig):
    subprocess.run(STORAGECLUSTER + [kubeconfig, "down"], check=True, capture_output=True)
    yield
    subprocess.run(STORAGECLUSTER + [kubeconfig, "up"], check=True, capture_output=True)


def test_a_storagecluster_with_start_port_17001_moves_every_guarded_port(start_17001, kubeconfig, inventory, api,
                                                                         tmp_path):
    settings = lab_settings(kubeconfig, portworx_source="storagecluster", verify_report_dir=str(tmp_path))
    run_playbook(SITE, inventory, settings)
    again = run_playbook(SITE, inventory, settings, args=("--tags", "host_firewall,network_policy"))
    assert re.search(r"%s-w1\s+: ok=\d+\s+changed=0" % LAB_NAME, again) and re.search(r"localhost\s+: ok=\d+\s+changed=0", again)
    # the hosts: TCP 17001-17020 and UDP 17002 dropped for others; 9001 is no longer ours
    rules = netns("w1", "iptables", "-S", "CLUSTERGUARD-PX", check=True).stdout
    drops = sorted(line.split("-p ")[1].split(" -m comment")[0] for line in rules.splitlines() if "DROP" in line)
    assert drops == ["tcp -m multiport --dports 17001:17020", "udp -m multiport --dports 17002"], rules
    outside = probe("out", W1 + ":17001", W1 + ":17020", W1 + ":17021", W1 + ":9001",
                    "udp/" + W1 + ":17002", "udp/" + W1 + ":9002")
    assert outside == {W1 + ":17001": "timeout", W1 + ":17020": "timeout", W1 + ":17021": "open",
                       W1 + ":9001": "open", "udp/" + W1 + ":17002": "timeout", "udp/" + W1 + ":9002": "open"}
    inside = probe("w2", W1 + ":17001", "udp/" + W1 + ":17002")
    assert inside == {W1 + ":17001": "open", "udp/" + W1 + ":17002": "open"}
    # the policies: the complement of 17001-17020 is open on the nodes, 9001 among it
    from kubernetes import client
    block = client.NetworkingV1Api(api).read_namespaced_network_policy("block-9001-for-non-system-users", "default")
    ports = [(p.port, p.end_port) for p in block.spec.egress[1].ports if p.protocol == "TCP"]
    assert ports == [(1, 17000), (17021, 65535)]
    # verify probed what the StorageCluster says, and read it
    report = json.load(open(tmp_path / "report.json"))
    checks = {(c["subject"], c["check"]): c for c in report["checks"]}
    blocked = checks[(LAB_NAME + "-w1", "blocked_from_%s-out" % LAB_NAME)]
    assert blocked["status"] == "pass" and "17001,17010,17020" in blocked["detail"] and "UDP 17002" in blocked["detail"]
    assert "StorageCluster portworx/px-cluster" in checks[("cluster", "portworx_ports")]["detail"]
    assert checks[("cluster", "px_security")]["status"] == "warn"
    assert not [c for c in report["checks"] if c["status"] == "fail"], report


def test_no_storagecluster_is_refused_by_name_before_anything_changes(no_storagecluster, kubeconfig, inventory):
    before = snapshot()
    out = run_playbook(SITE, inventory, lab_settings(kubeconfig, portworx_source="storagecluster"), expect_rc=2,
                       args=("--tags", "host_firewall"))
    assert "portworx_source: 'storagecluster', but the cluster holds no StorageCluster" in out
    assert snapshot() == before


def crds(*kinds):
    subprocess.run([CRDS, os.path.join(LAB, "kubeconfig")] + list(kinds), check=True, capture_output=True)


def stored(api, version):
    from kubernetes import client
    items = client.CustomObjectsApi(api).list_cluster_custom_object(
        GROUP, version, "clusternetworkpolicies", label_selector="app.kubernetes.io/managed-by=clusterguard.portworx")
    return sorted((i["apiVersion"], i["metadata"]["name"]) for i in items["items"])


@pytest.fixture
def cnp_crd(kubeconfig, inventory):
    yield
    run_playbook(NETPOL, inventory, lab_settings(kubeconfig, network_policy_state="absent"))
    crds("ClusterNetworkPolicy")  # the lab's own: v0.3.0 as shipped


@pytest.mark.parametrize("kind, version", [("ClusterNetworkPolicy-v1alpha2", "v1alpha2"),
                                           ("ClusterNetworkPolicy-v1beta1", "v1beta1")])
def test_cluster_policies_in_the_only_version_the_cluster_serves(kind, version, cnp_crd, api, kubeconfig, inventory):
    run_playbook(NETPOL, inventory, lab_settings(kubeconfig, network_policy_state="absent"))
    crds(kind)
    settings = lab_settings(kubeconfig, network_policy_scope="cluster",
                            network_policy_metrics_access=[{"namespace": "monitoring", "pods": "app=prometheus"}])
    run_playbook(NETPOL, inventory, settings)
    assert stored(api, version) == [
        ("%s/%s" % (GROUP, version), "allow-portworx-metrics-monitoring"),
        ("%s/%s" % (GROUP, version), "block-9001-for-non-system-users"),
        ("%s/%s" % (GROUP, version), "block-9001-for-non-system-users-kube-system")]
    again = run_playbook(NETPOL, inventory, settings)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", again), again[-2000:]
    run_playbook(NETPOL, inventory, lab_settings(kubeconfig, network_policy_state="absent"))
    assert stored(api, version) == []
