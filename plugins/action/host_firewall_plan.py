# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_firewall role's first task: every input of every host of the play,
checked on the controller, in this process, before any host is contacted."""

from __future__ import annotations

import shlex
import subprocess

from ansible.plugins.action import ActionBase

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, portworx, spec
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.host_firewall import inputs as host_firewall_inputs
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import nodes as nodelib

SSH_CONNECTIONS = ("ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh",
                   "ansible.builtin.paramiko_ssh", "ansible.legacy.ssh")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        current = task_vars.get("inventory_hostname")
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or [current])
        options = spec.load_options(host_firewall_inputs.ROLE)
        try:
            task_level = self._task_level(options, task_vars, hostvars, current, self._templar)
        except Exception as exc:  # an undefined variable in a value, say
            result.update(failed=True, msg="host_firewall: a variable cannot be read: %s" % exc)
            return result
        ports_seen = {}
        default_connection = str(self._play_context.connection or "ssh")

        def read(host, var):
            try:
                hv = hostvars[host]
                return hv[var] if var in hv else None
            except Exception as exc:  # an undefined or broken template in the inventory
                raise spec.InputError("%s of host %s cannot be read: %s" % (var, host, exc)) from None

        def values_of(host):
            out = dict(task_level)
            hv = hostvars[host]
            for name in list(hv.keys()) if hasattr(hv, "keys") else []:
                if name.startswith((host_firewall_inputs.PREFIX, portworx.PREFIX)) and name not in out:
                    out[name] = read(host, name)
            return out

        def ssh_port_of(host):
            hv = hostvars[host]
            connection = str(hv["ansible_connection"]) if "ansible_connection" in hv else default_connection
            if connection not in SSH_CONNECTIONS:
                return None
            for var in ("ansible_port", "ansible_ssh_port"):
                if var in hv and hv[var] not in (None, ""):
                    try:
                        return int(hv[var])
                    except (TypeError, ValueError):
                        raise spec.InputError("%s of host %s: %r is not a port" % (var, host, hv[var])) from None
            address = str(hv["ansible_host"]) if "ansible_host" in hv else host
            args = []
            for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
                if var in hv and hv[var]:
                    args += shlex.split(str(hv[var]))
            key = (address, tuple(args))
            if key not in ports_seen:
                ports_seen[key] = _ssh_config_port(args, address)
            return ports_seen[key]

        clusters = {}

        def nodes_of(values, inventory):
            """Node source cluster: the Nodes' addresses (read once per connection). Node source
            inventory: warnings about Nodes the inventory lacks, when a cluster is configured."""
            given = {k: values["host_firewall_" + k] for k in cluster.CONNECTION}
            conf = cluster.settings(given)
            if inventory is not None and not (conf.get("kubeconfig") or conf.get("host")):
                return []
            key = repr(sorted(conf.items()))
            if key not in clusters:
                try:
                    reader = cluster.Reader(conf)
                    try:
                        clusters[key] = reader.get(cluster.path("v1", "nodes"))
                    finally:
                        reader.close()
                except cluster.ClusterError as exc:
                    clusters[key] = exc
            nodes = clusters[key]
            if isinstance(nodes, Exception):
                if inventory is not None:
                    return ["portworx_node_source is 'inventory'; the cluster could not be read to compare "
                            "its Nodes with the inventory: %s" % nodes]
                raise spec.InputError("portworx_node_source: 'cluster', but the cluster cannot be read (%s): %s"
                                      % (conf.get("kubeconfig") or "the default kubeconfig", nodes))
            if inventory is not None:
                missing = nodelib.node_drift(inventory, nodes)[0]
                return ["cluster Nodes %s are not in inventory group '%s', so their addresses are not allowed "
                        "sources and no run configures their firewall; with job slicing or a partial inventory, use "
                        "portworx_node_source: cluster" % (", ".join(missing), values["portworx_workers_group"])
                        ] if missing else []
            workers = nodelib.node_addresses(nodes)
            if not workers:
                raise spec.InputError("portworx_node_source: 'cluster', but the cluster's Node objects report "
                                      "no InternalIP address")
            return workers

        settings = {}

        def portworx_of(values):
            """The Portworx settings; with source storagecluster the cluster is read once per connection."""
            if values["portworx_source"] != "storagecluster":
                read_px = None
            else:
                conf = cluster.settings({k: values["host_firewall_" + k] for k in cluster.CONNECTION})
                key = repr(sorted(conf.items()))
                if key not in settings:
                    try:
                        reader = cluster.Reader(conf)
                        try:
                            settings[key] = reader.read(portworx.requests(values, cluster.path))
                        finally:
                            reader.close()
                    except cluster.ClusterError as exc:
                        settings[key] = spec.InputError(
                            "portworx_source: 'storagecluster', but the cluster cannot be read (%s): %s" % (
                                conf.get("kubeconfig") or "the default kubeconfig", exc))
                read_px = settings[key]
                if isinstance(read_px, Exception):
                    raise read_px
            try:
                return portworx.resolve(values, read_px)
            except portworx.PortworxError as exc:
                raise spec.InputError(str(exc)) from None

        try:
            found = host_firewall_inputs.plan(play_hosts, values_of, dict(task_vars.get("groups") or {}), read,
                                              ssh_port_of, nodes_of, portworx_of)
        except spec.InputError as exc:
            found = {"errors": [str(exc)]}
        if found.get("errors"):
            result.update(failed=True, errors=found["errors"],
                          msg="host_firewall: %d bad input(s), nothing was changed on any host:\n- %s"
                              % (len(found["errors"]), "\n- ".join(found["errors"])))
            return result
        for warning in found["warnings"]:
            self._display.warning(warning)
        result.update(changed=False, hosts=found["hosts"], addresses=found["addresses"],
                      serial=len(task_vars.get("ansible_play_batch") or play_hosts) < len(play_hosts))
        return result

    @staticmethod
    def _task_level(options, task_vars, hostvars, current, templar):
        """Role variables set for the whole task (role parameters, include_role vars,
        play or block vars): they differ from what the inventory gives this host, and
        apply to every host alike."""
        out = {}
        mine = hostvars[current] if current in hostvars else {}
        for name in options:
            if name not in task_vars:
                continue
            value = templar.template(task_vars[name])
            if name in mine and mine[name] == value:
                continue  # what the inventory gives this host
            if name not in mine and value == options[name].get("default"):
                continue  # the role's default
            out[name] = value
        return out


def _ssh_config_port(args, address):
    """The port ssh would connect to, after the user's ssh_config and -o/-p arguments."""
    try:
        proc = subprocess.run(["ssh", "-G"] + args + [address], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 22
    for line in proc.stdout.splitlines():
        if line.startswith("port "):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                break
    return 22
