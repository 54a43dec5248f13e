# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Portworx that a cluster runs, as every role of the collection sees it: the
ports it serves, worked out from its start port and version, and where those
settings come from (the inventory, or the cluster's StorageCluster object).

The ``portworx_*`` variables are shared by the host_firewall, network_policy and
verify roles, so the three always agree on what is guarded and where the nodes'
addresses come from. ``OPTIONS`` below is
their one definition; each role's meta/argument_specs.yml carries a copy for
ansible-doc, and a unit test keeps the copies equal to it.

The port map follows the Portworx operator (libopenstorage/operator,
``drivers/storage/portworx/util/util.go`` and ``component/portworx_basic.go``):

* the start port is 9001, 17001 on OpenShift, or the StorageCluster's
  ``spec.startPort``;
* with the default start: REST 9001, gossip 9002 (UDP too), KVDB 9019, SDK 9020,
  REST gateway 9021 and, from Portworx 2.9 on, the TLS REST API on 9023. The
  document guards 9001-9022; we add 9023;
* with any other start S: the range S to S+19 (KVDB S+15, SDK S+16, REST gateway
  S+17, TLS REST S+19), as Portworx's prerequisites list 17001-17020 on OpenShift;
* Prometheus scrapes the REST port and the KVDB port (the operator's ServiceMonitor)."""

from __future__ import annotations

import re

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc

PREFIX = "portworx_"
SOURCES = ("inventory", "storagecluster")
DEFAULT_START = 9001
OPENSHIFT_START = 17001
TLS_SINCE = (2, 9)
# The highest start port whose whole range (start + 22) is still a port.
MAX_START = portlib.PORT_MAX - 22
API_VERSION = "core.libopenstorage.org/v1"
PLURAL = "storageclusters"
OPENSHIFT_ANNOTATION = "portworx.io/is-openshift"
OPENSHIFT_API = "config.openshift.io/v1"

# The shared variables: their one definition (type, default, description).
OPTIONS = {
    "portworx_source": {
        "description": [
            "Where the Portworx settings come from. V(inventory) takes O(portworx_start_port), "
            "O(portworx_version) and O(portworx_namespace) as given.",
            "V(storagecluster) reads the cluster's one C(StorageCluster) (C(core.libopenstorage.org/v1)): its "
            "namespace, C(spec.startPort) (else 9001, or 17001 on OpenShift), the version in C(spec.image) and "
            "C(spec.security.enabled). Refused when the cluster holds none or more than one.",
        ],
        "type": "str", "choices": list(SOURCES), "default": "inventory",
    },
    "portworx_start_port": {
        "description": [
            "The first Portworx port (C(spec.startPort) of the StorageCluster): 9001, or 17001 on OpenShift.",
            "The guarded TCP ports follow from it: 9001-9023 for the default start, else the start port to the "
            "start port + 19. The UDP gossip port is the start port + 1.",
        ],
        "type": "int", "default": DEFAULT_START,
    },
    "portworx_version": {
        "description": [
            "The Portworx version, such as V(3.1.0). From 2.9 on Portworx serves its TLS REST API on 9023 (with "
            "the default start port); V('') (unknown) guards it too.",
        ],
        "type": "str", "default": "",
    },
    "portworx_namespace": {
        "description": [
            "The namespace Portworx and its components run in. It gets no user policy of ours; when it is the "
            "system namespace, the exempt components there keep reaching the ports.",
        ],
        "type": "str", "default": "portworx",
    },
    "portworx_extra_ports": {
        "description": [
            "More TCP ports to guard beside the ones that follow from the start port, such as the telemetry ports "
            "(V(9024), V(12001-12002)).",
        ],
        "type": "list", "elements": "str", "default": [],
    },
    "portworx_workers_group": {
        "description": [
            "Inventory group of the workers, the nodes Portworx runs on. With O(portworx_node_source=inventory) their "
            "addresses are the node addresses: the sources the host firewall allows, and the destinations the "
            "policies block.",
            "The host_firewall role configures the hosts of its play, whatever the node source.",
        ],
        "type": "str", "default": "workers",
    },
    "portworx_node_source": {
        "description": [
            "Where the node addresses come from, for both roles.",
            "V(inventory) takes them from the hosts of O(portworx_workers_group). When a cluster connection is "
            "configured, the roles also read the Nodes and warn by name about those the inventory lacks.",
            "V(cluster) reads the InternalIP addresses of every Node, once per play, on the controller. Use it with "
            "AWX or Automation Platform job slicing, or any inventory that holds only some of the workers, so that "
            "each slice allows every worker of the cluster and not only its own.",
            "V(list) takes O(portworx_node_addresses).",
        ],
        "type": "str", "choices": ["inventory", "cluster", "list"], "default": "inventory",
    },
    "portworx_node_addresses": {
        "description": [
            "The node addresses with O(portworx_node_source=list), one host address each (IPv4 or IPv6). A network is "
            "refused: other hosts go in C(host_firewall_extra_sources), the document's blanket subnet comes from "
            "C(network_policy_node_cidr_mode=subnet).",
        ],
        "type": "list", "elements": "str", "default": [],
    },
    "portworx_node_address_vars": {
        "description": [
            "Host variables that hold a worker's cluster address, in order of preference. Per family (IPv4, IPv6) "
            "the first variable that holds an address of that family wins, and later ones of the same family are "
            "ignored, so C([node_ip, node_ipv6]) gives a dual-stack node both addresses while a management address "
            "in C(ansible_host) is not allowed in.",
            "A worker without any of them counts with its inventory name when that is an address.",
            "Each value must be the address of one host; a network (C(10.0.0.16/28)), an IPv4-mapped IPv6 address, "
            "loopback, multicast and unspecified addresses are refused.",
        ],
        "type": "list", "elements": "str", "default": ["ansible_host"],
    },
}

# Variables of 2.x that these replace: set, they stop the run with the way forward.
RENAMED = {
    "host_firewall_ports": "portworx_start_port (17001 on OpenShift) and portworx_extra_ports",
    "network_policy_ports": "portworx_start_port (17001 on OpenShift) and portworx_extra_ports",
    "network_policy_portworx_namespace": "portworx_namespace",
}
for _role in ("host_firewall", "network_policy"):
    for _name in ("workers_group", "node_source", "node_addresses", "node_address_vars"):
        RENAMED["%s_%s" % (_role, _name)] = "portworx_" + _name

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


class PortworxError(ValueError):
    """Settings or a StorageCluster that the ports cannot be worked out from."""


def version_of_image(image):
    """The version in an image reference's tag (``portworx/oci-monitor:3.1.2`` gives ``3.1.2``), or ''."""
    if not isinstance(image, str) or "@" in image.rsplit("/", 1)[-1]:
        return ""
    tail = image.rsplit("/", 1)[-1]
    if ":" not in tail:
        return ""
    match = _VERSION.match(tail.rsplit(":", 1)[1])
    return ".".join(g for g in match.groups() if g is not None) if match else ""


def _version_tuple(version):
    match = _VERSION.match(version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_error(version):
    if version in ("", None):
        return None
    if not isinstance(version, str) or not _VERSION.match(version):
        return "%r is not a Portworx version such as '3.1.0'" % (version,)
    return None


def start_error(start):
    if isinstance(start, bool) or not isinstance(start, int) or not 1 <= start <= MAX_START:
        return "%r must be a port from 1 to %d (the range reaches 22 ports above it)" % (start, MAX_START)
    return None


def port_map(start=DEFAULT_START, version=""):
    """Every port of a Portworx: {"tcp", "udp", "metrics"} as merged (first, last) lists, and
    "named": {role: port}. An unknown version is taken as a current one."""
    error = start_error(start) or version_error(version)
    if error:
        raise PortworxError(error)
    parsed = _version_tuple(version)
    tls = parsed is None or parsed >= TLS_SINCE
    if start == DEFAULT_START:
        kvdb, sdk, gateway, tls_port = 9019, 9020, 9021, 9023
        tcp = [(9001, 9022)] + ([(9023, 9023)] if tls else [])
    else:
        kvdb, sdk, gateway, tls_port = start + 15, start + 16, start + 17, start + 19
        tcp = [(start, start + 19)]
    named = {"rest": start, "gossip": start + 1, "kvdb": kvdb, "sdk": sdk, "rest_gateway": gateway}
    if tls:
        named["tls_rest"] = tls_port
    return {"tcp": portlib.parse_ports(["%d-%d" % r for r in tcp]), "udp": [(start + 1, start + 1)],
            "metrics": portlib.parse_ports([start, kvdb]), "named": named}


def requests(values, path):
    """The lists this needs from the cluster, as the Reader takes them ({key: (path, selector, missing_ok)})."""
    if values.get("portworx_source") != "storagecluster":
        return {}
    # OpenShift: its config API in discovery, which every authenticated user may read (a list of
    # its objects could be forbidden, and a 403 would not tell served from not served).
    return {"storageclusters": (path(API_VERSION, PLURAL), None, True),
            "openshift": ("/apis/" + OPENSHIFT_API, None, True)}


def _storagecluster(read):
    items = read.get("storageclusters")
    if items is None:
        raise PortworxError("portworx_source: 'storagecluster', but the cluster serves no StorageCluster kind (%s, CRD "
                            "%s.core.libopenstorage.org): is the Portworx operator installed? Use portworx_source "
                            "'inventory' with portworx_start_port and portworx_version instead" % (API_VERSION, PLURAL))
    names = ["%s/%s" % ((i.get("metadata") or {}).get("namespace"), (i.get("metadata") or {}).get("name"))
             for i in items]
    if not items:
        raise PortworxError("portworx_source: 'storagecluster', but the cluster holds no StorageCluster; use "
                            "portworx_source 'inventory' with portworx_start_port and portworx_version")
    if len(items) > 1:
        raise PortworxError("portworx_source: 'storagecluster', but the cluster holds %d StorageClusters (%s); use "
                            "portworx_source 'inventory' and say which Portworx to guard" % (len(items), ", ".join(sorted(names))))
    return items[0], names[0]


def input_errors(values):
    """Errors of the ``portworx_*`` values that need no cluster to find: the extra ports and,
    unless the StorageCluster gives them, the start port and the version. Both roles check
    these before they read anything, so that bad input never waits on a cluster."""
    errors = []
    try:
        portlib.parse_ports(values["portworx_extra_ports"])
    except portlib.PortSpecError as exc:
        errors.append("portworx_extra_ports: %s" % exc)
    if values["portworx_source"] != "storagecluster":
        for name, error in (("portworx_start_port", start_error(values["portworx_start_port"])),
                            ("portworx_version", version_error(values["portworx_version"]))):
            if error:
                errors.append("%s: %s" % (name, error))
    return errors


def resolve(values, read=None):
    """The Portworx settings every role works with, from the ``portworx_*`` values (checked by
    the spec) and, with source ``storagecluster``, what was read (``requests``).

    Returns {source, storagecluster, namespace, start_port, version, security, tcp, udp,
    metrics, named}; port lists as range strings. Raises PortworxError naming the variable."""
    source = values["portworx_source"]
    security, where = None, None
    if source == "storagecluster":
        if read is None:
            raise PortworxError("portworx_source: 'storagecluster' needs the cluster, which is not read here (render "
                                "mode?); use portworx_source 'inventory'")
        obj, where = _storagecluster(read)
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        openshift = (meta.get("annotations") or {}).get(OPENSHIFT_ANNOTATION) == "true" or read.get("openshift") is not None
        start = spec.get("startPort") or (OPENSHIFT_START if openshift else DEFAULT_START)
        version = version_of_image(spec.get("image"))
        namespace = meta.get("namespace")
        security = bool((spec.get("security") or {}).get("enabled"))
        error = start_error(start)
        if error:
            raise PortworxError("spec.startPort of StorageCluster %s: %s" % (where, error))
    else:
        start, version, namespace = values["portworx_start_port"], values["portworx_version"], values["portworx_namespace"]
        for name, error in (("portworx_start_port", start_error(start)), ("portworx_version", version_error(version))):
            if error:
                raise PortworxError("%s: %s" % (name, error))
    try:
        extra = portlib.parse_ports(values["portworx_extra_ports"])
    except portlib.PortSpecError as exc:
        raise PortworxError("portworx_extra_ports: %s" % exc) from None
    found = port_map(start, version)
    tcp = portlib.parse_ports(["%d-%d" % r for r in found["tcp"] + extra])
    return {"source": source, "storagecluster": where, "namespace": namespace, "start_port": start,
            "version": version, "security": security, "tcp": portlib.range_strings(tcp),
            "udp": portlib.range_strings(found["udp"]), "metrics": portlib.range_strings(found["metrics"]),
            "named": found["named"]}


def node_address_error(value):
    """Why ``value`` of portworx_node_addresses is not one node's address, or None. A network is
    refused: the host firewall would let all of it in (networks of other hosts belong in
    host_firewall_extra_sources, a blanket subnet in network_policy_node_cidr_mode)."""
    if not isinstance(value, str):
        return "%r is not an IP address" % (value,)
    return netcalc.host_address_error(value)


def node_addresses_error(values):
    """The error naming portworx_node_addresses for its first value that is not one node's address, or None."""
    for value in values:
        error = node_address_error(value)
        if error:
            return "portworx_node_addresses: %s" % error
    return None


def renamed_errors(names):
    """Errors for variables of 2.x that the inventory still sets."""
    return ["%s was replaced in 3.0.0 by %s; remove it (its value is no longer read)" % (name, RENAMED[name])
            for name in sorted(names) if name in RENAMED]
