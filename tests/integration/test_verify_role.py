"""The verify role on the lab: on the locked-down lab every check passes; on deliberately
broken labs the play fails and the JSON, Markdown and JUnit reports all name the broken
item. Real probes over real TCP, real iptables on the workers, the real API server."""

import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from junitparser import Failure, JUnitXml

from conftest import LAB_NAME, LAB_NET, lab_address, run_playbook
from hostfw import netns

SITE = "playbooks/site.yml"
W1, W2, W3 = ("%s-%s" % (LAB_NAME, w) for w in ("w1", "w2", "w3"))
V6_NET = lab_address("w1", 6).rsplit(":", 1)[0] + ":/64"  # the lab's IPv6 /64, fd42:<third octet>::/64
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


@pytest.fixture(scope="module")
def locked_after_the_last_test(inventory, kubeconfig):
    yield
    lock_down(inventory)


@pytest.fixture
def locked(inventory, kubeconfig, locked_after_the_last_test):
    """The lab locked down as site.yml leaves it, for every namespace of the cluster. What a test broke
    is put right by the next test's lock-down (it must run anyway: the namespaces of the tests before
    it are still there), and by one more after the module's last test, not by one after each test."""
    SETTINGS["network_policy_kubeconfig"] = kubeconfig
    lock_down(inventory)
    yield inventory


def test_locked_down_lab_passes_every_check(locked, tmp_path):
    out, report, markdown, junit, failing_cases = verify(locked, tmp_path, 0)
    assert report["exposed"] is False and failing(report) == set(), report
    assert "**locked down**" in markdown
    assert failing_cases == set()
    names = {(c["subject"], c["check"]) for c in report["checks"] if c["status"] == "pass"}
    for worker in (W1, W2, W3):
        for name in ("chain_and_jump", "no_leftovers", "no_earlier_accept", "allowed_sources", "persisted", "reaches_workers",
                     "blocked_from_controller", "blocked_from_%s-out" % LAB_NAME):
            assert (worker, name) in names, (worker, name)
    assert ("default", "policies") in names and ("cluster", "nodes_in_inventory") in names
    # one JUnit testcase per check
    assert sum(len(list(suite)) for suite in junit) == len(report["checks"])
    assert "changed=0" in out and "failed=0" in out


def test_on_the_nftables_back_end_every_check_passes_and_a_left_chain_is_named(locked, tmp_path):
    """verify reads the back-end the role chose: the table and its sets pass, and an iptables chain of
    ours left beside it (as a switch interrupted before its last step leaves it) is named."""
    nft = dict(SETTINGS, host_firewall_backend="nftables")
    try:
        run_playbook(SITE, locked, nft, args=("--tags", "host_firewall"))
        out = run_playbook(VERIFY, locked, dict(nft, verify_report_dir=str(tmp_path)))
        report = json.load(open(tmp_path / "report.json"))
        assert failing(report) == set() and "changed=0" in out, failing(report)
        details = {(c["subject"], c["check"]): c["detail"] for c in report["checks"]}
        assert "nftables table inet CLUSTERGUARD-PX on its own input hook" in details[(W1, "chain_and_jump")]
        assert "in nftables sets v4, v6" in details[(W1, "allowed_sources")]
        netns("w2", "sh", "-c", "iptables -w -N CLUSTERGUARD-PX && iptables -w -A CLUSTERGUARD-PX "
              "-m comment --comment clusterguard.portworx -j RETURN", check=True)
        broken = tmp_path / "broken"
        run_playbook(VERIFY, locked, dict(nft, verify_report_dir=str(broken)), expect_rc=2)
        report = json.load(open(broken / "report.json"))
        assert failing(report) == {("node", W2, "no_leftovers")}, failing(report)
    finally:
        run_playbook(SITE, locked, SETTINGS, args=("--tags", "host_firewall"))


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
    assert_named(result, "node", W2, "chain_and_jump")
    assert_named(result, "node", W2, "blocked_from_controller")
    assert not {c for c in failing(result[1]) if c[1] in (W1, W3)}
    assert "verify: " in result[0] and W2 + " chain_and_jump" in result[0]


def test_an_accept_above_our_jump_is_named(locked, tmp_path):
    netns("w3", "iptables", "-I", "INPUT", "1", "-p", "tcp", "--dport", "9001", "-j", "ACCEPT", check=True)
    try:
        result = verify(locked, tmp_path, 2)
    finally:
        netns("w3", "iptables", "-D", "INPUT", "-p", "tcp", "--dport", "9001", "-j", "ACCEPT")
    assert_named(result, "node", W3, "no_earlier_accept")
    assert_named(result, "node", W3, "blocked_from_%s-out" % LAB_NAME)
    assert "9001" in [c for c in result[1]["checks"] if c["subject"] == W3
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


# -- effective reachability: every policy of the cluster, and the page in a real browser ----
LAB_PODS = {("lab-apps", "clusterguard-demo"): {"app": "demo"}, ("kube-system", "clusterguard-stork"): {"component": "stork"}}


@pytest.fixture
def pods(api):
    """A user pod in lab-apps and an exempt one in kube-system, as Pod objects (the lab's pods and
    their namespaces are written only when its NetworkPolicy engine starts): verify judges the
    label sets of running pods. Before ``locked``, so that the namespaces get our policies."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    made = []
    for namespace in ("lab-apps", "lab-other"):  # the engine's namespaces, when it never ran
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise
    for (namespace, name), labels in LAB_PODS.items():
        try:
            core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": labels}, "spec": {
                "containers": [{"name": "c", "image": "registry.invalid/none:1"}]}})
            made.append((namespace, name))
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise
    yield
    for namespace, name in made:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def reachability(report, namespace):
    return [c for c in report["checks"] if c["subject"] == namespace and c["check"] == "reachability"][0]


ADMIN_OPENINGS = {
    "AdminNetworkPolicy": ("v1alpha1", "adminnetworkpolicies", {
        "priority": 1, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "lab-apps"}}},
        "egress": [{"name": "open", "action": "Allow", "to": [{"networks": [LAB_NET + ".0/24"]}],
                    "ports": [{"portRange": {"protocol": "TCP", "start": 9020, "end": 9021}}]}]}),
    "ClusterNetworkPolicy": ("v1beta1", "clusternetworkpolicies", {
        "tier": "Admin", "priority": 1,
        "subject": {"pods": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "lab-apps"}},
                             "podSelector": {"matchLabels": {"app": "demo"}}}},
        "egress": [{"name": "open", "action": "Accept", "to": [{"nodes": {}}],
                    "protocols": [{"tcp": {"destinationPort": {"number": 9001}}}]}]}),
}


@pytest.mark.parametrize("kind", sorted(ADMIN_OPENINGS))
def test_an_admin_tier_allow_before_our_block_is_named_and_judged_as_the_tests_evaluator_does(kind, pods, locked,
                                                                                              tmp_path, api):
    """kube-router does not implement the Admin tier: verify's verdicts on it are judged by
    the tests' own evaluator (netpol_eval.py), flow by flow, for every label set verify judged."""
    from kubernetes import client

    from labapi import cluster_objects, network_policies
    from netpol_eval import connection_allowed

    version, plural, spec = ADMIN_OPENINGS[kind]
    custom = client.CustomObjectsApi(api)
    body = {"apiVersion": "policy.networking.k8s.io/" + version, "kind": kind,
            "metadata": {"name": "clusterguard-test-open"}, "spec": spec}
    custom.create_cluster_custom_object("policy.networking.k8s.io", version, plural, body)
    try:
        result = verify(locked, tmp_path, 2)
        policies, objects = network_policies(api), cluster_objects(api)
        nodes = [api.sanitize_for_serialization(n) for n in client.CoreV1Api(api).list_node().items]
        ns_labels = client.CoreV1Api(api).read_namespace("lab-apps").metadata.labels
    finally:
        custom.delete_cluster_custom_object("policy.networking.k8s.io", version, plural, "clusterguard-test-open")
    report = result[1]
    assert_named(result, "namespace", "lab-apps", "reachability")
    assert "opened by %s clusterguard-test-open (Admin tier, priority 1)" % kind in reachability(report, "lab-apps")[
        "detail"]
    assert not [c for c in failing(report) if c[1] != "lab-apps"], failing(report)
    disagree, flows = [], 0
    for finding in [f for f in report["reachability"] if f["namespace"] == "lab-apps"]:
        addresses = sorted({a for item in finding["open"] + finding["blocked"] for a in item["addresses"]})
        for address in addresses:
            for port in range(9001, 9024):
                flows += 1
                theirs = connection_allowed(policies, objects, nodes, "lab-apps", ns_labels, finding["labels"],
                                            address, "TCP", port)
                ours = any(address in i["addresses"] and any(lo <= port <= hi for lo, hi in i["ports"])
                           for i in finding["open"])
                if theirs != ours:
                    disagree.append("%s %s:%d verify %s, netpol_eval %s" % (
                        finding["labels"], address, port, ours, theirs))
    assert flows >= 2 * 6 * 23 and not disagree, disagree
    assert reachability(verify(locked, tmp_path / "after", 0)[1], "lab-apps")["status"] == "pass"


def png_pixels(path):
    """(width, height, rows of RGB(A) tuples) of a PNG written by Chromium (8-bit RGB or RGBA)."""
    import struct
    import zlib

    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = head[:4]
    assert depth == 8 and colour in (2, 6), head
    size = 3 if colour == 2 else 4
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width * size)
    stride = width * size
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - size] if i >= size else 0
            b, c = prev[i], prev[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * size:x * size + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def chromium(page, tmp_path):
    """The page as headless Chromium shows it: a screenshot and the DOM after loading."""
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (scripts/deps.sh installs Debian's chromium package)"
    base = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,1000",
            "--user-data-dir=%s" % (tmp_path / "chromium-profile")]
    shot = tmp_path / "page.png"
    subprocess.run(base + ["--screenshot=%s" % shot, page.as_uri()], check=True, capture_output=True, timeout=180)
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=180).stdout
    return shot, dom


class MatrixCells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-verdict" in attrs:
            self.cells[(attrs["data-source"], attrs["data-column"])] = (attrs["data-state"], attrs["data-verdict"])


def test_the_html_page_of_a_broken_lab_renders_in_chromium_with_the_broken_cells(pods, locked, tmp_path, api):
    """A team's allow-all egress policy in lab-apps and a removed jump on w2: in the page
    Chromium loads, the lab-apps pods and the outsiders are exposed, every
    other cell is as intended or untested, and the screenshot shows the exposed colour."""
    from kubernetes import client

    net = client.NetworkingV1Api(api)
    net.create_namespaced_network_policy("lab-apps", {"metadata": {"name": "allow-all-egress"}, "spec": {
        "podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}})
    rule = jump_rule("w2")
    netns("w2", "sh", "-c", "iptables " + rule.replace("-A INPUT", "-D INPUT", 1), check=True)
    try:
        result = verify(locked, tmp_path, 2)
    finally:
        net.delete_namespaced_network_policy("allow-all-egress", "lab-apps")
    page = tmp_path / "report.html"
    shot, dom = chromium(page, tmp_path)
    parser = MatrixCells()
    parser.feed(dom)
    cells = parser.cells
    exposed = {key for key, (_state, verdict) in cells.items() if verdict == "exposed"}
    # w2 without its jump answers TCP and UDP gossip; the lab-apps pods are judged on TCP
    assert exposed == {("pods: lab-apps", "TCP 9001-9023"), ("outsider: controller", "TCP 9001-9023"),
                       ("outsider: %s-out" % LAB_NAME, "TCP 9001-9023"), ("outsider: controller", "UDP 9002"),
                       ("outsider: %s-out" % LAB_NAME, "UDP 9002")}, cells
    assert {v for _s, v in cells.values()} <= {"ok", "exposed", "untested"}
    assert cells[("worker: " + W1, "TCP 9001-9023")] == ("open", "ok")
    assert cells[("pods: lab-other", "TCP 9001-9023")] == ("blocked", "ok")
    assert cells[("exempt pods: kube-system", "TCP 9001-9023")] == ("open", "ok")
    # the same matrix as the JSON report, every row and column
    report = result[1]
    assert len(cells) == len(report["matrix"]["rows"]) * len(report["matrix"]["columns"])
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1400, 1000)
    red = sum(1 for row in rows for px in row if abs(px[0] - 0xf8) < 6 and abs(px[1] - 0xb4) < 6
              and abs(px[2] - 0xb4) < 6)
    green = sum(1 for row in rows for px in row if abs(px[0] - 0xd4) < 6 and abs(px[1] - 0xed) < 6
                and abs(px[2] - 0xda) < 6)
    assert red > 5000 and green > 5000, (red, green)


def test_a_vantage_point_without_a_route_is_an_error_never_blocked(locked, tmp_path):
    """2.2.0 counted "Network is unreachable" as blocked: the check passed without a packet sent."""
    netns("out", "ip", "-6", "route", "del", V6_NET, "dev", "eth0", check=True)
    try:
        result = verify(locked, tmp_path, 2)
    finally:
        netns("out", "ip", "-6", "route", "replace", V6_NET, "dev", "eth0", check=True)
    assert_named(result, "node", W1, "blocked_from_%s-out" % LAB_NAME)
    detail = [c for c in result[1]["checks"] if c["subject"] == W1 and c["check"] == "blocked_from_%s-out" % LAB_NAME][0]
    assert "could not be made" in detail["detail"] and "unreachable" in detail["detail"].lower(), detail
    cells = {(r["source"], col): c for r in result[1]["matrix"]["rows"] for col, c in zip(
        result[1]["matrix"]["columns"], r["cells"])}
    assert cells[("outsider: %s-out" % LAB_NAME, "TCP 9001-9023")]["verdict"] == "error"
    # the controller still had its route: its view passes
    assert ("node", W1, "blocked_from_controller") not in failing(result[1])
