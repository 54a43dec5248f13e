# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network_policy role's first task: check every input, read the cluster in
this process (every list at once, one client), and compute what changes."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import gather as gathering
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.network_policy import inputs as npi


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


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            values, _inventory, read, found, warnings, reader = gathering.gather(task_vars or {}, self._templar.template)
        except gathering.Refused as exc:
            result.update(gathering.failure(exc.errors, prefix=exc.prefix))
            return result
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
