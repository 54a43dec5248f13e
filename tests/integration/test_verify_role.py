"""The verify role on the lab: on the locked-down lab every check passes; on deliberately
broken labs the play fails and the JSON, Markdown and JUnit reports all name the broken
item. Real probes over real TCP, real iptables on the workers, the real API server."""

import json

import pytest
from junitparser import Failure, JUnitXml

from conftest import run_playbook
from hostfw import netns

SITE = "playbooks/site.yml"
VERIFY = "playbooks/verify.yml"
# The lab's settings (inventories/lab/group_vars), with every namespace of the cluster selected.
SETTINGS = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"],
            "network_policy_all_namespaces": True, "verify_probe_group": "outsiders"}


def lock_down(inventory):
    run_playbook(SITE, inventory, SETTINGS, args=("--tags", "host_firewall,network_policy"))


def verify(inventory, tmp_path, expect_rc):
    out = run_playbook(VERIFY, inventory, dict(SETTINGS, verify_report_dir=str(tmp_path)), expect_rc=expect_rc)
    report = json.load(open(tmp_path / "report.json"))
    markdown = (tmp_path / "report.md").read_text()
    junit = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    failing_cases = {(case.classname, case.name) for suite in junit for case in suite
                     if any(isinstance(r, Failure) for r in case.result)}
    return out, report, markdown, junit, failing_cases


def failing(report):
    return {(c["scope"], c["subject"], c["check"]) for c in report["checks"] if c["status"] == "fail"}


@pytest.fixture
def locked(inventory, kubeconfig):
    """The lab locked down as site.yml leaves it, for every namespace of the cluster."""
    SETTINGS["network_policy_kubeconfig"] = kubeconfig
    lock_down(inventory)
    yield inventory
    lock_down(inventory)


def test_locked_down_lab_passes_every_check(locked, tmp_path):
    out, report, markdown, junit, failing_cases = verify(locked, tmp_path, 0)
    assert report["exposed"] is False and failing(report) == set(), report
    assert "**locked down**" in markdown
    assert failing_cases == set()
    names = {(c["subject"], c["check"]) for c in report["checks"] if c["status"] == "pass"}
    for worker in ("cgpx-w1", "cgpx-w2", "cgpx-w3"):
        for name in ("chain_and_jump", "no_earlier_accept", "allowed_sources", "persisted", "reaches_workers",
                     "blocked_from_controller", "blocked_from_cgpx-out"):
            assert (worker, name) in names, (worker, name)
    assert ("default", "policies") in names and ("cluster", "nodes_in_inventory") in names
    # one JUnit testcase per check
    assert sum(len(list(suite)) for suite in junit) == len(report["checks"])
    assert "changed=0" in out and "failed=0" in out


def assert_named(result, scope, subject, check):
    _out, report, markdown, _junit, failing_cases = result
    assert (scope, subject, check) in failing(report), failing(report)
    assert "| %s | %s | FAIL |" % (subject, check) in markdown, markdown
    classname = {"node": "nodes", "namespace": "namespaces", "cluster": "cluster"}[scope]
    assert ("%s.%s" % (classname, subject), check) in failing_cases, failing_cases
    assert "**EXPOSED**" in markdown


def jump_rule(host):
    rules = netns(host, "iptables", "-S", "INPUT", check=True).stdout.splitlines()
    return [r for r in rules if "clusterguard.portworx" in r and "CLUSTERGUARD-PX" in r][0]


def test_a_removed_jump_is_named(locked, tmp_path):
    rule = jump_rule("w2")
    netns("w2", "sh", "-c", "iptables " + rule.replace("-A INPUT", "-D INPUT", 1), check=True)
    result = verify(locked, tmp_path, 2)
    assert_named(result, "node", "cgpx-w2", "chain_and_jump")
    assert_named(result, "node", "cgpx-w2", "blocked_from_controller")
    assert not {c for c in failing(result[1]) if c[1] in ("cgpx-w1", "cgpx-w3")}
    assert "verify: " in result[0] and "cgpx-w2 chain_and_jump" in result[0]


def test_an_accept_above_our_jump_is_named(locked, tmp_path):
    netns("w3", "iptables", "-I", "INPUT", "1", "-p", "tcp", "--dport", "9001", "-j", "ACCEPT", check=True)
    try:
        result = verify(locked, tmp_path, 2)
    finally:
        netns("w3", "iptables", "-D", "INPUT", "-p", "tcp", "--dport", "9001", "-j", "ACCEPT")
    assert_named(result, "node", "cgpx-w3", "no_earlier_accept")
    assert_named(result, "node", "cgpx-w3", "blocked_from_cgpx-out")
    assert "9001" in [c for c in result[1]["checks"] if c["subject"] == "cgpx-w3"
                      and c["check"] == "no_earlier_accept"][0]["detail"]


def test_a_deleted_policy_is_named(locked, tmp_path, api, namespace):
    from kubernetes import client

    lock_down(locked)
    client.NetworkingV1Api(api).delete_namespaced_network_policy("block-9001-for-non-system-users", namespace)
    result = verify(locked, tmp_path, 2)
    assert_named(result, "namespace", namespace, "policies")
    assert "block-9001-for-non-system-users" in result[2]


def test_a_namespace_created_after_the_run_is_named(locked, tmp_path, namespace):
    result = verify(locked, tmp_path, 2)
    assert_named(result, "namespace", namespace, "policies")
    assert "after the last run" in result[2]


def test_a_host_network_pod_is_named(locked, tmp_path, api, namespace):
    from kubernetes import client

    core = client.CoreV1Api(api)
    lock_down(locked)
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "sneaky"},
        "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "registry.invalid/none:1"}]}})
    try:
        result = verify(locked, tmp_path, 2)
    finally:
        core.delete_namespaced_pod("sneaky", namespace, grace_period_seconds=0)
    assert_named(result, "namespace", namespace, "host_network_pods")
    assert "sneaky" in result[2]


def test_verify_under_check_mode_reports_but_does_not_fail(locked, tmp_path, namespace):
    out = run_playbook(VERIFY, locked, dict(SETTINGS, verify_report_dir=str(tmp_path)), args=("--check",))
    report = json.load(open(tmp_path / "report.json"))
    assert ("namespace", namespace, "policies") in failing(report)
    assert "failed=0" in out


def test_with_cluster_scope_a_namespace_created_after_the_run_is_covered(locked, tmp_path, namespace, api):
    """The same late namespace as above, with network_policy_scope cluster: covered, not named."""
    from labapi import OURS, cluster_objects

    cluster = dict(SETTINGS, network_policy_scope="cluster")
    try:
        run_playbook(SITE, locked, cluster, args=("--tags", "network_policy"))
        late = "late-" + namespace
        __import__("kubernetes").client.CoreV1Api(api).create_namespace({"metadata": {"name": late}})
        out = run_playbook(VERIFY, locked, dict(cluster, verify_report_dir=str(tmp_path)))
        report = json.load(open(tmp_path / "report.json"))
        assert failing(report) == set(), report
        detail = {(c["subject"], c["check"]): (c["status"], c["detail"]) for c in report["checks"]}
        assert detail[(late, "policies")] == ("pass", "covered by ClusterNetworkPolicy block-9001-for-non-system-users")
        assert detail[("cluster", "cluster_policies")][0] == "pass"
        assert "failed=0" in out
        # the objects go when the scope goes back: the fixture's lock_down runs the namespace scope
    finally:
        lock_down(locked)
        assert cluster_objects(api, OURS) == []
