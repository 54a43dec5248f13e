# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port range arithmetic shared by the filters (controller) and the
port_firewall module (managed host). Pure Python, standard library only."""

from __future__ import annotations

import re

PORT_MIN = 1
PORT_MAX = 65535
# iptables multiport takes at most 15 ports, and a range counts as two.
MULTIPORT_SLOTS = 15

_SPEC = re.compile(r"^\s*(\d+)\s*(?:[:-]\s*(\d+)\s*)?$")


class PortSpecError(ValueError):
    """A port or port range that cannot be understood."""


def _parse_one(item):
    if isinstance(item, bool):
        raise PortSpecError("%r is not a port" % (item,))
    if isinstance(item, int):
        lo = hi = item
    elif isinstance(item, str):
        match = _SPEC.match(item)
        if not match:
            raise PortSpecError(
                "%r is not a port or range (use 9001, 9001-9022 or 9001:9022)" % (item,)
            )
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) else lo
    else:
        raise PortSpecError("%r is not a port or range" % (item,))
    for port in (lo, hi):
        if not PORT_MIN <= port <= PORT_MAX:
            raise PortSpecError(
                "%r is outside %d-%d" % (item, PORT_MIN, PORT_MAX)
            )
    if lo > hi:
        raise PortSpecError("%r starts after it ends" % (item,))
    return lo, hi


def parse_ports(spec):
    """Turn a port spec into sorted, merged, inclusive (first, last) tuples.

    ``spec`` is a port (int or string), a range string (``9001-9022`` or
    ``9001:9022``), a comma-separated string of those, or a list of ints and
    such strings. An empty list gives an empty list.
    """
    if isinstance(spec, str) and "," in spec:
        spec = [part for part in spec.split(",") if part.strip()]
    if not isinstance(spec, (list, tuple)):
        spec = [spec]
    ranges = sorted(_parse_one(item) for item in spec)
    merged = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def complement(ranges):
    """The ranges of 1-65535 that ``ranges`` (merged, sorted) leave out."""
    out = []
    nxt = PORT_MIN
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= PORT_MAX:
        out.append((nxt, PORT_MAX))
    return out


def intersect(ranges, other):
    """Ports present in both merged range lists, as merged ranges."""
    out = []
    i = j = 0
    while i < len(ranges) and j < len(other):
        lo = max(ranges[i][0], other[j][0])
        hi = min(ranges[i][1], other[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if ranges[i][1] < other[j][1]:
            i += 1
        else:
            j += 1
    return out


def multiport_groups(ranges):
    """Split ranges into ``--dports`` arguments that iptables multiport accepts."""
    groups, current, used = [], [], 0
    for lo, hi in ranges:
        text, cost = ("%d" % lo, 1) if lo == hi else ("%d:%d" % (lo, hi), 2)
        if used + cost > MULTIPORT_SLOTS:
            groups.append(",".join(current))
            current, used = [], 0
        current.append(text)
        used += cost
    if current:
        groups.append(",".join(current))
    return groups


def policy_ports(ranges, protocol="TCP"):
    """NetworkPolicy ``ports`` entries: ``port`` plus ``endPort`` for ranges."""
    out = []
    for lo, hi in ranges:
        entry = {"protocol": protocol, "port": lo}
        if hi != lo:
            entry["endPort"] = hi
        out.append(entry)
    return out


def range_strings(ranges):
    """Human form: ``9001-9022`` or ``9001``."""
    return ["%d" % lo if lo == hi else "%d-%d" % (lo, hi) for lo, hi in ranges]
