"""The NetworkPolicies on real packets: kube-router's policy engine (the one k3s embeds)
in every lab worker's namespace enforces what the network_policy role applied, and
pods that are network namespaces behind the workers open real TCP connections and
send real UDP datagrams. Every flow is judged twice, by the evaluator
(netpol_eval.py, from the API reference) and by the packets, and the two must agree
with each other and with the expected table.

kube-router implements NetworkPolicy, not ClusterNetworkPolicy: those are judged by the
evaluator only (test_cluster_scope.py). The host firewall is removed for this module,
so the policies alone decide, and put back at the end."""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import LAB, ROOT, run_playbook
from hostfw import nft_members
from labapi import network_policies
from netpol_eval import egress_allowed

PLAYBOOK = "tests/integration/playbooks/network_policy.yml"
ENGINE = os.path.join(ROOT, "tests", "lab", "engine.sh")
LAB_NAME = os.path.basename(LAB)
OWN, OTHER = "10.231.0.11", "10.231.0.12"  # the pods below run behind w1
POD_W2 = "10.244.2.11"  # the lab-apps pod behind w2: not a node address
# pod namespace on w1 -> (Kubernetes namespace, labels)
PODS = {"p1": ("lab-apps", {"app": "demo"}), "p2": ("lab-other", {"app": "demo"}),
        "p3": ("kube-system", {"k8s-app": "kube-dns"}), "p4": ("kube-system", {"component": "stork"}),
        "p5": ("kube-system", {"name": "portworx-operator"}), "p6": ("kube-system", {"name": "px-plugin-proxy"}),
        "p7": ("lab-monitoring", {"app": "prometheus"})}
FLOWS = [(OWN, "TCP", 9001), (OWN, "TCP", 9022), (OTHER, "TCP", 9001), (OTHER, "TCP", 9022), (OTHER, "TCP", 9000),
         (OWN, "TCP", 9020), (OTHER, "TCP", 9019), (OTHER, "TCP", 9020), (OTHER, "TCP", 9021), (OWN, "TCP", 9023),
         (OTHER, "TCP", 9023), (OTHER, "TCP", 9024), (OTHER, "TCP", 6443), (OTHER, "TCP", 10250), (OWN, "TCP", 10250),
         (OTHER, "UDP", 9001), (POD_W2, "TCP", 9001), (POD_W2, "TCP", 8080)]
# TCP 9001-9023: every port the Portworx serves, the TLS REST API on 9023 included
GUARDED = {(d, "TCP", p) for d, proto, p in FLOWS if d in (OWN, OTHER) and proto == "TCP" and 9001 <= p <= 9023}
METRICS = {(d, "TCP", p) for d in (OWN, OTHER) for p in (9001, 9019)}


def blocked(pods, flows):
    return {(pod,) + flow for pod in pods for flow in flows}


# Expected verdicts: (pod, destination, protocol, port) -> allowed? Unlisted flows are open.
# The operator (p5) and the plugin proxy (p6) are exempt in kube-system: they reach the SDK and
# REST gateway of their own node and of the others. lab-monitoring (p7) is not selected.
BLOCKED = {
    "precise": blocked(("p1", "p3"), GUARDED),
    # the document as written: user pods reach nothing on the nodes but 6443 (the kubelet is cut),
    # non-exempt kube-system pods reach only 8099 off the nodes
    "seed": blocked(("p1",), [(d, proto, p) for d, proto, p in FLOWS if d in (OWN, OTHER) and p != 6443])
    | blocked(("p3",), FLOWS),
    # lab-monitoring selected too, its Prometheus allowed the metrics ports (9001, KVDB 9019) only
    "metrics": blocked(("p1", "p3"), GUARDED) | blocked(("p7",), GUARDED - METRICS),
    "absent": set(),
}


def engine_env():
    return dict(os.environ, LAB_NAME=LAB_NAME, LAB_DIR=LAB)


@pytest.fixture(scope="module")
def engine(inventory, kubeconfig):
    """kube-router and the pods: started here unless `make lab-up` already did, and then
    stopped again, so that the other tests never meet kube-router's table rewrites."""
    started = not os.path.exists(os.path.join(LAB, "engine", "kube-router-w1.pid"))
    if started:
        subprocess.run([ENGINE, "up"], env=engine_env(), check=True, capture_output=True)
    lab = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, dict(lab, host_firewall_state="absent"))
    yield
    run_playbook(PLAYBOOK, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_state": "absent"})
    if started:
        subprocess.run([ENGINE, "down"], env=engine_env(), check=True, capture_output=True)
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, lab)


def ruleset(worker):
    """The worker's filter table. kube-router rewrites it whole at every sync; an iptables-save that
    meets such a rewrite can fail (exit 2), so a failure is read again before it counts."""
    for _attempt in range(10):
        proc = subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, worker), "iptables-save", "-t", "filter"],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return proc.stdout
        time.sleep(0.2)
    pytest.fail("iptables-save in %s failed 10 times: rc %d, %s" % (worker, proc.returncode, proc.stderr.strip()))


def wait_for_engine(marker, present):
    """Until kube-router on every worker has (or no longer has) the rules of a policy."""
    for _attempt in range(120):
        if all((marker in ruleset(w)) == present for w in ("w1", "w2", "w3")):
            return
        time.sleep(0.25)
    pytest.fail("kube-router did not %s rules for %r within 30s" % ("program" if present else "remove", marker))


def packets(pod):
    """{(destination, protocol, port): allowed?} from real connects in one pod namespace."""
    targets = ["%s%s:%d" % ("udp/" if proto == "UDP" else "", d, p) for d, proto, p in FLOWS]
    out = subprocess.run(["ip", "netns", "exec", "%s-w1-%s" % (LAB_NAME, pod), sys.executable,
                          os.path.join(ROOT, "tests", "lab", "probe.py"), "--timeout", "1"] + targets,
                         capture_output=True, text=True, check=True).stdout
    results = {row["target"]: row["result"] for row in map(json.loads, out.splitlines())}
    return {flow: results[t] == "open" for flow, t in zip(FLOWS, targets)}, results


def judge(api, case):
    policies = network_policies(api)
    disagree, wrong = [], []
    for pod, (namespace, labels) in PODS.items():
        real, raw = packets(pod)
        for flow in FLOWS:
            dest, proto, port = flow
            model = egress_allowed(policies, namespace, labels, dest, proto, port)
            expected = (pod, dest, proto, port) not in BLOCKED[case]
            name = "%s %s/%s -> %s %s:%d" % (pod, namespace, labels, proto, dest, port)
            if model != real[flow]:
                disagree.append("%s: evaluator %s, packets %s (%s)" % (
                    name, "allowed" if model else "denied", "allowed" if real[flow] else "denied",
                    raw["%s%s:%d" % ("udp/" if proto == "UDP" else "", dest, port)]))
            elif model != expected:
                wrong.append("%s: both %s, expected %s" % (name, "allowed" if model else "denied",
                                                           "allowed" if expected else "denied"))
    assert not disagree, "evaluator and packets disagree:\n" + "\n".join(disagree)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("mode", ["precise", "seed"])
def test_flows_on_real_packets_agree_with_the_evaluator(mode, engine, api, kubeconfig, inventory):
    run_playbook(PLAYBOOK, inventory, {
        "network_policy_kubeconfig": kubeconfig, "network_policy_mode": mode, "network_policy_namespaces": ["lab-apps"],
        "portworx_node_address_vars": ["ansible_host", "node_ipv6"]})
    marker = "policy name: %s namespace lab-apps" % ("allow-api" if mode == "seed" else "block-9001-for-non-system-users")
    wait_for_engine(marker, True)
    if mode == "seed":  # the precise policy of the run before is replaced: wait for its complement rules to go
        for _attempt in range(120):
            if "--dport 9024:65535" not in ruleset("w1"):
                break
            time.sleep(0.25)
    judge(api, mode)


def test_the_operator_reaches_the_sdk_and_prometheus_only_the_metrics_ports(engine, api, kubeconfig, inventory):
    """The operator in kube-system (its own manifest's namespace) reaches the SDK port 9020 of its
    node and of another one; a user pod does not. A Prometheus pod given the metrics access reaches
    9001 and 9019, and not 9020; its namespace is otherwise blocked like any user namespace."""
    run_playbook(PLAYBOOK, inventory, {
        "network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": ["lab-apps", "lab-monitoring"],
        "portworx_node_address_vars": ["ansible_host", "node_ipv6"],
        "network_policy_metrics_access": [{"namespace": "lab-monitoring", "pods": "app=prometheus"}]})
    wait_for_engine("policy name: allow-portworx-metrics namespace lab-monitoring", True)
    judge(api, "metrics")


def test_state_absent_reopens_everything_on_real_packets(engine, api, kubeconfig, inventory):
    extra = {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": ["lab-apps"],
             "portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    run_playbook(PLAYBOOK, inventory, extra)
    wait_for_engine("namespace lab-apps", True)
    run_playbook(PLAYBOOK, inventory, dict(extra, network_policy_state="absent"))
    wait_for_engine("namespace lab-apps", False)
    wait_for_engine("namespace kube-system", False)
    judge(api, "absent")


def allowed(worker):
    """The IPv4 sources our chain lets through: its -s rules, or the members of the set it matches."""
    rules = subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, worker), "iptables", "-S", "CLUSTERGUARD-PX"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    out = [r.split()[r.split().index("-s") + 1] for r in rules if " -s " in r]
    for rule in rules:
        if "--match-set" in rule:
            name = rule.split()[rule.split().index("--match-set") + 1]
            listing = subprocess.run(["ip", "netns", "exec", "%s-%s" % (LAB_NAME, worker), "ipset", "list", name],
                                     capture_output=True, text=True, check=True).stdout
            out += listing.split("Members:\n", 1)[1].split()
    return sorted(out)


@contextlib.contextmanager
def churning(api):
    """Namespace label changes, 20 a second, that keep kube-router syncing while the block runs. A sync
    under way when the block ends runs to its end all the same, so the tests churn only while a run of
    the role lasts, and check after such a sync has ended (kube-router on 3 workers syncing back to
    back keeps both cores of the test machine busy)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            i += 1
            core.patch_namespace("lab-other", {"metadata": {"labels": {"clusterguard-churn": str(i)}}})
            time.sleep(0.05)

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        core.patch_namespace("lab-other", {"metadata": {"labels": {"clusterguard-churn": None}}})


SOURCE_CHANGES = [["10.244.0.0/16"], [], ["10.244.0.0/16"], []]


def test_host_firewall_changes_survive_kube_router_rewriting_the_tables(engine, api, inventory):
    """kube-router v2.1.0 writes every ipset back at each sync as it saw them at the end of
    the sync before (cloudnativelabs/kube-router#1677), so a change to our set was undone at its
    next sync, and it writes the whole filter table back at the end of each sync, so a change
    made during one is undone too. Namespace label changes keep it syncing while the host
    firewall's sources change back and forth; each change must still be there afterwards."""
    lost, undone = [], 0
    lab = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    for run, extra in enumerate(SOURCE_CHANGES):
        with churning(api):
            out = run_playbook("tests/integration/playbooks/host_firewall.yml", inventory,
                               dict(lab, host_firewall_extra_sources=extra))
        undone += out.count("kube-router undid our change")  # written again: reported, not lost
        time.sleep(1.5)  # longer than any kube-router sync here takes: one under way at the run's end has ended
        for worker in ("w1", "w2", "w3"):
            have = allowed(worker)
            if ("10.244.0.0/16" in have) != bool(extra):
                lost.append("run %d (%s): %s holds %s" % (run + 1, extra or "no extra source", worker, have))
    assert not lost, "changes undone by kube-router (%d written again):\n%s" % (undone, "\n".join(lost))
    # With the set, 7 of these 18 host runs lost their change. Rules instead of the set:
    assert "match-set" not in subprocess.run(["ip", "netns", "exec", "%s-w1" % LAB_NAME, "iptables", "-S",
                                              "CLUSTERGUARD-PX"], capture_output=True, text=True, check=True).stdout


def test_the_nftables_back_end_needs_no_settling_under_kube_router(engine, api, inventory):
    """The same churn with host_firewall_backend: nftables. Our table is not in the filter table
    kube-router saves and restores, so no change is undone, nothing is written twice (no "undid
    our change"), and the run does not wait for kube-router's syncs to settle. That holds by how the
    tables are laid out, not by chance, so one run that adds the source and one that takes it away
    show it; the iptables back-end's test above, where a change is lost by chance, runs four."""
    lost, outputs = [], []
    lab = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"], "host_firewall_backend": "nftables"}
    # Nothing of ours in iptables to start with: removing a chain there (switching back-ends) is a
    # write to kube-router's table, which settles as the iptables back-end does.
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, {"host_firewall_state": "absent"})
    try:
        for run, extra in enumerate(SOURCE_CHANGES[:2]):
            with churning(api):
                outputs.append(run_playbook("tests/integration/playbooks/host_firewall.yml", inventory,
                                            dict(lab, host_firewall_extra_sources=extra)))
            for wait in (0, 1.5):  # at once, and after a sync under way at the run's end has ended
                time.sleep(wait)
                for worker in ("w1", "w2", "w3"):
                    have = nft_members(worker)
                    if ("10.244.0.0/16" in have) != bool(extra):
                        lost.append("run %d (%s), %.1f s later: %s holds %s" % (
                            run + 1, extra or "no extra source", wait, worker, have))
    finally:
        run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, {"host_firewall_state": "absent"})
    assert not lost, "\n".join(lost)
    undone = [line for out in outputs for line in out.splitlines() if "undid our change" in line]
    assert not undone, undone
    # kube-router was syncing all along: its chains are there, ours is not among them
    rules = subprocess.run(["ip", "netns", "exec", "%s-w1" % LAB_NAME, "iptables", "-S"], capture_output=True,
                           text=True, check=True).stdout
    assert "KUBE-ROUTER-INPUT" in rules and "CLUSTERGUARD" not in rules


# -- verify's reachability against real packets ------------------------------------------
# Policies of "another team" in lab-apps, each of which opens some of the way to the Portworx
# ports for p1 (lab-apps, app=demo), or, the last one, for pods that do not run.
def other_policy(name, egress, selector=None):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
            "spec": {"podSelector": selector or {}, "policyTypes": ["Egress"], "egress": egress}}


OPENING = {
    "allow-all-egress": (other_policy("allow-all-egress", [{}]), True),
    "node-cidr-one-port": (other_policy("node-cidr-one-port", [{"to": [{"ipBlock": {"cidr": "10.231.0.0/24"}}],
                                                                "ports": [{"protocol": "TCP", "port": 9020}]}]), True),
    "demo-pods-only": (other_policy("demo-pods-only", [{"ports": [{"protocol": "TCP", "port": 9001, "endPort": 9023}]}],
                                    {"matchLabels": {"app": "demo"}}), True),
    "all-but-other-node": (other_policy("all-but-other-node", [{"to": [{"ipBlock": {
        "cidr": "0.0.0.0/0", "except": [OTHER + "/32"]}}]}]), True),
    "pods-that-do-not-run": (other_policy("pods-that-do-not-run", [{}], {"matchLabels": {"app": "nobody"}}), False),
}
VERIFY_SETTINGS = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"], "network_policy_all_namespaces": True,
                   "host_firewall_extra_sources": ["10.244.0.0/16"],
                   "verify_probe_group": "outsiders"}


def run_verify(inventory, kubeconfig, directory, expect_rc):
    run_playbook("playbooks/verify.yml", inventory, dict(VERIFY_SETTINGS, network_policy_kubeconfig=kubeconfig,
                                                         verify_report_dir=str(directory)), expect_rc=expect_rc)
    return json.load(open(os.path.join(str(directory), "report.json")))


def verify_opens(report, namespace, labels, address, port):
    """verify's verdict for one flow: open and not expected (the metrics access)."""
    for finding in report["reachability"]:
        if finding["namespace"] == namespace and finding["protocol"] == "TCP" and labels.items() <= finding[
                "labels"].items():
            return any(address in item["addresses"] and any(lo <= port <= hi for lo, hi in item["ports"])
                       for item in finding["open"])
    raise AssertionError("verify judged no pods %s in %s" % (labels, namespace))


@pytest.fixture
def locked_for_pods(engine, inventory, kubeconfig):
    """site.yml's lab: the host firewall lets the pod network through (as the lab's group_vars
    do), so the policies alone decide what the pods reach; every namespace gets our policies."""
    lab = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"], "host_firewall_extra_sources": ["10.244.0.0/16"]}
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, lab)
    run_playbook(PLAYBOOK, inventory, dict(VERIFY_SETTINGS, network_policy_kubeconfig=kubeconfig))
    wait_for_engine("policy name: block-9001-for-non-system-users namespace lab-apps", True)
    yield
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, dict(lab, host_firewall_state="absent"))
    run_playbook(PLAYBOOK, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_state": "absent",
                                       "network_policy_all_namespaces": True})


def test_verify_names_each_opening_policy_as_real_packets_see_it(
        locked_for_pods, api, kubeconfig, inventory, tmp_path):
    """After site.yml verify passes. Each policy of another team that opens the way makes
    verify fail and name it and its namespace, and verify's verdict on every guarded flow of
    the lab-apps pod p1 agrees with kube-router on real packets; without it, verify passes
    again. A policy for pods that do not run exposes nobody, in verify and on the wire."""
    from kubernetes import client

    net = client.NetworkingV1Api(api)
    report = run_verify(inventory, kubeconfig, tmp_path / "before", 0)
    assert {c["subject"]: c["status"] for c in report["checks"] if c["check"] == "reachability"}["lab-apps"] == "pass"
    namespace, labels = PODS["p1"]
    disagree, unnamed = [], []
    for case, (policy, opens) in OPENING.items():
        net.create_namespaced_network_policy("lab-apps", policy)
        try:
            wait_for_engine("policy name: %s namespace lab-apps" % case, True)
            report = run_verify(inventory, kubeconfig, tmp_path / case, 2 if opens else 0)
            real, raw = packets("p1")
        finally:
            net.delete_namespaced_network_policy(case, "lab-apps")
            wait_for_engine("policy name: %s namespace lab-apps" % case, False)
        row = [c for c in report["checks"] if c["subject"] == "lab-apps" and c["check"] == "reachability"][0]
        if opens != (row["status"] == "fail") or (opens and "NetworkPolicy lab-apps/%s" % case not in row["detail"]):
            unnamed.append("%s: %s %s" % (case, row["status"], row["detail"]))
        for flow in sorted(GUARDED):
            dest, _proto, port = flow
            judged = verify_opens(report, namespace, labels, dest, port)
            if judged != real[flow]:
                disagree.append("%s: %s:%d verify %s, packets %s (%s)" % (
                    case, dest, port, "open" if judged else "blocked", "open" if real[flow] else "blocked",
                    raw["%s:%d" % (dest, port)]))
    assert not disagree, "verify and packets disagree:\n" + "\n".join(disagree)
    assert not unnamed, "\n".join(unnamed)
    report = run_verify(inventory, kubeconfig, tmp_path / "after", 0)
    assert not [c for c in report["checks"] if c["status"] == "fail"]
