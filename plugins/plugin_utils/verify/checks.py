# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify role's logic: which probes to make, how each finding becomes a check,
and the three reports (JSON, Markdown, JUnit XML). Pure functions, no I/O.

A check is a dict: scope (node, namespace, cluster), subject (a node, a namespace,
the cluster), check (a short id), status and detail. Statuses:

- fail: something is exposed or not as the roles left it; the play fails on it;
- warn: worth a look, not an exposure (stale objects, no CNI found);
- pass: as it should be;
- info: reported, not judged (ports outside the range, a check that does not apply)."""

from __future__ import annotations

import datetime
import ipaddress
import json
from xml.etree import ElementTree

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, k8snames, kubeobjects, portworx
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import matrix as tables
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import reachability as reach

STATUSES = ("fail", "warn", "pass", "info")
DEFAULT_PORTS = portlib.range_strings(portworx.port_map()["tcp"])
SECURITY_DOC = 'the Portworx documentation "Secure your storage with PX-Security"'
SCOPES = (("node", "Nodes"), ("namespace", "Namespaces"), ("cluster", "Cluster"))


def check(scope, subject, name, status, detail=""):
    if status not in STATUSES:
        raise ValueError("status %r" % status)
    return {"scope": scope, "subject": subject, "check": name, "status": status, "detail": detail}


# -- probes ------------------------------------------------------------------
def probe_ports(port_strings):
    """(guarded, outside): the first, middle and last port of each guarded range, and
    the ports just below and above each range that no range holds."""
    ranges = portlib.parse_ports(port_strings)
    guarded, outside = [], []
    for low, high in ranges:
        for port in (low, (low + high) // 2, high):
            if port not in guarded:
                guarded.append(port)
        for port in (low - 1, high + 1):
            if 1 <= port <= 65535 and not portlib.intersect(ranges, [(port, port)]) and port not in outside:
                outside.append(port)
    return guarded, outside


def probe_plan(hosts, addresses, sample=2):
    """The probes to make.

    ``hosts`` is {host: port_firewall arguments} (the host_firewall plan), ``addresses``
    {host: [address]} from the inventory. Returns {"outside": [target], "peers":
    {host: [target]}}; a target is {host, address, port, expect} with expect
    ``blocked`` (a guarded port), ``report`` (just outside the range), ``open``
    (a worker to a sampled other worker) or ``loopback`` (a worker to itself on loopback). TCP, and the guarded UDP ports (the gossip port)
    from outside."""
    outside, peers = [], {}
    guarded_hosts = sorted(h for h, a in hosts.items() if a.get("state") == "present" and "tcp" in a.get("protocols", []))
    for host in guarded_hosts:
        args = hosts[host]
        ports = args.get("ports") or DEFAULT_PORTS
        guarded, around = probe_ports(ports)
        udp = probe_ports(args["udp_ports"])[0] if args.get("udp_ports") else []
        for address in addresses.get(host) or []:
            outside += [dict(host=host, address=address, port=p, expect="blocked") for p in guarded]
            outside += [dict(host=host, address=address, port=p, expect="blocked", protocol="udp") for p in udp]
            outside += [dict(host=host, address=address, port=p, expect="report") for p in around]
    for index, host in enumerate(guarded_hosts):
        others = guarded_hosts[index + 1:] + guarded_hosts[:index]
        targets = []
        for other in others[:max(0, sample)]:
            first = probe_ports(hosts[other].get("ports") or DEFAULT_PORTS)[0][0]
            for address in addresses.get(other) or []:
                targets.append(dict(host=other, address=address, port=first, expect="open"))
        first = probe_ports(hosts[host].get("ports") or DEFAULT_PORTS)[0][0]
        for address in ("127.0.0.1", "::1") if "ipv6" in hosts[host].get("ip_versions", []) else ("127.0.0.1",):
            targets.append(dict(host=host, address=address, port=first, expect="loopback"))
        peers[host] = targets
    return {"outside": outside, "peers": peers}


def _allowed(source, sources):
    """Whether a probe that left from ``source`` is one the firewall lets through."""
    try:
        addr = ipaddress.ip_address(source)
    except (TypeError, ValueError):
        return False
    if addr.is_loopback:
        return True
    for net in sources or []:
        network = ipaddress.ip_network(net, strict=False)
        if network.version == addr.version and addr in network:
            return True
    return False


def _where(results):
    def one(r):
        address = "[%s]" % r["address"] if ":" in r["address"] else r["address"]
        return "%s%s:%s %s" % ("udp/" if r.get("protocol") == "udp" else "", address, r["port"], r["outcome"])

    return ", ".join(one(r) for r in results)


def probe_checks(hosts, outside, peers):
    """Checks from the probe results. ``outside`` is {vantage: [result]}, ``peers``
    {host: [result]}; a result is a target with outcome, reached and source."""
    out = []
    for vantage in sorted(outside):
        by_host = {}
        for result in outside[vantage]:
            by_host.setdefault(result["host"], []).append(result)
        for host in sorted(by_host):
            results = by_host[host]
            name = "blocked_from_%s" % vantage
            guarded = [r for r in results if r["expect"] == "blocked"]
            insiders = [r for r in guarded if r.get("source") and _allowed(r["source"], hosts.get(host, {}).get("sources"))]
            errors = [r for r in guarded if r["outcome"] == "error"]
            reached = [r for r in guarded if r["reached"] and r not in insiders]
            if reached:
                out.append(check("node", host, name, "fail", "the guarded ports are reachable from %s: %s" % (
                    vantage, _where(reached))))
            elif errors:
                out.append(check("node", host, name, "fail", "the probe could not be made from %s: %s" % (
                    vantage, "; ".join("%s:%s %s" % (r["address"], r["port"], r.get("error")) for r in errors))))
            elif insiders and len(insiders) == len(guarded):
                out.append(check("node", host, name, "info", "%s is an allowed source (%s): not an outsider's view" % (
                    vantage, insiders[0]["source"])))
            elif guarded:
                tcp = [r for r in guarded if r.get("protocol", "tcp") == "tcp"]
                udp = [r for r in guarded if r.get("protocol") == "udp"]
                out.append(check("node", host, name, "pass", "%d probes of ports %s dropped%s" % (
                    len(tcp), ",".join(sorted({str(r["port"]) for r in tcp}, key=int)),
                    "; UDP %s: no answer" % ",".join(sorted({str(r["port"]) for r in udp}, key=int)) if udp else "")))
            around = [r for r in results if r["expect"] == "report"]
            if around:
                out.append(check("node", host, "outside_range_from_%s" % vantage, "info",
                                 "not judged: " + _where(around)))
    for host in sorted(peers):
        loopback = [r for r in peers[host] if r.get("expect") == "loopback"]
        if loopback:
            dropped = [r for r in loopback if not r["reached"]]
            out.append(check("node", host, "reaches_itself", "fail" if dropped else "pass", (
                "loopback cannot reach the Portworx ports: %s" % _where(dropped)) if dropped else
                "loopback reached: %s" % _where(loopback)))
        results = [r for r in peers[host] if r.get("expect") != "loopback"]
        if not results:
            continue
        dropped = [r for r in results if not r["reached"]]
        if dropped:
            out.append(check("node", host, "reaches_workers", "fail",
                             "this worker cannot reach other workers' Portworx ports: %s%s" % (
                                 ", ".join("%s %s:%s %s" % (r["host"], r["address"], r["port"], r["outcome"])
                                           for r in dropped),
                                 " (left from %s)" % dropped[0]["source"] if dropped[0].get("source") else "")))
        else:
            out.append(check("node", host, "reaches_workers", "pass", "reached %s" % ", ".join(
                sorted({"%s:%s" % (r["host"], r["port"]) for r in results}))))
    return out


# -- host state --------------------------------------------------------------
def host_checks(host, args, found):
    """Checks of one host from port_firewall in check mode (``found``, its result)."""
    if found is None:
        return [check("node", host, "firewall_read", "fail", "the host was not read (unreachable?)")]
    if found.get("failed") or found.get("unreachable"):
        return [check("node", host, "firewall_read", "fail", "reading failed: %s" % (found.get("msg") or "?"))]
    out = []
    if args.get("state") != "present":
        return [check("node", host, "firewall_state", "info", "host_firewall_state is %r: not verified" %
                      args.get("state"))]
    drift = found.get("drift") or {}
    families = found.get("families") or {}
    wanted = args.get("ip_versions") or []
    chain = args.get("chain")
    tables = args.get("backend") == "nftables"
    ours = "nftables table inet %s" % chain if tables else "chain %s" % chain
    missing = [f for f in wanted if f not in families]
    bad = ["%s: %s" % (f, " and ".join(w for w in drift.get(f, []) if w in ("rules", "jump"))) for f in wanted
           if any(w in ("rules", "jump") for w in drift.get(f, []))]
    if missing or bad:
        out.append(check("node", host, "chain_and_jump", "fail", "; ".join(
            ["%s: the family cannot be read" % f for f in missing] +
            [b.replace("rules", "%s missing or not as wanted" % ours).replace(
                "jump", "no jump from INPUT (or more than one)") for b in bad])))
    elif tables:
        out.append(check("node", host, "chain_and_jump", "pass", "%s on its own input hook for %s" % (
            ours, ", ".join(wanted))))
    else:
        out.append(check("node", host, "chain_and_jump", "pass", "%s with its jump in %s" % (chain, ", ".join(wanted))))
    left = sorted({f for f in list(wanted) + ["ipv4", "ipv6", "nftables"] if "stale" in drift.get(f, [])})
    if left:
        out.append(check("node", host, "no_leftovers", "fail", "objects of ours that the next run removes are still "
                         "there (another chain name, or the other back-end): %s" % ", ".join(left)))
    else:
        out.append(check("node", host, "no_leftovers", "pass", "nothing of ours under another name or in the other "
                         "back-end"))
    earlier = ["%s: %s" % (f, rule) for f in wanted for rule in (families.get(f) or {}).get("earlier_accepts") or []]
    if tables:
        out.append(check("node", host, "no_earlier_accept", "pass", "a base chain of our own: a drop there is final, "
                         "whatever other tables accept"))
    elif earlier:
        out.append(check("node", host, "no_earlier_accept", "fail",
                         "INPUT accepts guarded ports before our jump: %s" % "; ".join(earlier)))
    else:
        out.append(check("node", host, "no_earlier_accept", "pass", "no INPUT rule above the jump accepts the ports"))
    set_drift = [f for f in wanted if "set" in drift.get(f, [])]
    sets = [(families.get(f) or {}).get("set_name") for f in wanted if (families.get(f) or {}).get("set_name")]
    if set_drift:
        out.append(check("node", host, "allowed_sources", "fail", "%s members differ from the workers in %s" % (
            "nftables set" if tables else "ipset", ", ".join(set_drift))))
    else:
        count = len(found.get("sources") or [])
        out.append(check("node", host, "allowed_sources", "pass", "%d source networks%s" % (
            count, " in nftables sets %s" % ", ".join(sets) if tables else " in ipset %s" % ", ".join(sets) if sets
            else " listed in the chain")))
    if not args.get("persist"):
        out.append(check("node", host, "persisted", "info",
                         "host_firewall_persist is false: nothing restores the chain at boot"))
    elif drift.get("files"):
        out.append(check("node", host, "persisted", "fail", "after a reboot the chain would not be as now: %s" %
                         ", ".join(drift["files"])))
    else:
        files = found.get("persisted") or []
        out.append(check("node", host, "persisted", "pass", "%d files in %s" % (
            len(files), ", ".join(sorted({f.rsplit("/", 1)[0] for f in files})) or "-")))
    unit = found.get("boot_unit")
    if not args.get("persist") or not args.get("boot_unit"):
        out.append(check("node", host, "boot_unit", "info", "not wanted (host_firewall_boot_unit or _persist false)"))
    elif drift.get("boot_unit"):
        out.append(check("node", host, "boot_unit", "fail", "the boot unit differs: %s" % ", ".join(drift["boot_unit"])))
    elif unit == "enabled":
        out.append(check("node", host, "boot_unit", "pass", "enabled"))
    else:
        out.append(check("node", host, "boot_unit", "info", "%s: the files are restored by other means or not at all" %
                         unit))
    out.extend(watchdog_checks(host, args, found, drift))
    return out


def watchdog_checks(host, args, found, drift):
    """The watchdog's line: only where it is wanted or something of it is left over."""
    left = drift.get("watchdog") or []
    if not args.get("watchdog"):
        return [check("node", host, "watchdog", "fail", "not wanted, but left in place: %s" % ", ".join(left))] if left else []
    if left:
        return [check("node", host, "watchdog", "fail", "differs or does not run: %s" % ", ".join(left))]
    if found.get("watchdog") == "enabled":
        return [check("node", host, "watchdog", "pass", "the timer runs, every %s s" % args.get("watchdog_interval"))]
    return [check("node", host, "watchdog", "info", "%s: no watchdog on this host" % found.get("watchdog"))]


# -- the cluster -------------------------------------------------------------
def _meta(obj):
    return obj.get("metadata") or {}


def selector_matches(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions) selects an object with ``labels``."""
    return reach.selects(selector or {}, labels)


def _covered(v, bad, what, namespace):
    if bad:
        return check("namespace", namespace, "policies", "fail", "to be covered by %s %s, which is missing or changed"
                     % (v["network_policy_cluster_api"], what))
    return check("namespace", namespace, "policies", "pass", "covered by %s %s" % (v["network_policy_cluster_api"], what))


# -- the cluster read ----------------------------------------------------------
def cluster_requests():
    """The lists verify reads beyond what the network_policy role reads, as {key: (path, selector, missing_ok)}."""
    out = {
        "pods": (cluster.path("v1", "pods"), None, False),
        "daemonsets": (cluster.path("apps/v1", "daemonsets"), None, False),
        # every policy, not only ours: what pods may reach is decided by all of them
        "all_policies": (cluster.path("networking.k8s.io/v1", "networkpolicies"), None, False),
        "all:BaselineAdminNetworkPolicy": (cluster.path(kubeobjects.admin_api_version("AdminNetworkPolicy"),
                                                        "baselineadminnetworkpolicies"), None, (403, 404)),
    }
    for api in kubeobjects.ADMIN_APIS:
        for version in kubeobjects.ADMIN_APIS[api]["versions"]:
            out["all:%s:%s" % (api, version)] = (cluster.path(kubeobjects.admin_api_version(api, version), kubeobjects.ADMIN_APIS[api]["plural"]),
                                                 None, (403, 404))
    return out


def cluster_objects(read):
    """Every Admin and Baseline tier object, each once (in the first version served), with its kind."""
    out = []
    for kind in list(kubeobjects.ADMIN_APIS) + ["BaselineAdminNetworkPolicy"]:
        versions = kubeobjects.ADMIN_APIS[kind]["versions"] if kind in kubeobjects.ADMIN_APIS else ("",)
        for version in versions:
            items = read.get("all:%s:%s" % (kind, version) if version else "all:%s" % kind)
            if items is not None:
                out.extend(dict(item, kind=kind) for item in items)
                break
    return out


def judge_cluster(v, inventory, read, found):
    """(checks, reachability findings) of one cluster read: our objects as the plan wants
    them, and, while the role's state is present, what each protected pod can reach."""
    cni = sorted({d["metadata"]["name"] for d in read.get("daemonsets") or []
                  if any(word in d["metadata"].get("name", "") for word in kubeobjects.CNI)})
    checks = cluster_checks(v, found, read, found.get("missing_nodes") or [], cni,
                            partial_inventory=v["portworx_node_source"] in ("cluster", "list"))
    findings = []
    if v["network_policy_state"] == "present":
        read["cluster_objects"] = cluster_objects(read)
        addresses = node_addresses(read.get("nodes") or [], [a for _h, _v, a in inventory])
        more, findings = reachability_checks(v, found, read, addresses)
        checks += more
    return checks, findings


def cluster_checks(v, found, read, missing_nodes, cni, partial_inventory=False):
    """Checks of the cluster.

    ``v`` are the network_policy values, ``found`` the network_policy plan with the
    wanted keys (``wanted``, ``selected``, ``excluded``), ``read`` the lists read,
    ``missing_nodes`` the Nodes the inventory lacks, ``cni`` the DaemonSets of an
    enforcing CNI that were found. ``partial_inventory``: the host firewall takes its
    sources from the cluster or a list (job slicing), so Nodes this inventory lacks may be
    configured by other runs; they are a warning, not a failure."""
    out = []
    state = v["network_policy_state"]
    if state != "present":
        return [check("cluster", "cluster", "network_policy_state", "info", "network_policy_state is %r: not verified"
                      % state)]
    differs = {}
    for obj in found.get("apply") or []:
        differs.setdefault(_meta(obj).get("namespace"), []).append(_meta(obj).get("name"))
    cluster_scope = v["network_policy_scope"] != "namespaces"
    cluster_wanted = ["%s %s" % tuple(pair) for pair in found.get("cluster_wanted") or []]
    cluster_bad = differs.pop(None, [])
    if cluster_scope:
        out.append(check("cluster", "cluster", "cluster_policies", "fail" if cluster_bad else "pass",
                         ("missing or changed: %s" % ", ".join(sorted(cluster_bad))) if cluster_bad else
                         "%s in the Admin tier, priority %d" % (", ".join(cluster_wanted),
                                                                v["network_policy_cluster_priority"])))
    subject = k8snames.label_selector(v["network_policy_namespace_selector"])
    have_ours = {_meta(o).get("namespace") for o in read.get("ours") or []}
    wanted = {}
    for namespace, name in found.get("wanted") or []:
        wanted.setdefault(namespace, []).append(name)
    excluded = set(found.get("excluded") or [])
    psa_missing = {_meta(item).get("name") for item in found.get("psa_apply") or []}
    level = v["network_policy_pod_security"]
    psa_labels = {kubeobjects.PSA_PREFIX + m: level for m in v["network_policy_pod_security_modes"]} if level else {}
    host_network = {}
    for pod in read.get("pods") or []:
        if (pod.get("spec") or {}).get("hostNetwork"):
            host_network.setdefault(_meta(pod).get("namespace"), []).append(_meta(pod).get("name"))
    for ns in sorted(read.get("namespaces") or [], key=lambda n: _meta(n).get("name")):
        name = _meta(ns).get("name")
        labels = _meta(ns).get("labels") or {}
        if kubeobjects.terminating(ns):
            out.append(check("namespace", name, "policies", "info", "being deleted"))
        elif name in wanted:
            if differs.get(name) and name not in have_ours and (
                    v["network_policy_all_namespaces"] or v["network_policy_namespace_selector"]):
                out.append(check("namespace", name, "policies", "fail",
                                 "no policy of ours: created %s, after the last run" % _meta(ns).get(
                                     "creationTimestamp", "?")))
            elif differs.get(name):
                out.append(check("namespace", name, "policies", "fail", "missing or changed: %s" %
                                 ", ".join(sorted(differs[name]))))
            else:
                out.append(check("namespace", name, "policies", "pass", ", ".join(sorted(wanted[name]))))
        elif cluster_scope and name == v["network_policy_system_namespace"]:
            out.append(_covered(v, cluster_bad, "%s-%s (pods without an exempt label)" % (
                v["network_policy_block_name"], name), name))
        elif name in excluded:
            out.append(check("namespace", name, "policies", "info", "excluded from the policies"))
        elif cluster_scope and selector_matches(subject, labels):
            out.append(_covered(v, cluster_bad, v["network_policy_block_name"], name))
        elif cluster_scope:
            out.append(check("namespace", name, "policies", "fail",
                             "no policy of ours: network_policy_namespace_selector %r does not match it"
                             % v["network_policy_namespace_selector"]))
        elif v["network_policy_all_namespaces"] or v["network_policy_namespace_selector"]:
            out.append(check("namespace", name, "policies", "fail",
                             "no policy of ours: created %s, after the last run, or not matched" %
                             _meta(ns).get("creationTimestamp", "?")))
        else:
            out.append(check("namespace", name, "policies", "fail",
                             "no policy of ours: not in network_policy_namespaces nor excluded"))
        if name in host_network and name not in excluded:
            out.append(check("namespace", name, "host_network_pods", "fail",
                             "NetworkPolicy does not apply to hostNetwork pods: %s" % ", ".join(sorted(host_network[name]))))
        if psa_labels and name in wanted and name != v["network_policy_system_namespace"]:
            have = {k: labels.get(k) for k in psa_labels}
            weaker = [k for k in psa_labels if kubeobjects.PSA_LEVELS.get(have[k], 0) < kubeobjects.PSA_LEVELS.get(level, 0)]
            if name in psa_missing or weaker:
                out.append(check("namespace", name, "pod_security", "fail", "labels %s, wanted %s" % (
                    json.dumps(have, sort_keys=True), json.dumps(psa_labels, sort_keys=True))))
            else:
                out.append(check("namespace", name, "pod_security", "pass", ", ".join(
                    "%s=%s" % kv for kv in sorted(have.items()))))
    out.extend(portworx_checks(found.get("portworx")))
    if not psa_labels:
        out.append(check("cluster", "cluster", "pod_security", "info",
                         "network_policy_pod_security is not set: Pod Security Admission does not keep hostNetwork "
                         "pods out of the selected namespaces"))
    if found.get("prune"):
        out.append(check("cluster", "cluster", "stale_objects", "warn", "objects of ours no longer wanted: %s" % ", ".join(
            "%s/%s" % (_meta(o).get("namespace"), _meta(o).get("name")) if _meta(o).get("namespace") else
            "%s %s" % (o.get("kind"), _meta(o).get("name")) for o in found["prune"])))
    else:
        out.append(check("cluster", "cluster", "stale_objects", "pass", "none"))
    if missing_nodes and partial_inventory:
        out.append(check("cluster", "cluster", "nodes_in_inventory", "warn",
                         "Nodes that this inventory lacks (another slice or run must configure their firewall): %s"
                         % ", ".join(missing_nodes)))
    elif missing_nodes:
        out.append(check("cluster", "cluster", "nodes_in_inventory", "fail",
                         "Nodes that the inventory lacks, whose firewall no run configures: %s" % ", ".join(missing_nodes)))
    else:
        out.append(check("cluster", "cluster", "nodes_in_inventory", "pass",
                         "%d Nodes, all in the inventory" % len(read.get("nodes") or [])))
    if cni:
        out.append(check("cluster", "cluster", "cni", "pass", "enforcing CNI found: %s" % ", ".join(cni)))
    else:
        out.append(check("cluster", "cluster", "cni", "warn",
                         "no DaemonSet of a NetworkPolicy-enforcing CNI was found: the policies may not be enforced"))
    return out


def _pod_label_sets(read, namespace):
    """The distinct label sets of a namespace's pods that NetworkPolicy applies to (not
    hostNetwork, not finished), and {} for a pod without labels."""
    sets = [{}]
    for pod in read.get("pods") or []:
        if _meta(pod).get("namespace") != namespace or (pod.get("spec") or {}).get("hostNetwork"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        labels = _meta(pod).get("labels") or {}
        if labels not in sets:
            sets.append(labels)
    return sets


def protected_namespaces(v, found, read):
    """The namespaces whose pods the roles keep off the Portworx ports, system namespace first."""
    cluster_scope = v["network_policy_scope"] != "namespaces"
    subject = k8snames.label_selector(v["network_policy_namespace_selector"])
    excluded = set(found.get("excluded") or []) | {v["network_policy_system_namespace"]}
    chosen = set(found.get("selected") or [])
    out = []
    for ns in sorted(read.get("namespaces") or [], key=lambda n: _meta(n).get("name")):
        name = _meta(ns).get("name")
        if kubeobjects.terminating(ns):
            continue
        if name == v["network_policy_system_namespace"]:
            out.insert(0, ns)
        elif name in chosen or (cluster_scope and name not in excluded and selector_matches(subject, _meta(
                ns).get("labels") or {})):
            out.append(ns)
    return out


def _labels_text(labels):
    return "pods {%s}" % ",".join("%s=%s" % kv for kv in sorted(labels.items())) if labels else "pods without labels"


def _by_text(by):
    return ", ".join(p["text"] for p in by) if by else "no policy selects these pods"


def _expected(v, namespace, labels, item, metrics_ranges):
    """An opening the settings ask for: network_policy_metrics_access, made by our objects only."""
    scrapers = [k8snames.label_selector(m.get("pods") or "") for m in v["network_policy_metrics_access"]
                if m["namespace"] == namespace]
    ours = bool(item["by"]) and all((p["labels"] or {}).get(k) == val for p in item["by"]
                                    for k, val in k8snames.MANAGED_BY.items())
    inside = all(portlib.intersect(metrics_ranges, [span]) == [span] for span in item["ports"])
    return ours and inside and any(selector_matches(s, labels) for s in scrapers)


def reachability_checks(v, found, read, addresses):
    """What the pods of every protected namespace reach on the node ``addresses``, from
    every policy the cluster holds (``read`` carries ``all_policies`` and
    ``cluster_objects``). Returns (checks, findings): a ``reachability`` check per
    namespace, failing when a pod there reaches a guarded TCP port, naming the policy that
    opens the way; the findings carry every verdict, exempt system pods included."""
    px = found.get("portworx") or {}
    guarded = {"TCP": portlib.parse_ports(px.get("tcp") or DEFAULT_PORTS)}
    metrics_ranges = portlib.parse_ports(px.get("metrics") or [])
    model = reach.Cluster(read.get("all_policies") or [], read.get("cluster_objects") or [], read.get("nodes") or [])
    exempt = {"matchExpressions": kubeobjects.exempt_expressions(v["network_policy_exempt_pods"])}
    system = v["network_policy_system_namespace"]
    checks, findings = [], []
    for ns in protected_namespaces(v, found, read):
        name, ns_labels = _meta(ns).get("name"), _meta(ns).get("labels") or {}
        sets = _pod_label_sets(read, name)
        judged = [s for s in sets if name != system or selector_matches(exempt, s)]
        exempt_sets = [s for s in sets if s not in judged]
        results = reach.reach(model, [(name, ns_labels, s) for s in judged], addresses, guarded)
        exposed = {}  # (protocol, ports, by) -> ([label set], [address]): one sentence each
        for finding in results:
            finding["role"] = "protected"
            for item in finding["open"]:
                item["expected"] = _expected(v, name, finding["labels"], item, metrics_ranges)
                if not item["expected"]:
                    key = (finding["protocol"], ",".join(portlib.range_strings(item["ports"])), _by_text(item["by"]))
                    who, where = exposed.setdefault(key, ([], []))
                    who.extend(t for t in [_labels_text(finding["labels"])] if t not in who)
                    where.extend(a for a in item["addresses"] if a not in where)
        for finding in reach.reach(model, [(name, ns_labels, s) for s in exempt_sets], addresses, guarded):
            finding["role"] = "exempt"
            results.append(finding)
        findings.extend(results)
        if exposed:
            checks.append(check("namespace", name, "reachability", "fail", "; ".join(
                "%s reach %s %s on %s: opened by %s" % (" and ".join(who), protocol, ports, _addresses_text(
                    [a for a in addresses if a in where]), by)
                for (protocol, ports, by), (who, where) in sorted(exposed.items()))))
        else:
            checks.append(check("namespace", name, "reachability", "pass", "no %s reaches TCP %s on %s (%s "
                                "judged against %s)" % (
                                    "non-exempt pod" if name == system else "pod",
                                    ",".join(portlib.range_strings(guarded["TCP"])),
                                    _count(len(addresses), "node address", "node addresses"), _count(len(judged), "label set"),
                                    _count(len(model.policies()), "policy", "policies"))))
    return checks, findings


def node_addresses(nodes, inventory):
    """Where the Portworx ports are: every InternalIP and ExternalIP of the Nodes and every
    inventory address of the workers, each once, IPv4 first."""
    found = {}
    texts = [a.get("address") for n in nodes for a in (n.get("status") or {}).get("addresses") or []
             if a.get("type") in reach.ADDRESS_TYPES] + list(inventory)
    for text in texts:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        found[address] = str(address)
    return [found[a] for a in sorted(found, key=lambda a: (a.version, a))]


def _count(number, one, many=None):
    return "%d %s" % (number, one if number == 1 else many or one + "s")


def _addresses_text(addresses, most=3):
    shown = ", ".join(addresses[:most])
    return shown + (" and %d more" % (len(addresses) - most) if len(addresses) > most else "")


def portworx_checks(px):
    """What is known of the Portworx itself: the ports guarded and where they come from, and PX-Security."""
    if not px:
        return []
    where = "StorageCluster %s" % px["storagecluster"] if px.get("storagecluster") else "the inventory (portworx_*)"
    out = [check("cluster", "cluster", "portworx_ports", "info", "TCP %s and UDP %s (start port %d%s), from %s" % (
        ",".join(px["tcp"]), ",".join(px["udp"]), px["start_port"],
        ", Portworx %s" % px["version"] if px.get("version") else "", where))]
    if px.get("security") is None:
        out.append(check("cluster", "cluster", "px_security", "info",
                         "not read: portworx_source is 'inventory' (set it to 'storagecluster' to check "
                         "spec.security.enabled)"))
    elif px["security"]:
        out.append(check("cluster", "cluster", "px_security", "pass",
                         "spec.security.enabled is true on %s: the API asks for a token" % where))
    else:
        out.append(check("cluster", "cluster", "px_security", "warn",
                         "spec.security.enabled is not true on %s: whoever reaches the ports needs no token. The "
                         "firewall and policies are the only guard; read %s" % (where, SECURITY_DOC)))
    return out


# -- reports -----------------------------------------------------------------
def summary(checks):
    counts = {s: 0 for s in STATUSES}
    for item in checks:
        counts[item["status"]] += 1
    return counts


def _ordered(checks):
    rank = {s: i for i, s in enumerate(STATUSES)}
    return sorted(checks, key=lambda c: (rank[c["status"]], c["subject"], c["check"]))


def reachability_matrix(hosts, outside, peers, cluster):
    """The matrix (matrix.build) of the probes and of the cluster's findings. ``hosts`` is
    the host firewall plan's {host: port_firewall arguments}, ``cluster`` the verify_cluster
    result (its ``reachability`` findings and ``portworx`` ports)."""
    present = [a for a in hosts.values() if a.get("state") == "present"]
    px = cluster.get("portworx") or {}
    tcp = [p for a in present for p in a.get("ports") or DEFAULT_PORTS] or px.get("tcp") or DEFAULT_PORTS
    udp = [p for a in present for p in a.get("udp_ports") or []] or px.get("udp") or []
    cols = tables.columns(tcp, udp)
    insiders = {vantage for vantage, results in outside.items()
                if results and all(r.get("source") and _allowed(r["source"], hosts.get(r["host"], {}).get("sources"))
                                   for r in results if r.get("expect") == "blocked")}
    rows = tables.host_rows(cols, outside, peers, insiders)
    rows += tables.pod_rows(cols, cluster.get("reachability") or [], cluster.get("system_namespace") or "kube-system")
    return tables.build(cols, rows)


def to_json(checks, now=None, matrix=None, findings=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    counts = summary(checks)
    out = {"tool": "clusterguard.portworx verify", "generated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "exposed": counts["fail"] > 0, "summary": counts, "checks": checks}
    if matrix is not None:
        out["matrix"] = matrix
    if findings is not None:
        out["reachability"] = findings
    return out


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(checks, now=None, matrix=None):
    report = to_json(checks, now)
    counts = report["summary"]
    verdict = "**EXPOSED**: %d failing checks" % counts["fail"] if report["exposed"] else "**locked down**"
    lines = ["# clusterguard.portworx verify report", "",
             "%s. %s (%d pass, %d fail, %d warn, %d info), %s." % (
                 verdict, "%d checks" % len(checks), counts["pass"], counts["fail"], counts["warn"], counts["info"],
                 report["generated"]), ""]
    marks = {"fail": "FAIL", "warn": "warn", "pass": "pass", "info": "info"}
    for scope, title in SCOPES:
        rows = [c for c in checks if c["scope"] == scope]
        if not rows:
            continue
        head = {"node": "node", "namespace": "namespace", "cluster": "subject"}[scope]
        lines += ["## %s" % title, "", "| %s | check | result | detail |" % head, "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % (_cell(c["subject"]), c["check"], marks[c["status"]], _cell(c["detail"]))
                  for c in _ordered(rows)]
        lines.append("")
    lines += tables.to_markdown(matrix)
    return "\n".join(lines)


def to_junit(checks, now=None):
    report = to_json(checks, now)
    root = ElementTree.Element("testsuites", name="clusterguard.portworx verify", tests=str(len(checks)),
                               failures=str(report["summary"]["fail"]), errors="0",
                               skipped=str(report["summary"]["info"]))
    for scope, title in SCOPES:
        rows = [c for c in checks if c["scope"] == scope]
        if not rows:
            continue
        suite = ElementTree.SubElement(
            root, "testsuite", name=title.lower(), tests=str(len(rows)), errors="0", timestamp=report["generated"],
            failures=str(sum(1 for c in rows if c["status"] == "fail")),
            skipped=str(sum(1 for c in rows if c["status"] == "info")))
        for item in rows:
            case = ElementTree.SubElement(suite, "testcase", classname="%s.%s" % (title.lower(), item["subject"]),
                                          name=item["check"], time="0")
            if item["status"] == "fail":
                failure = ElementTree.SubElement(case, "failure", message=item["detail"][:500], type="exposure")
                failure.text = item["detail"]
            elif item["status"] == "info":
                ElementTree.SubElement(case, "skipped", message=item["detail"][:500])
            else:
                out = ElementTree.SubElement(case, "system-out")
                out.text = "%s: %s" % (item["status"], item["detail"])
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
