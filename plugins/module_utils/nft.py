# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables back-end of port_firewall: a table of our own in the ``inet`` family.

One table guards both families: a named interval set of allowed sources per family, and a
base chain on the input hook that lets loopback and those sources pass and drops the rest
bound for the guarded ports. It is applied as one ``nft -f`` transaction that deletes and
defines the whole table, so nothing is ever half-loaded, and it is persisted as the same text.

A table of our own is not in the filter table that kube-router, k3s or Docker restore whole,
and firewalld 1.x flushes only its own tables on a reload, so neither undoes it.

Every rule carries the comment MARKER; the loopback rule also carries a digest of the rules
as written, which tells our rules as we wrote them from anything else. A table is ours when it
has rules and every rule carries the marker. Pure functions over strings and parsed JSON, so
they are unit tested without a kernel; the module runs ``nft``."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw

FAMILY = "inet"
CHAIN = "input"
# Before the iptables-nft filter table (priority 0) and firewalld (filter + 10). A drop in any
# base chain is final, so the order only saves the work of the later ones.
PRIORITY = -10
# Per address family: the set, its type, and the payload protocol of its source address.
SETS = {"ipv4": ("v4", "ipv4_addr", "ip"), "ipv6": ("v6", "ipv6_addr", "ip6")}
# nft reads a name that starts with a digit as a number
TABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class NftError(ValueError):
    """nft printed something that is not a ruleset."""


def table_error(name):
    """Why ``name`` (the chain setting) cannot name our nftables table, or None."""
    if not isinstance(name, str) or not TABLE_RE.fullmatch(name):
        return "%r cannot name an nftables table: it must start with a letter or '_'" % (name,)
    return None


def _ports(ranges):
    items = ["%d" % lo if lo == hi else "%d-%d" % (lo, hi) for lo, hi in ranges]
    return "{ %s }" % ", ".join(items)


def rules(port_ranges, protocols, ip_versions, udp_ranges=()):
    """The rules of our base chain, without their comments, in the order nft keeps them."""
    out = ['iif "lo" accept']
    for ip_version in fw.FAMILY:
        if ip_version not in ip_versions:
            continue
        name, _type, proto = SETS[ip_version]
        for l4, ranges in fw.guarded(port_ranges, protocols, udp_ranges):
            out.append("meta nfproto %s %s dport %s %s saddr != @%s drop" % (ip_version, l4, _ports(ranges), proto, name))
    return out


def digest(table, rule_texts):
    """A short digest of the rules as written (not the set members, which are compared one by one)."""
    text = json.dumps([table, FAMILY, CHAIN, PRIORITY, rule_texts])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def definition(table, sources, port_ranges, protocols, ip_versions, udp_ranges=()):
    """The text that defines our whole table (after ``delete table``)."""
    texts = rules(port_ranges, protocols, ip_versions, udp_ranges)
    lines = ["table %s %s {" % (FAMILY, table)]
    for ip_version in fw.FAMILY:
        if ip_version not in ip_versions:
            continue
        name, kind, _proto = SETS[ip_version]
        members = sources.get(ip_version) or []
        elements = " elements = { %s };" % ", ".join(members) if members else ""
        lines.append("  set %s { type %s; flags interval;%s }" % (name, kind, elements))
    lines.append("  chain %s {" % CHAIN)
    lines.append("    type filter hook input priority %d; policy accept;" % PRIORITY)
    comments = ["%s %s" % (fw.MARKER, digest(table, texts))] + [fw.MARKER] * (len(texts) - 1)
    lines.extend('    %s comment "%s"' % (text, comment) for text, comment in zip(texts, comments))
    lines.extend(["  }", "}"])
    return "\n".join(lines) + "\n"


def payload(table=None, text="", stale=()):
    """One ``nft -f`` transaction: our table replaced by ``text`` (``table inet T {}`` first,
    so that the delete finds a table whether or not one exists), and ``stale`` tables of ours
    deleted. All of it applies, or none."""
    lines = []
    if table:
        lines.extend(["table %s %s {}" % (FAMILY, table), "delete table %s %s" % (FAMILY, table)])
    lines.extend("delete table %s %s" % (FAMILY, name) for name in stale)
    return "\n".join(lines) + "\n" + text if text else "\n".join(lines) + "\n"


def persisted_file(table, text):
    """{file name: content}: the transaction the boot unit loads with ``nft -f``."""
    return {"%s.nft" % table: fw.file_header(table, FAMILY, "nftables table") + payload(table, text) + fw.FILE_END + "\n"}


# -- reading ------------------------------------------------------------------
def _element(item):
    """One set element of ``nft -j`` output as a network string."""
    if isinstance(item, dict) and "elem" in item:
        item = item["elem"].get("val")
    if isinstance(item, str):
        return [str(ipaddress.ip_network(item, strict=False))]
    if isinstance(item, dict) and "prefix" in item:
        return [str(ipaddress.ip_network("%s/%s" % (item["prefix"]["addr"], item["prefix"]["len"]), strict=False))]
    if isinstance(item, dict) and "range" in item:
        low, high = (ipaddress.ip_address(a) for a in item["range"])
        return [str(n) for n in ipaddress.summarize_address_range(low, high)]
    raise NftError("a set element nft printed is not an address: %r" % (item,))


@dataclass
class Table:
    """One table of ``nft -j list ruleset``: its sets (members as networks), chains and rules."""

    family: str
    name: str
    sets: dict = field(default_factory=dict)
    chains: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)

    @property
    def ours(self):
        return bool(self.rules) and all((r.get("comment") or "").startswith(fw.MARKER) for r in self.rules)


def parse_ruleset(text):
    """{(family, name): Table} of ``nft -j list ruleset`` output."""
    try:
        items = json.loads(text or "{}").get("nftables") or []
    except (ValueError, AttributeError) as exc:
        raise NftError("nft -j list ruleset printed no JSON ruleset (%s)" % exc) from None
    if not isinstance(items, list):
        raise NftError("nft -j list ruleset printed no JSON ruleset (nftables is %r)" % (items,))
    tables = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        for kind, obj in item.items():
            if kind == "table":
                tables[(obj.get("family"), obj.get("name"))] = Table(obj.get("family"), obj.get("name"))
                continue
            if kind not in ("set", "chain", "rule"):
                continue
            table = tables.setdefault((obj.get("family"), obj.get("table")), Table(obj.get("family"), obj.get("table")))
            if kind == "set":
                try:
                    members = [n for e in obj.get("elem") or [] for n in _element(e)]
                except ValueError:
                    members = None  # not a set of addresses: not one of ours
                table.sets[obj.get("name")] = members
            elif kind == "chain":
                table.chains[obj.get("name")] = obj
            else:
                table.rules.append(obj)
    return tables


@dataclass
class NftPlan:
    """What our nftables table needs: read, planned, and the transaction that makes it so."""

    wanted: bool
    table: str
    exists: bool = False
    stale: List[str] = field(default_factory=list)
    text: str = ""
    want_rules: List[str] = field(default_factory=list)
    have_rules: List[str] = field(default_factory=list)
    rules_changed: bool = False
    set_drift: List[str] = field(default_factory=list)
    sources: dict = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def changed(self):
        return self.rules_changed or bool(self.set_drift) or bool(self.stale)

    def payload(self):
        return payload(self.table if self.wanted else None, self.text if self.wanted else "", self.stale)

    def drift(self, ip_version):
        """What differs for one family, in the words of the iptables back-end's drift."""
        out = []
        if self.wanted and self.rules_changed:
            out.append("rules")
        if ip_version in self.set_drift:
            out.append("set")
        if self.stale:
            out.append("stale")
        return out


def rule_text(rule):
    """A rule of ``nft -j`` output in short words, for diffs: its verdict and comment."""
    verdict = next((k for e in rule.get("expr") or [] for k in e if k in ("accept", "drop", "return", "jump")), "?")
    return "%s (%d expressions) comment %s" % (verdict, len(rule.get("expr") or []), rule.get("comment") or "-")


def plan(tables, table, wanted, sources, port_ranges, protocols, ip_versions, udp_ranges=()):
    """An NftPlan from the parsed ruleset ``tables``: ours replaced when it differs, tables of
    ours of another name deleted. A table of our name that is not ours stops the run."""
    out = NftPlan(wanted=wanted, table=table)
    ours = sorted(name for (family, name), t in tables.items() if family == FAMILY and t.ours)
    out.stale = [name for name in ours if not (wanted and name == table)]
    if not wanted:
        return out
    found = tables.get((FAMILY, table))
    if found is not None and not found.ours:
        out.error = ("nftables table %s %s already exists on this host and is not ours (%s): another tool owns it; "
                     "choose another host_firewall_chain" % (
                         FAMILY, table, "it has no rules" if not found.rules else "it holds rules without the comment %s"
                         % fw.MARKER))
        return out
    texts = rules(port_ranges, protocols, ip_versions, udp_ranges)
    out.want_rules = texts
    out.sources = {v: list(sources.get(v) or []) for v in ip_versions}
    out.text = definition(table, sources, port_ranges, protocols, ip_versions, udp_ranges)
    out.exists = found is not None
    if found is None:
        out.rules_changed = True
        out.set_drift = list(ip_versions)
        return out
    out.have_rules = [rule_text(r) for r in found.rules]
    chain = found.chains.get(CHAIN) or {}
    first = found.rules[0].get("comment") if found.rules else None
    out.rules_changed = (
        first != "%s %s" % (fw.MARKER, digest(table, texts)) or len(found.rules) != len(texts)
        or any(r.get("chain") != CHAIN for r in found.rules) or set(found.chains) != {CHAIN}
        or (chain.get("type"), chain.get("hook"), chain.get("prio"), chain.get("policy")) != (
            "filter", "input", PRIORITY, "accept"))
    wanted_sets = {SETS[v][0] for v in ip_versions}
    if set(found.sets) != wanted_sets:
        out.rules_changed = True
    for ip_version in ip_versions:
        have = found.sets.get(SETS[ip_version][0])
        want = list(sources.get(ip_version) or [])
        if have is None or fw.normalize_sources(have, ip_version) != want or len(have) != len(want):
            out.set_drift.append(ip_version)
    return out
