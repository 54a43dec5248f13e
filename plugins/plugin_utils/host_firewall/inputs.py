# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every input of the host_firewall role, checked for every host of the play
on the controller, and the port_firewall arguments that follow from them.

Types, choices and defaults come from the role's meta/argument_specs.yml
(``spec``); the rules here say what a value means: a source that lets
everyone in, a node address that is a network, a chain name iptables owns, a
guarded port that is the SSH port. Errors name the variable, the value and
the hosts. Nothing here touches a host."""

from __future__ import annotations

import functools
import re

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import nft
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, netcalc, portworx, spec

ROLE = "host_firewall"
PREFIX = ROLE + "_"
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Errors:
    """Errors of many hosts, each reported once with the hosts it applies to."""

    def __init__(self):
        self.items = {}

    def add(self, message, host):
        self.items.setdefault(message, []).append(host)

    def messages(self, all_hosts):
        out = []
        for message, hosts in self.items.items():
            if len(hosts) == len(all_hosts) and len(all_hosts) > 1:
                out.append("%s (every host)" % message)
            else:
                out.append("%s (host %s)" % (message, ", ".join(hosts)))
        return out


def _sources(values, allow_wide):
    out = []
    for value in values:
        try:
            netcalc.parse_network(value)
            error = None if allow_wide else netcalc.wide_error(value)
        except netcalc.AddressError as exc:
            error = str(exc)
        if error:
            hint = "" if "holds" not in error else "; set host_firewall_allow_wide_sources: true if you mean it"
            raise spec.InputError("host_firewall_extra_sources: %s%s" % (error, hint))
        out.append(value)
    return out


@functools.lru_cache(maxsize=16)
def _merged(workers, extra, allow_wide):
    """The allowed sources, checked and merged once for every host that shares them (a play's
    hosts mostly do): 200 hosts with 12,000 extra sources took minutes when each host did it."""
    return tuple(netcalc.node_cidrs(list(workers) + _sources(extra, allow_wide)))


def host_plan(values, workers, ssh_port, px=None):
    """(port_firewall arguments, warnings) for one host; InputError on the first bad value.

    ``values`` are the role variables as the spec checked them; ``workers`` is
    [(worker, var, address)] from the inventory; ``ssh_port`` the port Ansible
    connects to this host on (None when not over SSH); ``px`` the Portworx settings
    (``portworx.resolve``; from the inventory values when None)."""
    warnings = []
    state = values["host_firewall_state"]
    chain = values["host_firewall_chain"]
    error = fw.chain_error(chain)
    if error:
        raise spec.InputError("host_firewall_chain: %s" % error)
    if values["host_firewall_backend"] == "nftables" and nft.table_error(chain):
        raise spec.InputError("host_firewall_chain: %s (host_firewall_backend is nftables)" % nft.table_error(chain))
    error = fw.watchdog_error(values["host_firewall_watchdog_interval"])
    if error:
        raise spec.InputError("host_firewall_watchdog_interval: %s" % error)
    error = fw.persist_dir_error(values["host_firewall_persist_dir"])
    if error or values["host_firewall_persist_dir"] == "":
        raise spec.InputError("host_firewall_persist_dir: %s" % (error or "'' is not a directory; set host_firewall_persist: false to keep nothing on disk"))
    args = {
        "chain": chain,
        "state": state,
        "persist": values["host_firewall_persist"],
        "persist_dir": values["host_firewall_persist_dir"],
        "boot_unit": values["host_firewall_boot_unit"],
        "watchdog": values["host_firewall_watchdog"],
        "watchdog_interval": values["host_firewall_watchdog_interval"],
        "ipset": values["host_firewall_ipset"],
        "backend": values["host_firewall_backend"],
        "ip_versions": ["ipv4", "ipv6"] if values["host_firewall_ipv6"] else ["ipv4"],
        "protocols": values["host_firewall_protocols"],
    }
    if state == "absent":
        return args, warnings
    protocols = values["host_firewall_protocols"]
    if not protocols:
        raise spec.InputError("host_firewall_protocols: [] guards nothing; give tcp, udp or both")
    if px is None:
        try:
            px = portworx.resolve(values)
        except portworx.PortworxError as exc:
            raise spec.InputError(str(exc)) from None
    tcp, udp = portlib.parse_ports(px["tcp"]), portlib.parse_ports(px["udp"])
    if ssh_port is not None and "tcp" in protocols:
        clash = portlib.intersect(tcp, [(ssh_port, ssh_port)])
        if clash:
            raise spec.InputError(
                "portworx_start_port and portworx_extra_ports: the guarded TCP ports %s include %d, the SSH port Ansible "
                "connects on: guarding it would cut the connection" % (",".join(px["tcp"]), ssh_port))
    ranges = tcp if "tcp" in protocols else udp
    args["protocols"] = ["tcp"] if "tcp" in protocols else ["udp"]
    args["udp_ports"] = portlib.range_strings(udp) if "tcp" in protocols and "udp" in protocols else []
    sources = _merged(tuple(a for _w, _v, a in workers), tuple(values["host_firewall_extra_sources"]),
                      bool(values["host_firewall_allow_wide_sources"]))
    if not values["host_firewall_ipv6"] and netcalc.node_cidrs(sources, 6):
        warnings.append("host_firewall_ipv6 is false: IPv6 sources %s are not used and ip6tables is left alone"
                        % ", ".join(netcalc.node_cidrs(sources, 6)))
    args.update(ports=portlib.range_strings(ranges), sources=list(sources))
    return args, warnings


def check_common(values):
    """Checks of values the whole play shares: the workers group and the address variables."""
    names = values["portworx_node_address_vars"]
    if not names:
        raise spec.InputError("portworx_node_address_vars: [] names no variable; the default is ['ansible_host']")
    for name in names:
        if not VAR_NAME.match(name):
            raise spec.InputError("portworx_node_address_vars: %r is not a variable name" % (name,))
    error = cluster.url_error("host_firewall_host", values.get("host_firewall_host"))
    if error:
        raise spec.InputError(error)


def _listed(values):
    """[(name, var, address)] of portworx_node_addresses; InputError on the first bad one."""
    if not values:
        raise spec.InputError("portworx_node_source: 'list' needs portworx_node_addresses, which is empty")
    error = portworx.node_addresses_error(values)
    if error:
        raise spec.InputError(error)
    return [(value, "portworx_node_addresses", str(netcalc.parse_network(value).ip)) for value in values]


def plan(play_hosts, values_of, groups, hostvar, ssh_port_of, nodes_of=None, portworx_of=None):
    """Check every host of the play; return {"hosts": {host: args}, "warnings": [...],
    "addresses": {worker: [address]}} or {"errors": [...]}.

    ``values_of(host)`` gives the raw role variables of a host, ``groups`` the
    inventory groups, ``hostvar(host, var)`` one host variable, ``ssh_port_of(host)``
    the SSH port of a host (or None). ``nodes_of(values, inventory)`` reads the
    cluster: with ``inventory`` None it returns the workers of node source
    ``cluster``; else warnings about Nodes the inventory lacks. ``portworx_of(values)``
    gives the Portworx settings (``portworx.resolve``), reading the StorageCluster
    when asked; without it they come from the values alone."""
    options = spec.load_options(ROLE)
    errors, warnings, out = Errors(), [], {}
    worker_cache = {}
    for host in play_hosts:
        raw = values_of(host)
        values, problems = spec.resolve(options, raw)
        problems += portworx.renamed_errors(raw)
        for unknown in spec.unknown(PREFIX, options, [n for n in raw if n not in portworx.RENAMED]):
            warnings.append("%s is set but is not a variable of the host_firewall role (a typo?)" % unknown)
        for problem in problems:
            errors.add(problem, host)
        if problems:
            continue
        try:
            check_common(values)
            workers = []
            group = values["portworx_workers_group"]
            members = groups.get(group) or []
            key = (group, tuple(values["portworx_node_address_vars"]))
            if members and key not in worker_cache:
                worker_cache[key] = netcalc.inventory_addresses(members, hostvar, list(key[1]))
            source = values["portworx_node_source"]
            if values["host_firewall_state"] == "present" and source == "inventory":
                if not members:
                    raise spec.InputError("portworx_workers_group: %r is not a group of this inventory, "
                                          "or has no hosts" % (group,))
                found, bad = worker_cache[key]
                if bad:
                    raise spec.InputError("portworx_node_address_vars: %s" % bad[0])
                workers = found
                if nodes_of is not None:
                    warnings.extend(nodes_of(values, found))
            elif values["host_firewall_state"] == "present" and source == "list":
                workers = _listed(values["portworx_node_addresses"])
            elif values["host_firewall_state"] == "present":
                if nodes_of is None:
                    raise spec.InputError("portworx_node_source: 'cluster' cannot be read here")
                workers = nodes_of(values, None)
            px = None
            if portworx_of is not None and values["host_firewall_state"] == "present":
                px = portworx_of(values)
            args, notes = host_plan(values, workers, ssh_port_of(host), px)
            warnings.extend(notes)
            out[host] = args
        except (spec.InputError, netcalc.AddressError) as exc:
            errors.add(str(exc), host)
    if errors.items:
        return {"errors": errors.messages(list(play_hosts))}
    addresses = {}
    for found, _bad in worker_cache.values():
        for worker, _var, address in found:  # the inventory's workers: the verify role probes only them
            if address not in addresses.setdefault(worker, []):
                addresses[worker].append(address)
    return {"hosts": out, "warnings": sorted(set(warnings)), "addresses": addresses}
