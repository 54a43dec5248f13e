"""network_policy against the real lab API server when things go wrong or overlap:
the server stopped before the run or between the reads and the apply, an
admission policy that rejects one object, labels an administrator set, two
instances of the role, nodes the inventory lacks, and two runs at once."""

import os
import re
import subprocess
import threading
import time

import pytest

from conftest import LAB, LAB_API_PORT, ROOT, run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
SPLIT = "tests/integration/playbooks/network_policy_split.yml"
PIDFILE = os.path.join(LAB, "controlplane", "kube-apiserver.pid")


def policies(api, namespace):
    from kubernetes import client
    return sorted(p.metadata.name for p in client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items)


def labels_of(api, namespace):
    from kubernetes import client
    return client.CoreV1Api(api).read_namespace(namespace).metadata.labels or {}


STOPPED = []  # the pids of API servers this module stopped and has not started again


def start_apiserver():
    """Start the lab API server again (etcd kept the data) once the one stopped here has exited.
    With none stopped there is nothing to do: waiting for a running server to exit took the
    fixture 30 s after every test that had started it again itself."""
    if not STOPPED:
        return
    while STOPPED:
        pid = STOPPED.pop()
        for _attempt in range(300):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.1)
    subprocess.run([os.path.join(ROOT, "tests", "lab", "controlplane.sh"), "up"], check=True, capture_output=True)


@pytest.fixture
def restart_apiserver():
    yield
    start_apiserver()  # a test that failed before it started the server again


def stop_apiserver():
    pid = int(open(PIDFILE).read())
    os.kill(pid, 15)
    STOPPED.append(pid)


def test_api_server_stopped_before_the_run(api, kubeconfig, inventory, namespace, restart_apiserver):
    stop_apiserver()
    out = run_playbook(PLAY, inventory, {"network_policy_kubeconfig": kubeconfig,
                                         "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "cannot reach the API server at https://127.0.0.1:%d" % LAB_API_PORT in out and "nothing was changed" in out
    assert "Traceback" not in out
    start_apiserver()
    assert policies(api, namespace) == []


def test_api_server_stopped_between_reads_and_apply(api, kubeconfig, inventory, namespace, restart_apiserver, tmp_path):
    # a TMPDIR of this run's own: runs in other labs of the machine write their temporary kubeconfigs to /tmp
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pid = int(open(PIDFILE).read())
    STOPPED.append(pid)  # by the playbook's fault command
    out = run_playbook(SPLIT, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
                                          "fault_command": "kill %d" % pid}, expect_rc=2, env={"TMPDIR": str(tmp)})
    assert "Apply the policies the cluster does not hold as wanted" in out and "Traceback" not in out
    assert re.search(r"[Cc]onnection refused|Max retries", out), out[-2000:]
    start_apiserver()
    assert policies(api, namespace) == []
    # the temporary kubeconfig of the apply went with the failed run (kubernetes.core may keep its discovery cache)
    assert [n for n in os.listdir(str(tmp)) if n.startswith("clusterguard-kubeconfig-")] == []


@pytest.fixture
def deny_namespace(api):
    """A ValidatingAdmissionPolicy (built into kube-apiserver) that rejects NetworkPolicies in one namespace."""
    from kubernetes import client
    adm = client.AdmissionregistrationV1Api(api)
    created = []

    def make(namespace):
        adm.create_validating_admission_policy({
            "metadata": {"name": "cgpx-deny-%s" % namespace},
            "spec": {"failurePolicy": "Fail",
                     "matchConstraints": {"resourceRules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                                                             "operations": ["CREATE", "UPDATE"],
                                                             "resources": ["networkpolicies"]}]},
                     "validations": [{"expression": "object.metadata.namespace != '%s'" % namespace,
                                      "message": "no NetworkPolicy in %s" % namespace}]}})
        adm.create_validating_admission_policy_binding({
            "metadata": {"name": "cgpx-deny-%s" % namespace},
            "spec": {"policyName": "cgpx-deny-%s" % namespace, "validationActions": ["Deny"]}})
        created.append(namespace)
        net = client.NetworkingV1Api(api)
        for _attempt in range(50):  # admission policies take a moment to load
            try:
                net.create_namespaced_network_policy(namespace, {"metadata": {"name": "probe"},
                                                                 "spec": {"podSelector": {}}}, dry_run="All")
            except client.exceptions.ApiException as exc:
                if exc.status in (403, 422):
                    return
            time.sleep(0.2)
        raise AssertionError("the admission policy never took effect")

    def remove():
        for namespace in created:
            adm.delete_validating_admission_policy_binding("cgpx-deny-%s" % namespace)
            adm.delete_validating_admission_policy("cgpx-deny-%s" % namespace)
        created.clear()
        time.sleep(2)

    yield make, remove
    remove()


def test_admission_policy_rejects_one_namespace(api, kubeconfig, inventory, deny_namespace):
    from kubernetes import client
    core = client.CoreV1Api(api)
    names = []
    for _attempt in range(3):
        ns = "t-vap-%s" % os.urandom(3).hex()
        core.create_namespace({"metadata": {"name": ns}})
        names.append(ns)
    keep, denied, old = names
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [keep, old]}
    run_playbook(PLAY, inventory, extra)
    make, remove = deny_namespace
    make(denied)
    extra["network_policy_namespaces"] = [keep, denied]
    out = run_playbook(PLAY, inventory, extra, expect_rc=2)
    assert denied in out and "no NetworkPolicy in %s" % denied in out
    assert policies(api, old) == ["allow-api", "block-9001-for-non-system-users"]  # nothing was pruned
    remove()
    out = run_playbook(PLAY, inventory, extra)
    assert policies(api, denied) == ["allow-api", "block-9001-for-non-system-users"] and policies(api, old) == []
    out = run_playbook(PLAY, inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out)


def test_pod_security_labels_of_an_administrator_are_kept(api, kubeconfig, inventory, namespace):
    from kubernetes import client
    core = client.CoreV1Api(api)
    other = "t-psa-%s" % os.urandom(3).hex()
    core.create_namespace({"metadata": {"name": other}})
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
                         field_manager="cluster-admin")
    core.patch_namespace(other, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
                         field_manager="cluster-admin")
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace, other],
             "network_policy_pod_security": "baseline"}
    out = run_playbook(PLAY, inventory, extra)
    assert labels_of(api, namespace)["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels_of(api, other)["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "kept, though weaker than 'baseline'" in out and "%s pod-security.kubernetes.io/enforce=privileged" % other in out
    assert labels_of(api, namespace)["clusterguard.portworx/pod-security"] == "default"
    out = run_playbook(PLAY, inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out)
    extra["network_policy_state"] = "absent"
    run_playbook(PLAY, inventory, extra)
    assert labels_of(api, namespace)["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels_of(api, other)["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "clusterguard.portworx/pod-security" not in labels_of(api, namespace)
    assert "pod-security.kubernetes.io/enforce-version" not in labels_of(api, namespace)


def test_two_instances_side_by_side(api, kubeconfig, inventory, namespace):
    a = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace]}
    b = dict(a, network_policy_instance="openshift-range", portworx_start_port=17001,
             network_policy_block_name="block-17001", network_policy_api_name="allow-api-17001")
    run_playbook(PLAY, inventory, a)
    run_playbook(PLAY, inventory, b)
    assert policies(api, namespace) == ["allow-api", "allow-api-17001", "block-17001", "block-9001-for-non-system-users"]
    out = run_playbook(PLAY, inventory, a)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out)  # a does not prune b
    run_playbook(PLAY, inventory, dict(b, network_policy_state="absent"))
    assert policies(api, namespace) == ["allow-api", "block-9001-for-non-system-users"]
    # the same object name in two instances is refused before anything is applied
    out = run_playbook(PLAY, inventory, dict(a, network_policy_instance="other"), expect_rc=2)
    assert "network_policy_instance: 'other' would take over kube-system/block-9001-for-non-system-users, which instance 'default'" in out
    run_playbook(PLAY, inventory, dict(a, network_policy_state="absent"))


def test_node_drift_warnings_compare_addresses(api, kubeconfig, inventory, namespace):
    from kubernetes import client
    core = client.CoreV1Api(api)
    core.create_node({"metadata": {"name": "cgpx-w9"}})
    node = core.read_node_status("cgpx-w9")
    node.status.addresses = [client.V1NodeAddress(type="InternalIP", address="10.231.0.14")]
    core.replace_node_status("cgpx-w9", node)
    try:
        out = run_playbook(PLAY, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace],
                                             "portworx_node_address_vars": ["ansible_host", "node_ipv6"]})
        assert "cluster nodes cgpx-w9 (10.231.0.14) are not in inventory group 'workers'" in out
        assert "inventory workers" not in out
    finally:
        core.delete_node("cgpx-w9")


def test_two_runs_at_the_same_time_converge(api, kubeconfig, inventory, namespace):
    from kubernetes import client
    others = ["t-race-%s" % os.urandom(3).hex() for _i in range(3)]
    for name in others:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    # both runs find the same six stale objects to prune, and create the same ones
    run_playbook(PLAY, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": others})
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": [namespace, "default"]}
    outs = []

    def one():
        outs.append(run_playbook(PLAY, inventory, extra))

    threads = [threading.Thread(target=one), threading.Thread(target=one)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outs) == 2  # both returned rc 0 (run_playbook asserts it)
    out = run_playbook(PLAY, inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0", out)
    assert policies(api, namespace) == ["allow-api", "block-9001-for-non-system-users"]
    assert all(policies(api, name) == [] for name in others)
