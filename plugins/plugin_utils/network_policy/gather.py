# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network_policy role wants, from the play's variables and one read of the cluster.

Two actions call it: network_policy_plan (to change the cluster) and verify_cluster (to judge
it, read-only), so that both agree on what is wanted. Templating is passed in as a function;
nothing here knows about action plugins."""

from __future__ import annotations

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, netcalc, portworx, spec
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import inputs as npi


class Refused(Exception):
    """Inputs or a cluster read that stop the role before anything is changed."""

    def __init__(self, errors, prefix="bad input"):
        super().__init__("; ".join(errors))
        self.errors = errors
        self.prefix = prefix


def failure(errors, prefix="bad input"):
    """The task result of a refusal: every error listed, and that nothing was changed."""
    head = "network_policy: %s, nothing was changed" % ("%d %s(s)" % (len(errors), prefix) if prefix else "error")
    return {"failed": True, "errors": errors, "msg": "%s:\n- %s" % (head, "\n- ".join(errors))}


def role_values(task_vars, template):
    """(values, errors, warnings): the role's variables (and the shared portworx_ ones) templated
    with ``template`` and resolved against the argument spec."""
    options = spec.load_options(npi.ROLE)
    raw = {}
    for name in task_vars:
        if name.startswith((npi.PREFIX, portworx.PREFIX)) or name in portworx.RENAMED:
            try:
                raw[name] = template(task_vars[name])
            except Exception as exc:  # an undefined variable in the value, say
                raise Refused(["%s cannot be read: %s" % (name, exc)]) from None
    values, errors = spec.resolve(options, raw)
    errors += portworx.renamed_errors(n for n in raw if n.startswith(npi.PREFIX))
    warnings = ["%s is set but is not a variable of the network_policy role (a typo?)" % n
                for n in spec.unknown(npi.PREFIX, options, [n for n in raw if n not in portworx.RENAMED])]
    return values, errors, warnings


def inventory_addresses(values, task_vars):
    """([(host, var, address)] of the workers group, errors)."""
    group = values["portworx_workers_group"]
    hosts = (task_vars.get("groups") or {}).get(group) or []
    needed = values["portworx_node_source"] == "inventory" and values["network_policy_state"] == "present"
    if not hosts:
        if needed:
            return [], ["portworx_workers_group: %r is not a group of this inventory, or has no hosts "
                        "(portworx_node_source is 'inventory')" % (group,)]
        return [], []
    hostvars = task_vars["hostvars"]

    def lookup(host, var):
        hv = hostvars[host]
        return hv[var] if var in hv else None

    found, bad = netcalc.inventory_addresses(hosts, lookup, values["portworx_node_address_vars"])
    if bad and needed:
        return [], ["portworx_node_address_vars: %s" % b for b in bad[:5]]
    return found, []


def gather(task_vars, template, extra=None, detail=False):
    """(values, inventory, read, plan, warnings, reader): the role's inputs checked, the cluster
    read (plus the ``extra`` lists) and the plan; ``read`` is None in render mode. Raises Refused."""
    values, errors, warnings = role_values(task_vars, template)
    inventory = []
    if not errors:
        errors = npi.check(values)
    if not errors:
        inventory, problems = inventory_addresses(values, task_vars)
        errors.extend(problems)
    if errors:
        raise Refused(errors)

    reader, read = None, None
    if not values["network_policy_render_dir"]:
        conf = cluster.settings({k: values["network_policy_" + k] for k in cluster.CONNECTION})
        try:
            reader = cluster.Reader(conf)
            wanted = npi.requests(values)
            wanted.update(extra or {})
            read = reader.read(wanted)
        except cluster.ClusterError as exc:
            where = conf.get("kubeconfig") or "the default kubeconfig"
            if conf.get("context"):
                where += ", context %s" % conf["context"]
            raise Refused(["cannot read the cluster (%s): %s" % (where, exc)], prefix="") from None
        finally:
            if reader:
                reader.close()
    try:
        found, notes = npi.plan(values, inventory, read, detail=detail)
    except (spec.InputError, netcalc.AddressError) as exc:
        raise Refused([str(exc)]) from None
    warnings.extend(notes)
    return values, inventory, read, found, warnings, reader
