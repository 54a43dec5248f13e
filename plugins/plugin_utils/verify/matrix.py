# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify report's reachability matrix: who reaches the Portworx ports, at a glance.

Rows are sources: each outside vantage point, each worker (reaching the others), loopback
on the workers, the pods of each protected namespace and the exempt system pods. Columns
are the guarded port ranges, one per protocol and range. A cell holds a state (what was
seen or judged: ``open``, ``blocked``, ``untested`` or ``error``), a verdict (``ok``: as
the roles intend; ``exposed``: open where it must be blocked; ``cut``: blocked where
Portworx needs it open; ``untested``; ``error``) and the reason in words.

The host rows come from real probes; the pod rows from the evaluator
(reachability.py) over every policy the cluster holds. Pure functions, no I/O; the page
is one self-contained HTML file, styles inline, readable offline."""

from __future__ import annotations

import html

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib

STATES = ("open", "blocked", "untested", "error")
VERDICTS = {
    "ok": "as intended",
    "exposed": "open where it must be blocked",
    "cut": "blocked where Portworx needs it open",
    "untested": "not tested",
    "error": "the probe could not be made",
}
COLOURS = {"ok": "#d4edda", "exposed": "#f8b4b4", "cut": "#ffe08a", "untested": "#e2e3e5", "error": "#f5c6cb"}


def cell(state, verdict, text):
    if state not in STATES or verdict not in VERDICTS:
        raise ValueError("cell %r %r" % (state, verdict))
    return {"state": state, "verdict": verdict, "text": text}


def columns(tcp, udp):
    """[{key, protocol, ranges}] for the guarded TCP and UDP port specs."""
    out = []
    for protocol, spec in (("TCP", tcp), ("UDP", udp)):
        for lo, hi in portlib.parse_ports(list(spec or [])):
            text = "%d" % lo if lo == hi else "%d-%d" % (lo, hi)
            out.append({"key": "%s %s" % (protocol, text), "protocol": protocol, "ranges": [(lo, hi)]})
    return out


def _in(column, protocol, port):
    return column["protocol"] == protocol.upper() and any(lo <= port <= hi for lo, hi in column["ranges"])


def _target(r):
    address = "[%s]" % r["address"] if ":" in r["address"] else r["address"]
    return "%s %s:%s" % (r["host"], address, r["port"])


def _probe_cell(column, results, expect_open, why_untested):
    mine = [r for r in results if _in(column, r.get("protocol") or "tcp", int(r["port"]))]
    if not mine:
        return cell("untested", "untested", why_untested)
    errors = [r for r in mine if r.get("outcome") == "error"]
    reached = [r for r in mine if r.get("reached")]
    if expect_open:
        if len(reached) < len(mine):
            return cell("blocked", "cut", "dropped: %s" % ", ".join(_target(r) for r in mine if not r.get("reached")))
        return cell("open", "ok", "reached %s" % ", ".join(_target(r) for r in mine))
    if reached:
        return cell("open", "exposed", "reached %s" % ", ".join(_target(r) for r in reached))
    if errors:
        return cell("error", "error", "; ".join("%s: %s" % (_target(r), r.get("error") or "error") for r in errors))
    return cell("blocked", "ok", "%d probes to %d workers dropped" % (len(mine), len({r["host"] for r in mine})))


def host_rows(cols, outside, peers, insiders=()):
    """Rows from the probes: ``outside`` {vantage: [result]}, ``peers`` {host: [result]}
    (targets with expect ``open`` and ``loopback``). ``insiders`` are vantage points that are
    allowed sources of the firewall: their view is no outsider's and is shown as untested."""
    rows = []
    for vantage in sorted(outside):
        results = [r for r in outside[vantage] if r.get("expect") == "blocked"]
        if vantage in insiders:
            cells = [cell("untested", "untested", "%s is an allowed source of the firewall" % vantage) for _c in cols]
        else:
            cells = [_probe_cell(c, results, False, "no probe of these ports from here") for c in cols]
        rows.append({"source": "outsider: %s" % vantage, "group": "hosts", "cells": cells})
    for host in sorted(peers):
        results = [r for r in peers[host] if r.get("expect") == "open"]
        if results:
            rows.append({"source": "worker: %s" % host, "group": "hosts", "cells": [
                _probe_cell(c, results, True, "workers probe the first TCP port of the others") for c in cols]})
    loopback = [r for host in sorted(peers) for r in peers[host] if r.get("expect") == "loopback"]
    if loopback:
        rows.append({"source": "loopback (each worker)", "group": "hosts", "cells": [
            _probe_cell(c, loopback, True, "loopback is probed on the first TCP port") for c in cols]})
    return rows


def _labels(labels):
    return ",".join("%s=%s" % kv for kv in sorted(labels.items())) or "no labels"


def _pod_cell(column, findings, exempt):
    if column["protocol"] not in {f["protocol"] for f in findings}:
        return cell("untested", "untested", "not judged: the policies guard TCP only, the host firewall guards "
                                            "this protocol")
    mine = [f for f in findings if f["protocol"] == column["protocol"]]
    opened, expected = {}, {}  # (ports, by) -> [label sets]: one line each
    for finding in mine:
        for item in finding["open"]:
            spans = portlib.intersect(column["ranges"], [tuple(s) for s in item["ports"]])
            if spans:
                by = ", ".join(p["text"] for p in item["by"]) or "no policy selects them"
                key = (",".join(portlib.range_strings(spans)), by)
                who = (expected if item.get("expected") or exempt else opened).setdefault(key, [])
                if _labels(finding["labels"]) not in who:
                    who.append(_labels(finding["labels"]))

    def lines(found):
        return "; ".join("%s reach %s (%s)" % (" | ".join(who), ports, by) for (ports, by), who in found.items())

    if exempt:  # every opening of exempt pods is expected
        if expected:
            return cell("open", "ok", "exempt: " + lines(expected))
        return cell("blocked", "cut", "exempt pods cannot reach these ports")
    if opened:
        return cell("open", "exposed", lines(opened))
    sets = "%d label set%s" % (len(mine), "" if len(mine) == 1 else "s")
    if expected:
        return cell("blocked", "ok", "blocked for every pod (%s) but the metrics access: %s" % (sets, lines(expected)))
    return cell("blocked", "ok", "blocked for every pod (%s)" % sets)


def pod_rows(cols, findings, system_namespace):
    """Rows from the evaluator's findings (verify.reachability_checks): one per protected
    namespace, and the exempt pods of the system namespace."""
    rows, by_namespace = [], {}
    for finding in findings:
        by_namespace.setdefault((finding["namespace"], finding.get("role") == "exempt"), []).append(finding)
    order = sorted(by_namespace, key=lambda k: (k[0] != system_namespace, k[0], k[1]))
    for namespace, exempt in order:
        found = by_namespace[(namespace, exempt)]
        source = "exempt pods: %s" % namespace if exempt else "pods: %s%s" % (
            namespace, " (not exempt)" if namespace == system_namespace else "")
        rows.append({"source": source, "group": "pods", "cells": [_pod_cell(c, found, exempt) for c in cols]})
    return rows


def build(cols, rows):
    return {"columns": [c["key"] for c in cols], "rows": rows}


def to_markdown(matrix):
    if not matrix or not matrix.get("rows"):
        return []
    marks = {"ok": "", "exposed": " **EXPOSED**", "cut": " **CUT**", "untested": "", "error": " **ERROR**"}
    lines = ["## Reachability", "", "Who reaches the guarded ports: probes for the hosts, every policy of the cluster "
             "for the pods.", "", "| source | %s |" % " | ".join(matrix["columns"]),
             "|---|" + "---|" * len(matrix["columns"])]
    for row in matrix["rows"]:
        lines.append("| %s | %s |" % (row["source"], " | ".join(
            "%s%s" % (c["state"], marks[c["verdict"]]) for c in row["cells"])))
    return lines + [""]


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>clusterguard.portworx verify: %(title)s</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#1b1b1b}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em}
.verdict{font-size:1.2em;padding:.4em .8em;display:inline-block;border-radius:4px}
.locked{background:#d4edda} .exposed-page{background:#f8b4b4}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #999;padding:.35em .6em;vertical-align:top;text-align:left}
th{background:#f0f0f0}
td.cell{min-width:9em}
td.cell .state{font-weight:bold;text-transform:uppercase;font-size:.85em}
td.cell .why{font-size:.8em;color:#333}
%(colours)s
.legend span{display:inline-block;padding:.2em .6em;margin-right:.6em;border:1px solid #999}
</style></head><body>
<h1>clusterguard.portworx verify report</h1>
<p class="verdict %(page_class)s">%(verdict)s</p>
<p>%(summary)s</p>
<h2>Reachability</h2>
<p class="legend">%(legend)s</p>
<table id="matrix"><thead><tr><th>source</th>%(heads)s</tr></thead><tbody>
%(rows)s
</tbody></table>
<h2>Checks</h2>
<table id="checks"><thead><tr><th>scope</th><th>subject</th><th>check</th><th>result</th><th>detail</th></tr></thead>
<tbody>
%(checks)s
</tbody></table>
</body></html>
"""


def to_html(report, matrix):
    """The report (verify.to_json) and the matrix as one self-contained page."""
    esc = html.escape
    matrix = matrix or {"columns": [], "rows": []}
    counts = report["summary"]
    rows = []
    for row in matrix["rows"]:
        cells = "".join(
            '<td class="cell v-%s" data-source="%s" data-column="%s" data-state="%s" data-verdict="%s">'
            '<div class="state">%s</div><div class="why">%s</div></td>' % (
                c["verdict"], esc(row["source"]), esc(col), c["state"], c["verdict"], esc(c["state"]), esc(c["text"]))
            for col, c in zip(matrix["columns"], row["cells"]))
        rows.append('<tr data-group="%s"><th>%s</th>%s</tr>' % (esc(row["group"]), esc(row["source"]), cells))
    checks = "\n".join(
        '<tr class="s-%s" data-status="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            c["status"], c["status"], esc(c["scope"]), esc(c["subject"]), esc(c["check"]), esc(c["status"]),
            esc(c["detail"])) for c in report["checks"])
    return PAGE % {
        "title": "EXPOSED" if report["exposed"] else "locked down",
        "page_class": "exposed-page" if report["exposed"] else "locked",
        "verdict": ("EXPOSED: %d failing checks" % counts["fail"]) if report["exposed"] else "Locked down",
        "summary": esc("%d checks: %d pass, %d fail, %d warn, %d info. Generated %s by %s." % (
            len(report["checks"]), counts["pass"], counts["fail"], counts["warn"], counts["info"], report["generated"],
            report["tool"])),
        "colours": "\n".join(".v-%s{background:%s}" % kv for kv in COLOURS.items()) + "\n" + "\n".join(
            "tr.s-%s td{background:%s}" % (s, c) for s, c in (("fail", COLOURS["exposed"]), ("warn", COLOURS["cut"]))),
        "legend": " ".join('<span class="v-%s">%s: %s</span>' % (v, v, esc(t)) for v, t in VERDICTS.items()),
        "heads": "".join("<th>%s</th>" % esc(c) for c in matrix["columns"]),
        "rows": "\n".join(rows),
        "checks": checks,
    }
