"""plugin_utils/verify/checks.py: which probes, how findings become checks, and the three reports."""

import datetime
import json
from xml.etree import ElementTree

import pytest

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify

NOW = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.timezone.utc)
ARGS = {"chain": "CLUSTERGUARD-PX", "state": "present", "ports": ["9001-9022"], "protocols": ["tcp"],
        "sources": ["10.0.0.11/32", "10.0.0.12/31", "fd00::11/128"], "ip_versions": ["ipv4", "ipv6"],
        "persist": True, "boot_unit": True}
HOSTS = {"w1": ARGS, "w2": ARGS, "w3": ARGS}
ADDRESSES = {"w1": ["10.0.0.11", "fd00::11"], "w2": ["10.0.0.12"], "w3": ["10.0.0.13"]}


def by(checks, subject, name):
    found = [c for c in checks if c["subject"] == subject and c["check"] == name]
    assert len(found) == 1, checks
    return found[0]


def test_probe_ports_first_middle_last_and_just_outside():
    assert verify.probe_ports(["9001-9022"]) == ([9001, 9011, 9022], [9000, 9023])
    assert verify.probe_ports(["17001-17022", "9001"]) == ([9001, 17001, 17011, 17022], [9000, 9002, 17000, 17023])
    # a port between two ranges that one of them holds is not "outside"
    assert verify.probe_ports(["1-10", "12-20"])[1] == [11, 21]
    assert verify.probe_ports(["65535"]) == ([65535], [65534])


def test_probe_plan_covers_every_address_and_samples_peers():
    plan = verify.probe_plan(HOSTS, ADDRESSES, sample=1)
    outside = {(t["host"], t["address"], t["port"], t["expect"]) for t in plan["outside"]}
    assert ("w1", "fd00::11", 9011, "blocked") in outside
    assert ("w3", "10.0.0.13", 9023, "report") in outside
    assert len(plan["outside"]) == 4 * 5  # four addresses, three guarded ports and two outside
    others = {h: [t for t in ts if t["expect"] == "open"] for h, ts in plan["peers"].items()}
    assert [t["host"] for t in others["w1"]] == ["w2"]
    assert [t["host"] for t in others["w3"]] == ["w1", "w1"]  # both addresses of w1
    assert all(t["port"] == 9001 for ts in plan["peers"].values() for t in ts)
    # and each worker itself on loopback, of each family it guards
    assert [(t["host"], t["address"]) for t in plan["peers"]["w2"] if t["expect"] == "loopback"] == [
        ("w2", "127.0.0.1"), ("w2", "::1")]


def test_probe_plan_leaves_out_hosts_not_guarded():
    hosts = dict(HOSTS, w2=dict(ARGS, state="absent"), w3=dict(ARGS, protocols=["udp"]))
    plan = verify.probe_plan(hosts, ADDRESSES, sample=5)
    assert {t["host"] for t in plan["outside"]} == {"w1"}
    assert [t["expect"] for t in plan["peers"]["w1"]] == ["loopback", "loopback"]


def result(host, address, port, outcome, expect="blocked", source="10.9.9.9"):
    return {"host": host, "address": address, "port": port, "expect": expect, "outcome": outcome,
            "reached": outcome in ("open", "refused"), "source": source}


def test_probe_checks_fail_on_a_reached_guarded_port_and_only_report_outside():
    outside = {"controller": [result("w1", "10.0.0.11", 9001, "dropped"), result("w1", "10.0.0.11", 9022, "refused"),
                              result("w1", "10.0.0.11", 9023, "open", expect="report"),
                              result("w2", "10.0.0.12", 9001, "dropped")]}
    checks = verify.probe_checks(HOSTS, outside, {})
    assert by(checks, "w1", "blocked_from_controller")["status"] == "fail"
    assert "10.0.0.11:9022 refused" in by(checks, "w1", "blocked_from_controller")["detail"]
    assert by(checks, "w2", "blocked_from_controller")["status"] == "pass"
    assert by(checks, "w1", "outside_range_from_controller")["status"] == "info"


def test_probe_from_an_allowed_source_is_not_an_outsiders_view():
    outside = {"controller": [result("w1", "10.0.0.11", 9001, "open", source="10.0.0.12")]}
    assert by(verify.probe_checks(HOSTS, outside, {}), "w1", "blocked_from_controller")["status"] == "info"
    outside = {"controller": [result("w1", "fd00::11", 9001, "open", source="::1")]}
    assert by(verify.probe_checks(HOSTS, outside, {}), "w1", "blocked_from_controller")["status"] == "info"


def test_peer_that_is_dropped_fails():
    peers = {"w1": [result("w2", "10.0.0.12", 9001, "refused", "open")],
             "w2": [result("w1", "10.0.0.11", 9001, "dropped", "open", source="192.168.1.2")]}
    checks = verify.probe_checks(HOSTS, {}, peers)
    assert by(checks, "w1", "reaches_workers")["status"] == "pass"
    failed = by(checks, "w2", "reaches_workers")
    assert failed["status"] == "fail" and "192.168.1.2" in failed["detail"]


FOUND_OK = {"drift": {"ipv4": [], "ipv6": [], "files": [], "boot_unit": []}, "boot_unit": "enabled",
            "families": {"ipv4": {"set_name": "CLUSTERGUARD-PX-v4", "earlier_accepts": []},
                         "ipv6": {"set_name": "CLUSTERGUARD-PX-v6", "earlier_accepts": []}},
            "sources": ARGS["sources"], "persisted": ["/etc/clusterguard/CLUSTERGUARD-PX.v4.rules"]}


def test_host_checks_pass_when_nothing_drifts():
    checks = verify.host_checks("w1", ARGS, FOUND_OK)
    assert {c["check"]: c["status"] for c in checks} == {
        "chain_and_jump": "pass", "no_leftovers": "pass", "no_earlier_accept": "pass", "allowed_sources": "pass",
        "persisted": "pass", "boot_unit": "pass"}


def test_host_checks_of_the_nftables_back_end_name_the_table_and_its_sets():
    found = dict(FOUND_OK, families={"ipv4": {"set_name": "v4", "earlier_accepts": []},
                                     "ipv6": {"set_name": "v6", "earlier_accepts": []}})
    checks = verify.host_checks("w1", dict(ARGS, backend="nftables"), found)
    assert {c["check"]: c["status"] for c in checks} == {
        "chain_and_jump": "pass", "no_leftovers": "pass", "no_earlier_accept": "pass", "allowed_sources": "pass",
        "persisted": "pass", "boot_unit": "pass"}
    assert "nftables table inet CLUSTERGUARD-PX on its own input hook" in by(checks, "w1", "chain_and_jump")["detail"]
    assert "nftables sets v4, v6" in by(checks, "w1", "allowed_sources")["detail"]
    drifted = verify.host_checks("w1", dict(ARGS, backend="nftables"), dict(
        found, drift=dict(FOUND_OK["drift"], ipv4=["rules", "set", "stale"], nftables=["rules", "set"])))
    failed = {c["check"]: c["detail"] for c in drifted if c["status"] == "fail"}
    assert set(failed) == {"chain_and_jump", "no_leftovers", "allowed_sources"}
    assert "nftables table inet CLUSTERGUARD-PX missing" in failed["chain_and_jump"]
    assert "nftables set members differ" in failed["allowed_sources"] and "ipv4" in failed["no_leftovers"]


@pytest.mark.parametrize("change, name", [
    ({"drift": dict(FOUND_OK["drift"], ipv4=["jump"])}, "chain_and_jump"),
    ({"drift": dict(FOUND_OK["drift"], ipv6=["rules"])}, "chain_and_jump"),
    ({"families": dict(FOUND_OK["families"], ipv6={"earlier_accepts": ["-A INPUT -p tcp --dport 9001 -j ACCEPT"]})},
     "no_earlier_accept"),
    ({"drift": dict(FOUND_OK["drift"], ipv4=["set"])}, "allowed_sources"),
    ({"drift": dict(FOUND_OK["drift"], files=["/etc/clusterguard/CLUSTERGUARD-PX.v4.rules"])}, "persisted"),
    ({"drift": dict(FOUND_OK["drift"], boot_unit=["/etc/systemd/system/clusterguard-portworx.service"])}, "boot_unit"),
    ({"families": {"ipv4": FOUND_OK["families"]["ipv4"]}}, "chain_and_jump"),
    ({"drift": dict(FOUND_OK["drift"], nftables=["stale"])}, "no_leftovers"),
    ({"drift": dict(FOUND_OK["drift"], ipv6=["stale"])}, "no_leftovers"),
])
def test_host_checks_name_what_drifted(change, name):
    checks = verify.host_checks("w1", ARGS, dict(FOUND_OK, **change))
    assert [c["check"] for c in checks if c["status"] == "fail"] == [name]


def test_host_checks_of_a_host_not_read_or_not_guarded():
    assert verify.host_checks("w1", ARGS, None)[0]["status"] == "fail"
    assert verify.host_checks("w1", ARGS, {"failed": True, "msg": "boom"})[0]["detail"] == "reading failed: boom"
    assert verify.host_checks("w1", dict(ARGS, state="absent"), FOUND_OK)[0]["status"] == "info"
    assert by(verify.host_checks("w1", dict(ARGS, persist=False), FOUND_OK), "w1", "persisted")["status"] == "info"
    assert by(verify.host_checks("w1", ARGS, dict(FOUND_OK, boot_unit="no systemd")), "w1", "boot_unit")["status"] == "info"


WATCHED = dict(ARGS, watchdog=True, watchdog_interval=30)


@pytest.mark.parametrize("args, found, status, words", [
    (WATCHED, dict(FOUND_OK, watchdog="enabled"), "pass", "the timer runs, every 30 s"),
    (WATCHED, dict(FOUND_OK, watchdog="enabled", drift=dict(FOUND_OK["drift"], watchdog=["clusterguard-firewall-watchdog.timer"])),
     "fail", "differs or does not run: clusterguard-firewall-watchdog.timer"),
    (WATCHED, dict(FOUND_OK, watchdog="no systemd"), "info", "no systemd: no watchdog on this host"),
    (ARGS, dict(FOUND_OK, watchdog="absent", drift=dict(FOUND_OK["drift"], watchdog=["/usr/local/sbin/clusterguard-firewall-watchdog"])),
     "fail", "not wanted, but left in place: /usr/local/sbin/clusterguard-firewall-watchdog"),
    (ARGS, dict(FOUND_OK, watchdog="absent"), None, None),
])
def test_the_watchdog_line_says_whether_its_timer_runs_and_is_left_out_where_nothing_of_it_is_wanted(args, found, status, words):
    line = [c for c in verify.host_checks("w1", args, found) if c["check"] == "watchdog"]
    if status is None:
        assert line == []
    else:
        assert [(c["status"], c["detail"]) for c in line] == [(status, words)]


V = {"network_policy_state": "present", "network_policy_all_namespaces": False, "network_policy_namespace_selector": "",
     "network_policy_pod_security": "", "network_policy_pod_security_modes": ["enforce"],
     "network_policy_system_namespace": "kube-system", "network_policy_scope": "namespaces",
     "network_policy_cluster_api": "ClusterNetworkPolicy", "network_policy_cluster_priority": 20,
     "network_policy_block_name": "block"}


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels, "creationTimestamp": "2026-11-26T10:00:00Z"},
            "status": {"phase": "Active"}}


def policy(namespace, name):
    return {"metadata": {"namespace": namespace, "name": name}}


READ = {"namespaces": [ns("default"), ns("team-a"), ns("kube-system"), ns("kube-public"), ns("late")],
        "nodes": [{}, {}], "pods": []}
FOUND = {"wanted": [["default", "block"], ["default", "allow-api"], ["team-a", "block"], ["team-a", "allow-api"],
                    ["kube-system", "block"]],
         "apply": [], "prune": [], "psa_apply": [], "excluded": ["kube-public", "portworx"]}


def test_cluster_checks_pass_and_list_an_unprotected_namespace():
    checks = verify.cluster_checks(V, FOUND, READ, [], ["calico-node"])
    status = {(c["subject"], c["check"]): c["status"] for c in checks}
    assert status[("default", "policies")] == "pass"
    assert status[("kube-public", "policies")] == "info"
    assert status[("late", "policies")] == "fail"
    assert "not in network_policy_namespaces" in by(checks, "late", "policies")["detail"]
    assert status[("cluster", "cni")] == "pass"
    all_ns = verify.cluster_checks(dict(V, network_policy_all_namespaces=True), FOUND, READ, [], [])
    assert "after the last run" in by(all_ns, "late", "policies")["detail"]
    assert by(all_ns, "cluster", "cni")["status"] == "warn"


def test_cluster_checks_drift_host_network_nodes_and_stale():
    found = dict(FOUND, apply=[policy("team-a", "block")], prune=[policy("old", "block")])
    read = dict(READ, pods=[{"metadata": {"namespace": "team-a", "name": "sneaky"}, "spec": {"hostNetwork": True}},
                            {"metadata": {"namespace": "kube-public", "name": "agent"}, "spec": {"hostNetwork": True}}])
    checks = verify.cluster_checks(V, found, read, ["w9 (10.0.0.19)"], [])
    assert by(checks, "team-a", "policies")["detail"] == "missing or changed: block"
    assert by(checks, "team-a", "host_network_pods")["status"] == "fail"
    assert "sneaky" in by(checks, "team-a", "host_network_pods")["detail"]
    assert not [c for c in checks if c["subject"] == "kube-public" and c["check"] == "host_network_pods"]
    assert by(checks, "cluster", "nodes_in_inventory")["status"] == "fail"
    assert by(checks, "cluster", "stale_objects")["status"] == "warn"


def test_cluster_checks_pod_security_levels():
    v = dict(V, network_policy_pod_security="baseline")
    read = dict(READ, namespaces=[ns("default", **{"pod-security.kubernetes.io/enforce": "restricted"}),
                                  ns("team-a", **{"pod-security.kubernetes.io/enforce": "privileged"}), ns("kube-system")])
    checks = verify.cluster_checks(v, FOUND, read, [], [])
    assert by(checks, "default", "pod_security")["status"] == "pass"  # stricter than wanted is fine
    assert by(checks, "team-a", "pod_security")["status"] == "fail"
    assert not [c for c in checks if c["subject"] == "kube-system" and c["check"] == "pod_security"]


def test_cluster_checks_skip_a_terminating_namespace_and_absent_state():
    read = dict(READ, namespaces=[dict(ns("late"), status={"phase": "Terminating"})])
    assert by(verify.cluster_checks(V, FOUND, read, [], []), "late", "policies")["status"] == "info"
    checks = verify.cluster_checks(dict(V, network_policy_state="absent"), FOUND, READ, [], [])
    assert [c["status"] for c in checks] == ["info"]


CHECKS = [verify.check("node", "w1", "chain_and_jump", "pass", "ok"),
          verify.check("node", "w2", "chain_and_jump", "fail", "no jump | from INPUT"),
          verify.check("namespace", "late", "policies", "fail", "no policy"),
          verify.check("cluster", "cluster", "cni", "warn", "none found"),
          verify.check("cluster", "cluster", "pod_security", "info", "not set")]


def test_json_report():
    report = verify.to_json(CHECKS, NOW)
    assert report["exposed"] is True
    assert report["summary"] == {"pass": 1, "fail": 2, "warn": 1, "info": 1}
    assert report["generated"] == "2026-11-26T10:00:00Z"
    json.dumps(report)


def test_markdown_puts_failing_rows_first_and_escapes_pipes():
    text = verify.to_markdown(CHECKS, NOW)
    assert "**EXPOSED**: 2 failing checks" in text
    nodes = text.split("## Nodes")[1].split("##")[0]
    assert nodes.index("| w2 | chain_and_jump | FAIL |") < nodes.index("| w1 | chain_and_jump | pass |")
    assert "no jump \\| from INPUT" in text
    assert "**locked down**" in verify.to_markdown(CHECKS[:1], NOW)


def test_junit_has_one_testcase_per_check():
    root = ElementTree.fromstring(verify.to_junit(CHECKS, NOW).split("?>", 1)[1])
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(CHECKS)
    assert root.get("failures") == "2"
    failing = [c for c in cases if c.find("failure") is not None]
    assert {c.get("classname") for c in failing} == {"nodes.w2", "namespaces.late"}
    assert [c.get("name") for c in cases if c.find("skipped") is not None] == ["pod_security"]


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        verify.check("node", "w1", "x", "ok")


def test_a_selected_namespace_without_any_policy_of_ours_was_created_after_the_run():
    found = dict(FOUND, apply=[policy("team-a", "block"), policy("team-a", "allow-api")])
    read = dict(READ, ours=[policy("default", "block"), policy("default", "allow-api")])
    checks = verify.cluster_checks(dict(V, network_policy_all_namespaces=True), found, read, [], [])
    assert "after the last run" in by(checks, "team-a", "policies")["detail"]
    checks = verify.cluster_checks(V, found, read, [], [])
    assert by(checks, "team-a", "policies")["detail"] == "missing or changed: allow-api, block"


def test_nodes_missing_from_a_slice_are_a_warning_when_the_firewall_reads_the_cluster():
    checks = verify.cluster_checks(V, FOUND, READ, ["w9 (10.0.0.19)"], [], partial_inventory=True)
    assert by(checks, "cluster", "nodes_in_inventory")["status"] == "warn"


def test_cluster_scope_covers_every_namespace_the_subject_selects_late_ones_included():
    v = dict(V, network_policy_scope="cluster", network_policy_namespace_selector="guard=on")
    found = dict(FOUND, wanted=[], cluster_wanted=[["ClusterNetworkPolicy", "block"],
                                                   ["ClusterNetworkPolicy", "block-kube-system"]])
    read = dict(READ, namespaces=[ns("late", guard="on"), ns("other"), ns("kube-system"), ns("kube-public")])
    checks = verify.cluster_checks(v, found, read, [], [])
    assert by(checks, "late", "policies")["detail"] == "covered by ClusterNetworkPolicy block"
    assert by(checks, "kube-system", "policies")["status"] == "pass"
    assert "does not match it" in by(checks, "other", "policies")["detail"]
    assert by(checks, "kube-public", "policies")["status"] == "info"
    assert by(checks, "cluster", "cluster_policies")["status"] == "pass"
    gone = dict(found, apply=[{"kind": "ClusterNetworkPolicy", "metadata": {"name": "block"}}],
                prune=[{"kind": "AdminNetworkPolicy", "metadata": {"name": "block"}}])
    checks = verify.cluster_checks(v, gone, read, [], [])
    assert by(checks, "late", "policies")["status"] == "fail"
    assert by(checks, "cluster", "cluster_policies")["detail"] == "missing or changed: block"
    assert "AdminNetworkPolicy block" in by(checks, "cluster", "stale_objects")["detail"]


def test_probe_plan_probes_the_udp_gossip_port_from_outside_only():
    hosts = {"w1": dict(ARGS, ports=["9001-9023"], udp_ports=["9002"]), "w2": dict(ARGS, ports=["9001-9023"])}
    plan = verify.probe_plan(hosts, ADDRESSES, sample=1)
    udp = [(t["host"], t["address"], t["port"]) for t in plan["outside"] if t.get("protocol") == "udp"]
    assert udp == [("w1", "10.0.0.11", 9002), ("w1", "fd00::11", 9002)]
    seen = {(t["host"], t["address"], t["port"], t["expect"]) for t in plan["outside"]}
    assert ("w1", "10.0.0.11", 9023, "blocked") in seen
    assert not any(t.get("protocol") == "udp" for ts in plan["peers"].values() for t in ts)


def test_a_udp_answer_from_outside_fails_and_silence_passes():
    target = {"host": "w1", "address": "10.0.0.11", "port": 9002, "expect": "blocked", "protocol": "udp"}
    answered = verify.probe_checks(HOSTS, {"outsider": [dict(target, outcome="refused", reached=True)]}, {})
    assert answered[0]["status"] == "fail" and "udp/10.0.0.11:9002 refused" in answered[0]["detail"]
    silent = verify.probe_checks(HOSTS, {"outsider": [dict(target, outcome="dropped", reached=False)]}, {})
    assert silent[0]["status"] == "pass" and "UDP 9002: no answer" in silent[0]["detail"]


@pytest.mark.parametrize("security, status, words", [
    (False, "warn", "spec.security.enabled is not true on StorageCluster portworx/px"),
    (True, "pass", "the API asks for a token"),
    (None, "info", "portworx_source is 'inventory'"),
])
def test_px_security_is_judged_from_the_storagecluster(security, status, words):
    px = {"tcp": ["9001-9023"], "udp": ["9002"], "start_port": 9001, "version": "3.1.0", "security": security,
          "storagecluster": "portworx/px" if security is not None else None}
    ports, sec = verify.portworx_checks(px)
    assert ports["detail"].startswith("TCP 9001-9023 and UDP 9002 (start port 9001, Portworx 3.1.0)")
    assert sec["status"] == status and words in sec["detail"]
    if status == "warn":
        assert "PX-Security" in sec["detail"]


def test_loopback_that_is_dropped_fails_and_is_apart_from_the_peers():
    peers = {"w1": [result("w1", "127.0.0.1", 9001, "refused", "loopback", source="127.0.0.1"),
                    result("w2", "10.0.0.12", 9001, "open", "open")],
             "w2": [result("w2", "::1", 9001, "dropped", "loopback", source="::1")]}
    checks = verify.probe_checks(HOSTS, {}, peers)
    assert by(checks, "w1", "reaches_itself")["status"] == "pass"
    assert by(checks, "w1", "reaches_workers")["status"] == "pass"
    assert by(checks, "w2", "reaches_itself")["status"] == "fail"
    assert "[::1]:9001 dropped" in by(checks, "w2", "reaches_itself")["detail"]
    assert not [c for c in checks if c["subject"] == "w2" and c["check"] == "reaches_workers"]
