# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network_policy role's first task: check every input, read the cluster in
this process (every list at once, one client), and compute what changes."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster, netcalc, portworx, spec
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import network_policy_inputs as npi

CONNECTION = ("kubeconfig", "context", "host", "api_key", "validate_certs")


def first_lines(directory):
    """{file name: first line} of the manifests in ``directory`` (none when it does not exist)."""
    out = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return out
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(".yaml") and os.path.isfile(path) and not os.path.islink(path):
            try:
                with open(path) as handle:
                    out[name] = handle.readline().rstrip("\n")
            except (OSError, UnicodeDecodeError):
                continue
    return out


class Refused(Exception):
    """Inputs or a cluster read that stop the role before anything is changed."""

    def __init__(self, errors, prefix="bad input"):
        super().__init__("; ".join(errors))
        self.errors = errors
        self.prefix = prefix


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            values, _inventory, read, found, warnings, reader = self.gather(task_vars or {})
        except Refused as exc:
            return self._fail(result, exc.errors, prefix=exc.prefix)
        auth = {"kubeconfig": None, "temporary": False, "validate_certs": values["network_policy_validate_certs"]}
        if read is not None and (found["apply"] or found["prune"] or found["psa_apply"] or found["psa_release"]):
            # removed by the role's last task, or by a watcher when the play ends before it
            auth["kubeconfig"] = cluster.write_kubeconfig(reader.cfg, watch_pid=os.getppid())
            auth["temporary"] = True
        # A relative render directory is relative to where ansible-playbook runs (as the verify
        # reports are), not to the playbook's directory, where the copy module would put it.
        render_dir = values["network_policy_render_dir"]
        render_dir = os.path.abspath(os.path.expanduser(render_dir)) if render_dir else ""
        stale = npi.stale_manifests(first_lines(render_dir), found["files"], values["network_policy_instance"]) \
            if render_dir else []
        result.update(changed=False, warnings=warnings, auth=auth, render_dir=render_dir, render_stale=stale,
                      render_header=npi.render_header(values["network_policy_instance"]), **found)
        return result

    def gather(self, task_vars, extra=None, detail=False):
        """(values, inventory, read, plan, warnings, reader): the role's inputs checked,
        the cluster read (plus the ``extra`` lists), and the plan. Raises Refused."""
        options = spec.load_options(npi.ROLE)
        raw = {}
        for name in task_vars:
            if name.startswith((npi.PREFIX, portworx.PREFIX)) or name in portworx.RENAMED:
                try:
                    raw[name] = self._templar.template(task_vars[name])
                except Exception as exc:  # an undefined variable in the value, say
                    raise Refused(["%s cannot be read: %s" % (name, exc)]) from None
        values, errors = spec.resolve(options, raw)
        errors += portworx.renamed_errors(n for n in raw if n.startswith(npi.PREFIX))
        warnings = ["%s is set but is not a variable of the network_policy role (a typo?)" % n
                    for n in spec.unknown(npi.PREFIX, options, [n for n in raw if n not in portworx.RENAMED])]
        inventory = []
        if not errors:
            errors = npi.check(values)
        if not errors:
            inventory, problems = self._inventory(values, task_vars)
            errors.extend(problems)
        if errors:
            raise Refused(errors)

        reader, read = None, None
        if not values["network_policy_render_dir"]:
            conf = cluster.settings({k: values["network_policy_" + k] for k in CONNECTION})
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

    def _inventory(self, values, task_vars):
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

    @staticmethod
    def _fail(result, errors, prefix="bad input"):
        head = "network_policy: %s, nothing was changed" % ("%d %s(s)" % (len(errors), prefix) if prefix else "error")
        result.update(failed=True, errors=errors, msg="%s:\n- %s" % (head, "\n- ".join(errors)))
        return result
