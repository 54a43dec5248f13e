"""verify's reachability check over every policy, the matrix and the HTML page (pure
functions; the lab test_verify_role.py and test_policy_packets.py judge them against real
packets and a real browser)."""

import datetime
from html.parser import HTMLParser

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import matrix
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify

NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone.utc)
NODES = [{"metadata": {"name": "w1", "labels": {}}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
         {"metadata": {"name": "w2", "labels": {}}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"},
                                                                             {"type": "Hostname", "address": "w2"}]}}]
V = {"network_policy_state": "present", "network_policy_all_namespaces": False, "network_policy_namespace_selector": "",
     "network_policy_scope": "namespaces", "network_policy_system_namespace": "kube-system",
     "network_policy_exempt_pods": policies.DOC_EXEMPT,
     "network_policy_metrics_access": [{"namespace": "mon", "pods": "app=prometheus"}]}
PX = {"tcp": ["9001-9023"], "udp": ["9002"], "metrics": ["9001", "9019"]}


def ns(name):
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}, "status": {"phase": "Active"}}


def pod(namespace, name, labels, **spec):
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels}, "spec": spec, "status": {}}


OURS = policies.build(["10.0.0.0/24"], ["apps", "mon"], metrics=[{"namespace": "mon", "pods": "app=prometheus"}],
                      metrics_ports=PX["metrics"])
READ = {"namespaces": [ns("apps"), ns("kube-system"), ns("mon"), ns("portworx"), ns("free")], "nodes": NODES,
        "pods": [pod("apps", "a", {"app": "demo"}), pod("apps", "b", {"app": "db"}),
                 pod("kube-system", "dns", {"k8s-app": "kube-dns"}), pod("kube-system", "stork", {"component": "stork"}),
                 pod("mon", "prom", {"app": "prometheus"}), pod("apps", "gone", {"app": "old"}),
                 pod("apps", "host", {"app": "host"}, hostNetwork=True)],
        "all_policies": OURS, "cluster_objects": []}
READ["pods"][5]["status"]["phase"] = "Succeeded"
FOUND = {"selected": ["apps", "mon"], "excluded": ["portworx"], "portworx": PX}


def run(read=None, v=None):
    read, v = read or READ, v or V
    checks, findings = verify.reachability_checks(v, FOUND, read, verify.node_addresses(read["nodes"], ["10.0.0.1"]))
    return {c["subject"]: c for c in checks}, findings


def test_node_addresses_are_the_nodes_and_the_inventory_each_once():
    assert verify.node_addresses(NODES, ["10.0.0.1", "fd00::3", "bad"]) == ["10.0.0.1", "10.0.0.2", "fd00::3"]


def test_our_policies_alone_pass_every_protected_namespace():
    checks, findings = run()
    assert sorted(checks) == ["apps", "kube-system", "mon"]  # not portworx (excluded) nor free (not selected)
    assert all(c["status"] == "pass" for c in checks.values()), checks
    assert "3 label sets judged" in checks["apps"]["detail"]  # demo, db and a pod without labels
    assert "2 node addresses" in checks["apps"]["detail"]
    # the metrics access of our own objects is expected, and only to the metrics ports
    prom = [f for f in findings if f["namespace"] == "mon" and f["labels"] == {"app": "prometheus"}][0]
    assert [(i["ports"], i["expected"]) for i in prom["open"]] == [([(9001, 9001), (9019, 9019)], True)]
    # stork is exempt: judged, reported, never failed
    exempt = [f for f in findings if f["role"] == "exempt"]
    assert [f["labels"] for f in exempt] == [{"component": "stork"}] and exempt[0]["open"]


def test_an_allow_all_policy_of_another_team_fails_the_namespace_and_is_named():
    extra = {"metadata": {"name": "allow-all-egress", "namespace": "apps"},
             "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    checks, _findings = run(dict(READ, all_policies=OURS + [extra]))
    assert checks["apps"]["status"] == "fail"
    assert "reach TCP 9001-9023 on 10.0.0.1, 10.0.0.2: opened by NetworkPolicy apps/allow-all-egress" in \
        checks["apps"]["detail"]
    assert checks["mon"]["status"] == "pass"


def test_an_admin_allow_at_a_better_priority_names_kind_tier_and_priority():
    anp = {"kind": "AdminNetworkPolicy", "metadata": {"name": "px-open"},
           "spec": {"priority": 2, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "mon"}}},
                    "egress": [{"name": "x", "action": "Allow", "to": [{"networks": ["10.0.0.2/32"]}],
                                "ports": [{"portNumber": {"protocol": "TCP", "port": 9020}}]}]}}
    checks, _findings = run(dict(READ, cluster_objects=[anp]))
    assert checks["mon"]["status"] == "fail"
    assert "reach TCP 9020 on 10.0.0.2: opened by AdminNetworkPolicy px-open (Admin tier, priority 2)" in \
        checks["mon"]["detail"]
    assert checks["apps"]["status"] == "pass"


def test_a_pod_limited_allow_fails_only_for_the_pods_it_selects():
    extra = {"metadata": {"name": "db-out", "namespace": "apps"},
             "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Egress"], "egress": [{}]}}
    checks, _findings = run(dict(READ, all_policies=OURS + [extra]))
    assert checks["apps"]["detail"].startswith("pods {app=db} reach TCP 9001-9023")
    assert "app=demo" not in checks["apps"]["detail"] and "without labels" not in checks["apps"]["detail"]
    # a selector for pods that do not run exposes nobody
    extra["spec"]["podSelector"] = {"matchLabels": {"app": "nobody"}}
    assert run(dict(READ, all_policies=OURS + [extra]))[0]["apps"]["status"] == "pass"


def test_kube_system_non_exempt_pods_are_judged_and_a_lost_block_fails():
    others = [p for p in OURS if p["metadata"]["namespace"] != "kube-system"]
    checks, _findings = run(dict(READ, all_policies=others))
    assert checks["kube-system"]["status"] == "fail"
    assert "pods {k8s-app=kube-dns} reach TCP 9001-9023" in checks["kube-system"]["detail"]
    assert "no policy selects these pods" in checks["kube-system"]["detail"]


# -- the matrix and the page --------------------------------------------------------
HOSTS = {"w1": {"state": "present", "ports": ["9001-9023"], "udp_ports": ["9002"], "sources": ["10.0.0.0/24"]},
         "w2": {"state": "present", "ports": ["9001-9023"], "udp_ports": ["9002"], "sources": ["10.0.0.0/24"]}}


def probe(host, port, outcome, expect="blocked", protocol="tcp", address="10.0.0.1", source="192.168.1.1"):
    return {"host": host, "address": address, "port": port, "expect": expect, "outcome": outcome, "protocol": protocol,
            "reached": outcome in ("open", "refused", "answered"), "source": source}


OUTSIDE = {"controller": [probe("w1", 9001, "dropped"), probe("w1", 9023, "dropped"),
                          probe("w1", 9002, "dropped", protocol="udp")]}
PEERS = {"w1": [probe("w2", 9001, "open", "open", address="10.0.0.2", source="10.0.0.1"),
                probe("w1", 9001, "refused", "loopback", address="127.0.0.1", source="127.0.0.1")],
         "w2": [probe("w1", 9001, "open", "open", source="10.0.0.2")]}


def table(findings, outside=None):
    outside = outside or OUTSIDE
    cluster = {"reachability": findings, "portworx": PX, "system_namespace": "kube-system"}
    return verify.reachability_matrix(HOSTS, outside, PEERS, cluster)


def cells(m):
    return {(row["source"], col): (c["state"], c["verdict"]) for row in m["rows"]
            for col, c in zip(m["columns"], row["cells"])}


def test_matrix_of_a_locked_down_cluster():
    m = table(run()[1])
    assert m["columns"] == ["TCP 9001-9023", "UDP 9002"]
    got = cells(m)
    assert got[("outsider: controller", "TCP 9001-9023")] == ("blocked", "ok")
    assert got[("outsider: controller", "UDP 9002")] == ("blocked", "ok")
    assert got[("worker: w1", "TCP 9001-9023")] == ("open", "ok")
    assert got[("worker: w1", "UDP 9002")] == ("untested", "untested")
    assert got[("loopback (each worker)", "TCP 9001-9023")] == ("open", "ok")
    assert got[("pods: kube-system (not exempt)", "TCP 9001-9023")] == ("blocked", "ok")
    assert got[("exempt pods: kube-system", "TCP 9001-9023")] == ("open", "ok")
    assert got[("pods: apps", "TCP 9001-9023")] == ("blocked", "ok")
    assert got[("pods: mon", "TCP 9001-9023")] == ("blocked", "ok")
    assert got[("pods: apps", "UDP 9002")] == ("untested", "untested")
    assert [r["source"] for r in m["rows"]][-4:] == ["pods: kube-system (not exempt)", "exempt pods: kube-system",
                                                     "pods: apps", "pods: mon"]
    assert {v for _s, v in got.values()} <= {"ok", "untested"}


def test_matrix_of_a_broken_cluster_marks_the_cells_that_are_wrong():
    extra = {"metadata": {"name": "allow-all-egress", "namespace": "apps"},
             "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    outside = {"controller": [probe("w1", 9001, "refused"), probe("w1", 9002, "error", protocol="udp")]}
    peers_cut = dict(PEERS, w2=[probe("w1", 9001, "dropped", "open", source="10.0.0.2")])
    cluster = {"reachability": run(dict(READ, all_policies=OURS + [extra]))[1], "portworx": PX,
               "system_namespace": "kube-system"}
    m = verify.reachability_matrix(HOSTS, outside, peers_cut, cluster)
    got = cells(m)
    assert got[("pods: apps", "TCP 9001-9023")] == ("open", "exposed")
    assert got[("outsider: controller", "TCP 9001-9023")] == ("open", "exposed")
    assert got[("outsider: controller", "UDP 9002")] == ("error", "error")
    assert got[("worker: w2", "TCP 9001-9023")] == ("blocked", "cut")
    text = {(row["source"], col): c["text"] for row in m["rows"] for col, c in zip(m["columns"], row["cells"])}
    assert "NetworkPolicy apps/allow-all-egress" in text[("pods: apps", "TCP 9001-9023")]
    markdown = verify.to_markdown([], NOW, matrix=m)
    assert "| pods: apps | open **EXPOSED** | untested |" in markdown


def test_an_allowed_vantage_point_is_no_outsider():
    outside = {"controller": [probe("w1", 9001, "open", source="10.0.0.9")]}
    assert cells(table([], outside))[("outsider: controller", "TCP 9001-9023")] == ("untested", "untested")


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found, self.external = {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-verdict" in attrs:
            self.found[(attrs["data-source"], attrs["data-column"])] = (attrs["data-state"], attrs["data-verdict"])
        for name in ("src", "href"):
            if attrs.get(name):
                self.external.append(attrs[name])


def test_the_page_is_self_contained_and_carries_every_cell_escaped():
    extra = {"metadata": {"name": "<script>x</script>", "namespace": "apps"},
             "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    m = table(run(dict(READ, all_policies=OURS + [extra]))[1])
    checks = [verify.check("namespace", "apps", "reachability", "fail", "by <script>x</script>")]
    page = matrix.to_html(verify.to_json(checks, NOW), m)
    parser = Cells()
    parser.feed(page)
    assert parser.found == cells(m)
    assert parser.external == []  # no script, stylesheet or image from anywhere
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "EXPOSED: 1 failing checks" in page and "2026-12-03T10:00:00Z" in page
