# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every input of the network_policy role, checked as the API server would
check it, then the cluster read once and the change computed: which objects to
apply, which of ours to prune, which Pod Security labels to set or release.

Types, choices and defaults come from the role's meta/argument_specs.yml
(``spec``); the rules here say what a value means. Errors name the variable
and the value. Nothing here writes to the cluster."""

from __future__ import annotations

import json

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, k8snames, kubeobjects, netcalc, portworx, spec
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import policies
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import cluster_policies as cnp
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import nodes as nodelib

ROLE = "network_policy"
PREFIX = ROLE + "_"
INSTANCE_LABEL = "clusterguard.portworx/instance"
RENDER_MARK = "# clusterguard.portworx network_policy manifest"
PSA_MARKER = "clusterguard.portworx/pod-security"
PSA_PREFIX, LEVELS, CNI = kubeobjects.PSA_PREFIX, kubeobjects.PSA_LEVELS, kubeobjects.CNI


def _errors_of(checks):
    out = []
    for check in checks:
        try:
            check()
        except (spec.InputError, netcalc.AddressError, portlib.PortSpecError) as exc:
            out.append(str(exc))
    return out


def _ports(name, value, required=True):
    try:
        ranges = portlib.parse_ports(value)
    except portlib.PortSpecError as exc:
        raise spec.InputError("%s: %s" % (name, exc)) from None
    if required and not ranges:
        raise spec.InputError("%s: %r blocks nothing; give at least one port, such as ['9001-9022']" % (name, value))
    return ranges


def _names(name, values, check=k8snames.dns_label_error):
    for value in values:
        error = check(value)
        if error:
            raise spec.InputError("%s: %s" % (name, error))


def _networks(name, values, wide=True):
    for value in values:
        try:
            netcalc.parse_network(value)
            error = netcalc.wide_error(value) if wide else None
        except netcalc.AddressError as exc:
            error = str(exc)
        if error:
            raise spec.InputError("%s: %s" % (name, error))


def _node_addresses(values):
    error = portworx.node_addresses_error(values)
    if error:
        raise spec.InputError(error)


def _exempt(values):
    for item in values:
        if not isinstance(item, dict) or set(item) != {"key", "values"}:
            raise spec.InputError("network_policy_exempt_pods: %r must be a mapping with exactly 'key' and "
                                  "'values', such as {key: component, values: [stork]}" % (item,))
        error = k8snames.label_key_error(item["key"])
        if error:
            raise spec.InputError("network_policy_exempt_pods: %s" % error)
        if not isinstance(item["values"], list) or not item["values"]:
            raise spec.InputError("network_policy_exempt_pods: values of %r must be a non-empty list, such as "
                                  "[scheduler], got %r" % (item["key"], item["values"]))
        for value in item["values"]:
            error = k8snames.label_value_error(value) if isinstance(value, str) else "%r is not a string" % (value,)
            if error:
                raise spec.InputError("network_policy_exempt_pods: values of %r: %s" % (item["key"], error))


def _metrics(v):
    seen = set()
    for item in v["network_policy_metrics_access"]:
        if not isinstance(item, dict) or not set(item) <= {"namespace", "pods"} or "namespace" not in item:
            raise spec.InputError("network_policy_metrics_access: %r must be a mapping with 'namespace' and, optionally, "
                                  "'pods' (a label selector), such as {namespace: monitoring, pods: "
                                  "'app.kubernetes.io/name=prometheus'}" % (item,))
        name, pods = item["namespace"], item.get("pods", "")
        error = k8snames.dns_label_error(name) if isinstance(name, str) else "%r is not a namespace name" % (name,)
        if error:
            raise spec.InputError("network_policy_metrics_access: namespace %s" % error)
        error = k8snames.selector_error(pods) if isinstance(pods, str) else "%r is not a label selector string" % (pods,)
        if error:
            raise spec.InputError("network_policy_metrics_access: pods of %s: %s" % (name, error))
        if name in seen:
            raise spec.InputError("network_policy_metrics_access: namespace %r is listed twice; give one item per "
                                  "namespace (a selector such as 'app in (prometheus, agent)' takes several kinds)"
                                  % (name,))
        seen.add(name)
    if v["network_policy_metrics_access"]:
        names = {v["network_policy_block_name"], v["network_policy_api_name"]}
        if v["network_policy_metrics_name"] in names:
            raise spec.InputError("network_policy_metrics_name: %r is also the block or API policy's name; the "
                                  "policies need names of their own" % (v["network_policy_metrics_name"],))
        if v["network_policy_scope"] != "namespaces" and v["network_policy_cluster_priority"] < 1:
            raise spec.InputError("network_policy_cluster_priority: 0 leaves no priority before ours for the "
                                  "network_policy_metrics_access object; use 1 or more")


def _host(value):
    error = cluster.url_error("network_policy_host", value)
    if error:
        raise spec.InputError(error)


def check(values):
    """Every rule that goes beyond the spec; a list of error strings."""
    v = values
    render = bool(v["network_policy_render_dir"])
    checks = [
        lambda: _ports("network_policy_seed_allow_ports", v["network_policy_seed_allow_ports"], required=False),
        lambda: _ports("network_policy_api_port", [v["network_policy_api_port"]]),
        lambda: _node_addresses(v["portworx_node_addresses"]),
        lambda: _networks("network_policy_pod_cidrs", v["network_policy_pod_cidrs"], wide=False),
        lambda: _networks("network_policy_service_cidrs", v["network_policy_service_cidrs"], wide=False),
        lambda: _names("network_policy_namespaces", v["network_policy_namespaces"]),
        lambda: _names("network_policy_exclude_namespaces", v["network_policy_exclude_namespaces"]),
        lambda: _names("network_policy_system_namespace", [v["network_policy_system_namespace"]]),
        lambda: _names("portworx_namespace", [v["portworx_namespace"]]),
        lambda: _names("network_policy_metrics_name", [v["network_policy_metrics_name"]], k8snames.dns_subdomain_error),
        lambda: _metrics(v),
        lambda: _names("network_policy_block_name", [v["network_policy_block_name"]], k8snames.dns_subdomain_error),
        lambda: _names("network_policy_api_name", [v["network_policy_api_name"]], k8snames.dns_subdomain_error),
        lambda: _names("network_policy_instance", [v["network_policy_instance"]], k8snames.label_value_error),
        lambda: _exempt(v["network_policy_exempt_pods"]),
        lambda: _host(v["network_policy_host"]),
    ]
    errors = _errors_of(checks) + portworx.input_errors(v)
    selector = v["network_policy_namespace_selector"]
    if k8snames.selector_error(selector):
        errors.append("network_policy_namespace_selector: %s" % k8snames.selector_error(selector))
    if not v["network_policy_instance"]:
        errors.append("network_policy_instance: '' is empty; name this use of the role, such as 'default'")
    prefix = v["network_policy_node_subnet_prefix"]
    if not 8 <= prefix <= 32:
        errors.append("network_policy_node_subnet_prefix: %r must be 8-32 (the document's 16); shorter would "
                      "cover far more than the nodes" % (prefix,))
    if v["network_policy_block_name"] == v["network_policy_api_name"]:
        errors.append("network_policy_api_name: %r is also network_policy_block_name; the two policies need two names"
                      % (v["network_policy_api_name"],))
    manager = v["network_policy_field_manager"]
    if not manager or len(manager) > 128 or any(c in manager for c in "\n\r\t"):
        errors.append("network_policy_field_manager: %r must be 1-128 printable characters" % (manager,))
    if not 0 <= v["network_policy_cluster_priority"] <= 999:
        errors.append("network_policy_cluster_priority: %r must be 0-999 (the system namespace's object takes the next "
                      "number; OVN-Kubernetes accepts AdminNetworkPolicy priorities up to 99)"
                      % (v["network_policy_cluster_priority"],))
    if v["network_policy_scope"] in ("cluster", "both") and v["network_policy_mode"] == "seed":
        errors.append("network_policy_mode: 'seed' (the document's NetworkPolicies as written) has no cluster-scoped "
                      "form; with network_policy_scope %r use 'precise'" % (v["network_policy_scope"],))
    if v["network_policy_pod_security"] and not v["network_policy_pod_security_modes"]:
        errors.append("network_policy_pod_security_modes: [] names no mode; give enforce, warn or audit")
    if render:
        where = v["network_policy_render_dir"]
        if "\n" in where or "\0" in where:
            errors.append("network_policy_render_dir: %r is not a directory path" % (where,))
        if v["network_policy_all_namespaces"] or selector:
            errors.append("network_policy_render_dir: %r renders without a cluster, so namespaces must be listed by "
                          "name (network_policy_all_namespaces and network_policy_namespace_selector need one)" % (where,))
        if v["portworx_node_source"] == "cluster":
            errors.append("portworx_node_source: 'cluster' cannot be used with network_policy_render_dir %r"
                          % (where,))
        if v["network_policy_node_cidr_mode"] == "subnet" and not (
                v["network_policy_pod_cidrs"] and v["network_policy_service_cidrs"]):
            errors.append("network_policy_node_cidr_mode: 'subnet' with network_policy_render_dir needs "
                          "network_policy_pod_cidrs and network_policy_service_cidrs, to check the subnet against them")
    if not v["portworx_node_address_vars"]:
        errors.append("portworx_node_address_vars: [] names no variable; the default is ['ansible_host']")
    if v["portworx_node_source"] == "list" and not v["portworx_node_addresses"]:
        errors.append("portworx_node_source: 'list' needs portworx_node_addresses, which is empty")
    return errors


# -- the cluster -------------------------------------------------------------
def requests(v):
    """The lists to read, as {key: (path, selector, missing_ok)}."""
    p = cluster.path
    out = {
        "namespaces": (p("v1", "namespaces"), None, False),
        "nodes": (p("v1", "nodes"), None, False),
        "ours": (p("networking.k8s.io/v1", "networkpolicies"), k8snames.MANAGED_BY_SELECTOR, False),
    }
    if v["network_policy_namespace_selector"]:
        out["chosen"] = (p("v1", "namespaces"), v["network_policy_namespace_selector"], False)
    if v["network_policy_api_from_endpointslice"]:
        out["api"] = (p("discovery.k8s.io/v1", "endpointslices", "default"), "kubernetes.io/service-name=kubernetes",
                      True)
    if v["network_policy_node_cidr_mode"] == "subnet" and not v["network_policy_service_cidrs"]:
        out["servicecidrs"] = (p("networking.k8s.io/v1", "servicecidrs"), None, True)
    # Always, so that a switch of scope or API prunes what the other left. Where neither
    # is wanted, a list that is missing or forbidden holds nothing of ours to prune. Every
    # version we can write is read: the plan writes the first one the cluster serves.
    for api in cnp.APIS:
        needed = v["network_policy_scope"] != "namespaces" and api == v["network_policy_cluster_api"]
        for version in cnp.APIS[api]["versions"]:
            out[cnp.list_key(api, version)] = (p(cnp.api_version(api, version), cnp.APIS[api]["plural"]),
                                               k8snames.MANAGED_BY_SELECTOR,
                                               True if needed else (403, 404))
    out.update(portworx.requests(v, p))
    if v["network_policy_check_cni"] and v["network_policy_state"] == "present":
        out["daemonsets"] = (p("apps/v1", "daemonsets"), None, False)
    return out


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def _owned_labels(namespace, manager):
    """Label keys of a Namespace that ``manager`` owns (from managedFields)."""
    owned = set()
    for entry in (namespace.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != manager:
            continue
        labels = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:labels") or {}
        owned.update(k[2:] for k in labels if k.startswith("f:"))
    return owned


# -- the plan ----------------------------------------------------------------
def plan(v, inventory, read, detail=False):
    """What the role does. ``inventory`` is [(host, var, address)] of the workers group;
    ``read`` is {key: items} from the cluster, or None in render mode. With ``detail``
    (the verify role) the result also names every wanted object, the selected and the
    excluded namespaces, and the cluster Nodes that the inventory lacks."""
    present = v["network_policy_state"] == "present"
    instance = v["network_policy_instance"]
    labels = {INSTANCE_LABEL: instance}
    warnings, out = [], {"apply": [], "prune": [], "psa_apply": [], "psa_release": [], "files": {}}
    px = settings(v, read) if present else None
    out["portworx"] = px
    read = read or {}
    nodes = read.get("nodes") or []
    source = v["portworx_node_source"]
    odd = nodelib.odd_nodes(nodes)
    if odd and source == "cluster" and present:
        raise spec.InputError("portworx_node_source: 'cluster', but the InternalIP of Node %s: %s" % (
            odd[0][0], odd[0][2]))
    if odd:
        warnings.append("Nodes whose InternalIP is no node address are skipped: %s" % "; ".join(
            "%s (%s)" % (name, why) for name, _address, why in odd))
    cluster_nodes = netcalc.node_cidrs([a for _n, _t, a in nodelib.node_addresses(nodes)])
    inventory_nodes = netcalc.node_cidrs([a for _h, _v, a in inventory])
    if read and source == "inventory" and nodes:
        missing, extra = nodelib.node_drift(inventory, nodes)
        if missing:
            warnings.append("cluster nodes %s are not in inventory group '%s': host_firewall does not cover them"
                            % (", ".join(missing), v["portworx_workers_group"]))
        if extra:
            warnings.append("inventory workers %s are no InternalIP of any Node of the cluster: wrong kubeconfig, "
                            "or a stale inventory?" % ", ".join(extra))
    wanted, cluster_wanted = [], []
    selection = {"selected": [], "missing": []}
    scope = v["network_policy_scope"]
    namespaced = scope in ("namespaces", "both")
    by_nodes = scope == "cluster" and v["network_policy_cluster_peer"] == "nodes"
    if present:
        node_list = {"inventory": inventory_nodes, "list": netcalc.node_cidrs(v["portworx_node_addresses"]),
                     "cluster": cluster_nodes}[source]
        also = nodelib.other_addresses(inventory, nodes) if source == "inventory" else []
        if also:
            # a dual-stack Node whose inventory entry gives one family: pods would reach the Portworx ports on
            # the other address, which is the same node's
            node_list = netcalc.node_cidrs(node_list + [a for _n, a in also])
            warnings.append("the policies also cover the Nodes' other InternalIPs, which portworx_node_address_vars "
                            "do not give: %s (the host firewall does not see them as sources)" % ", ".join(
                                "%s %s" % item for item in also))
        if not node_list and not by_nodes:
            raise spec.InputError("portworx_node_source: %r gives no node addresses%s" % (
                source, " (the cluster's Node objects report no InternalIP)" if source == "cluster" else ""))
        if v["network_policy_node_cidr_mode"] == "subnet" and node_list:
            node_list = _subnet(v, node_list, nodes, read)
        existing = [n["metadata"]["name"] for n in read["namespaces"] if not kubeobjects.terminating(n)] if read else list(
            v["network_policy_namespaces"])
        if read and v["network_policy_namespace_selector"]:
            existing = [n["metadata"]["name"] for n in read["chosen"] if not kubeobjects.terminating(n)]
        exclude = list(v["network_policy_exclude_namespaces"])
        exclude += [v["network_policy_system_namespace"], px["namespace"]]
        selection = policies.select_namespaces(existing, v["network_policy_namespaces"],
                                               v["network_policy_all_namespaces"], exclude)
        if selection["missing"] and (namespaced or v["network_policy_pod_security"]):
            warnings.append("namespaces %s do not exist; skipped" % ", ".join(selection["missing"]))
        scrapers_with_block = set(selection["selected"]) | {v["network_policy_system_namespace"]}
        skipped = [m["namespace"] for m in v["network_policy_metrics_access"] if m["namespace"] not in scrapers_with_block]
        if skipped and namespaced:
            warnings.append("network_policy_metrics_access: namespaces %s get no block policy of ours (excluded, not "
                            "selected or missing), so their pods reach the Portworx ports anyway; no metrics policy is "
                            "written there" % ", ".join(skipped))
        served_version = cnp.served(v["network_policy_cluster_api"], read)[0] if read else None
        if namespaced:
            api_addresses = [a for s in read.get("api") or [] for e in s.get("endpoints") or []
                             for a in e.get("addresses") or []]
            wanted = policies.build(
                node_list, selection["selected"], mode=v["network_policy_mode"], ports=px["tcp"],
                exempt=v["network_policy_exempt_pods"], system_namespace=v["network_policy_system_namespace"],
                seed_allow_ports=v["network_policy_seed_allow_ports"], api_port=v["network_policy_api_port"],
                api_cidrs=api_addresses, block_name=v["network_policy_block_name"],
                api_name=v["network_policy_api_name"], labels=labels,
                metrics=[m for m in v["network_policy_metrics_access"] if m["namespace"] in scrapers_with_block],
                metrics_ports=px["metrics"], metrics_name=v["network_policy_metrics_name"])
        if scope in ("cluster", "both"):
            cluster_wanted = _cluster_objects(v, node_list, exclude, labels, px, served_version)
        if v["network_policy_check_cni"] and read and not any(
                any(word in (d.get("metadata") or {}).get("name", "") for word in CNI) for d in read.get("daemonsets") or []):
            warnings.append("no DaemonSet of a NetworkPolicy-enforcing CNI (Calico, Cilium, Antrea, kube-router, ...) was "
                            "found: the API server stores these policies, but nothing may enforce them. The host firewall "
                            "still protects the ports against other hosts.")
    if not read:
        out["files"] = _render(wanted + cluster_wanted, selection["selected"] if present else [], v)
        out["objects"] = len(wanted) + len(cluster_wanted)
        return out, warnings
    ours, others = _split_instance(read.get("ours") or [], instance)
    _no_takeover(wanted, others, instance)
    if detail:
        out["wanted"] = [[o["metadata"]["namespace"], o["metadata"]["name"]] for o in wanted]
        out["cluster_wanted"] = [[o["kind"], o["metadata"]["name"]] for o in cluster_wanted]
        out["selected"] = list(selection["selected"])
        out["excluded"] = sorted(set(v["network_policy_exclude_namespaces"]) | ({px["namespace"]} if px else set()))
        out["missing_nodes"] = nodelib.node_drift(inventory, nodes)[0] if nodes else []
    out["apply"] = policies.changed(wanted, ours)
    out["prune"] = policies.stale(ours, wanted)
    api = v["network_policy_cluster_api"]
    if cluster_wanted and cnp.served(api, read)[0] is None:
        raise spec.InputError(
            "network_policy_scope: %r needs the %s API (%s, CRD %s), which this cluster does not serve. Install it "
            "(from %s, or with a CNI that implements it), pick the other network_policy_cluster_api, or use "
            "network_policy_scope 'namespaces'" % (
                scope, api, " or ".join(cnp.api_version(api, ver) for ver in cnp.APIS[api]["versions"]),
                cnp.crd_name(api), cnp.APIS[api]["source"]))
    for kind in cnp.APIS:
        version, items = cnp.served(kind, read)
        mine, theirs = _split_instance(items or [], instance)
        keep = [o for o in cluster_wanted if o["kind"] == kind]
        _no_takeover(keep, theirs, instance)
        out["apply"].extend(policies.changed(keep, mine))
        names = {o["metadata"]["name"] for o in keep}
        out["prune"].extend(cnp.stub(kind, o["metadata"]["name"], version) for o in mine
                            if o["metadata"]["name"] not in names)
    out["objects"] = len(wanted) + len(cluster_wanted)
    _pod_security(v, selection["selected"] if present else [], read["namespaces"], out, warnings)
    return out, warnings


def _split_instance(objects, instance):
    """(ours, other instances') among the objects that carry our managed-by label."""
    ours, others = [], []
    for obj in objects:
        (ours if _labels(obj).get(INSTANCE_LABEL, "default") == instance else others).append(obj)
    return ours, others


def _no_takeover(wanted, others, instance):
    taken = {((o.get("metadata") or {}).get("namespace"), o["metadata"]["name"]): _labels(o).get(INSTANCE_LABEL, "default")
             for o in others}
    for obj in wanted:
        key = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in taken:
            where = "%s/%s" % key if key[0] else "%s %s" % (obj["kind"], key[1])
            raise spec.InputError(
                "network_policy_instance: %r would take over %s, which instance %r of this role manages; give this "
                "use other policy names (network_policy_block_name, network_policy_api_name)" % (
                    instance, where, taken[key]))


def settings(v, read):
    """The Portworx settings (``portworx.resolve``), errors as InputError."""
    try:
        return portworx.resolve(v, read)
    except portworx.PortworxError as exc:
        raise spec.InputError(str(exc)) from None


def _cluster_objects(v, node_list, exclude, labels, px, version):
    try:
        return cnp.build(
            v["network_policy_cluster_api"], node_list, px["tcp"], exclude,
            v["network_policy_system_namespace"], v["network_policy_exempt_pods"],
            v["network_policy_cluster_priority"], v["network_policy_block_name"], peer=v["network_policy_cluster_peer"],
            namespace_selector=k8snames.label_selector(v["network_policy_namespace_selector"]), labels=labels,
            version=version, metrics=v["network_policy_metrics_access"], metrics_ports=px["metrics"],
            metrics_name=v["network_policy_metrics_name"])
    except cnp.ClusterPolicyError as exc:
        raise spec.InputError("network_policy_scope: %s" % exc) from None


def _subnet(v, node_list, nodes, read):
    prefix = v["network_policy_node_subnet_prefix"]
    wide = ([netcalc.node_subnet(node_list, prefix, 4)] if netcalc.node_cidrs(node_list, 4) else [])
    wide += netcalc.node_cidrs(node_list, 6)
    pods = list(v["network_policy_pod_cidrs"]) or [c for n in nodes for c in (n.get("spec") or {}).get("podCIDRs") or []]
    services = list(v["network_policy_service_cidrs"]) or [
        c for s in read.get("servicecidrs") or [] for c in (s.get("spec") or {}).get("cidrs") or []]
    overlaps = netcalc.cidr_overlaps(wide, pods + services)
    if overlaps:
        raise spec.InputError(
            "network_policy_node_subnet_prefix: %d gives %s, which overlaps %s (pods or services): the policies would "
            "cut pod traffic. Use network_policy_node_cidr_mode 'exact' or a longer prefix" % (
                prefix, ", ".join(sorted({o["cidr"] for o in overlaps})), ", ".join(sorted({o["other"] for o in overlaps}))))
    return wide


def _psa_labels(v):
    level = v["network_policy_pod_security"]
    out = {}
    for mode in v["network_policy_pod_security_modes"]:
        out[PSA_PREFIX + mode] = level
        out[PSA_PREFIX + mode + "-version"] = "latest"
    return out


def _namespace(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _pod_security(v, selected, namespaces, out, warnings):
    """Labels to set on the selected namespaces, and namespaces to release.

    A Pod Security label that someone else set is never taken over: a stricter or equal
    level is kept silently, a weaker one is kept with a warning. Releasing gives up only
    the labels our field manager owns, so what an administrator set stays."""
    manager = v["network_policy_field_manager"] + "-pod-security"
    instance = v["network_policy_instance"]
    by_name = {n["metadata"]["name"]: n for n in namespaces}
    wanted = _psa_labels(v) if v["network_policy_pod_security"] else {}
    level = LEVELS.get(v["network_policy_pod_security"], 0)
    kept = []
    if wanted:
        for name in selected:
            ns = by_name.get(name)
            if ns is None:
                continue
            labels, owned = _labels(ns), _owned_labels(ns, manager)
            mine = {}
            for key, value in wanted.items():
                if key in labels and key not in owned and labels[key] != value:
                    if not key.endswith("-version") and LEVELS.get(labels[key], 0) < level:
                        kept.append("%s %s=%s" % (name, key, labels[key]))
                    continue
                mine[key] = value
            mine[PSA_MARKER] = instance
            if any(labels.get(k) != val for k, val in mine.items()) or not set(mine) <= owned:
                out["psa_apply"].append(_namespace(name, mine))
    if kept:
        warnings.append("Pod Security labels set by someone else were kept, though weaker than %r: %s" % (
            v["network_policy_pod_security"], ", ".join(kept)))
    for ns in namespaces:
        name = ns["metadata"]["name"]
        if _labels(ns).get(PSA_MARKER) == instance and not (wanted and name in selected):
            out["psa_release"].append(_namespace(name, {}))


def render_name(obj):
    """The manifest file of an object: kind, namespace and name joined by '_', which no
    Kubernetes name holds, so that two objects never share a file."""
    meta = obj["metadata"]
    parts = [obj["kind"].lower()] + ([meta["namespace"]] if meta.get("namespace") else []) + [meta["name"]]
    return "_".join(parts) + ".yaml"


def render_header(instance):
    """The first line of every manifest we write: what tells our files from others in the directory."""
    return "%s (instance %s). Written by Ansible; edits are overwritten." % (RENDER_MARK, instance)


def stale_manifests(directory_files, wanted, instance):
    """Files of ours (by their first line, of this instance) that this run does not write.
    ``directory_files`` is {file name: first line} of the render directory."""
    head = render_header(instance)
    return sorted(name for name, first in directory_files.items() if first == head and name not in wanted)


def _render(objects, selected, v):
    files = {}
    kinds = list(objects)
    if v["network_policy_pod_security"]:
        labels = _psa_labels(v)
        labels[PSA_MARKER] = v["network_policy_instance"]
        kinds += [_namespace(name, dict(labels)) for name in selected]
    for obj in kinds:
        files[render_name(obj)] = obj
    if len(files) != len(kinds):  # cannot happen with Kubernetes names; never lose an object silently
        raise spec.InputError("network_policy_render_dir: %d objects but %d file names" % (len(kinds), len(files)))
    return {name: json.loads(json.dumps(obj)) for name, obj in files.items()}
