# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify role's last task: every finding as a check, written as JSON, Markdown and
JUnit XML on the controller; fails the play when anything is exposed."""

from __future__ import annotations

import json
import os

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import matrix
from ansible_collections.clusterguard.portworx.plugins.plugin_utils.verify import checks as verify


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        hostvars = task_vars["hostvars"]
        plan = args.get("firewall") or {}
        hosts = plan.get("hosts") or {}
        checks = []
        for host in args.get("hosts") or sorted(hosts):
            hv = hostvars[host] if host in hostvars else {}
            found = hv[args["host_result"]] if args["host_result"] in hv else None
            checks += verify.host_checks(host, hosts.get(host) or {}, found)
        outside = {}
        for item in (args.get("outside") or {}).get("results") or []:
            vantage = item.get("item") or "controller"
            if vantage == "localhost":
                vantage = "controller"
            if item.get("failed") or item.get("unreachable"):
                checks.append(verify.check("cluster", "probes from %s" % vantage, "probe", "fail",
                                           "the probe could not run: %s" % item.get("msg", "?")))
                continue
            outside[vantage] = item.get("results") or []
        peers = {}
        for host in args.get("hosts") or sorted(hosts):
            hv = hostvars[host] if host in hostvars else {}
            found = hv[args["peer_result"]] if args["peer_result"] in hv else None
            if found and not found.get("skipped"):
                if found.get("failed") or found.get("unreachable"):
                    checks.append(verify.check("node", host, "reaches_workers", "fail",
                                               "the probe could not run: %s" % found.get("msg", "?")))
                else:
                    peers[host] = found.get("results") or []
        checks += verify.probe_checks(hosts, outside, peers)
        cluster = args.get("cluster") or {}
        checks += cluster.get("checks") or []
        table = verify.reachability_matrix(hosts, outside, peers, cluster)
        paths = {}
        report = verify.to_json(checks, matrix=table, findings=cluster.get("reachability"))
        renderers = {
            "json": lambda: json.dumps(report, indent=2, sort_keys=True) + "\n",
            "markdown": lambda: verify.to_markdown(checks, matrix=table),
            "junit": lambda: verify.to_junit(checks),
            "html": lambda: matrix.to_html(report, table),
        }
        for kind, render in renderers.items():
            path = args.get(kind)
            if not path:
                continue
            path = os.path.abspath(os.path.expanduser(to_text(path)))
            directory = os.path.dirname(path)
            try:
                if not os.path.isdir(directory):
                    os.makedirs(directory, mode=0o755)
                with open(path, "w") as handle:
                    handle.write(render())
            except OSError as exc:
                result.update(failed=True, msg="verify_report_%s: %s cannot be written: %s" % (kind, path, exc))
                return result
            paths[kind] = path
        counts = verify.summary(checks)
        failing = [c for c in checks if c["status"] == "fail"]
        result.update(changed=False, summary=counts, exposed=bool(failing), paths=paths,
                      failing=["%s %s: %s" % (c["subject"], c["check"], c["detail"]) for c in failing],
                      markdown=verify.to_markdown(checks, matrix=table), matrix=table)
        if failing:
            result["msg"] = "verify: %d of %d checks fail, the cluster is exposed:\n- %s\nreports: %s" % (
                len(failing), len(checks), "\n- ".join(result["failing"]), ", ".join(paths.values()) or "none")
            result["failed"] = bool(args.get("fail_on_exposure", True))
        else:
            result["msg"] = "verify: %d checks, %d fail, %d warn; reports: %s" % (
                len(checks), counts["fail"], counts["warn"], ", ".join(paths.values()) or "none")
        return result
