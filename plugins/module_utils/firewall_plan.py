# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What port_firewall decides, from what it has read: per family, the rules, jump, set and stale
chains to change; which files and unit files to write or remove; the SSH session it must not cut;
and the result it returns. Pure: the module reads, locks, writes and runs the commands.

A state of the host that stops the run raises PlanError, whose message the module returns
as it is; nothing has been changed when it is raised."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import nft
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib

FAMILIES = ("ipv4", "ipv6")
# Programs that write the whole filter table and every ipset back at the end of a sync, by a
# chain prefix that only they create.
REWRITERS = {"kube-router": "KUBE-ROUTER-"}


class PlanError(Exception):
    """The host is in a state the run must not touch; nothing was changed."""


@dataclass
class FamilyPlan:
    """One address family (iptables or ip6tables): what was read, and what changes."""

    ip_version: str
    cmd: str
    wanted: bool
    path: Optional[str] = None
    table: Optional[fw.TableState] = None
    error: Optional[str] = None
    set_name: Optional[str] = None
    sources: List[str] = field(default_factory=list)
    stale: List[str] = field(default_factory=list)
    kept_sets: List[str] = field(default_factory=list)
    destroy_sets: List[str] = field(default_factory=list)
    delete_jumps: List[tuple] = field(default_factory=list)
    have_rules: List[str] = field(default_factory=list)
    jumps_before: List[str] = field(default_factory=list)
    want_rules: List[str] = field(default_factory=list)
    earlier_accepts: List[str] = field(default_factory=list)
    insert_jump: bool = False
    chain_changed: bool = False
    set_exists: bool = False
    set_changed: bool = False
    jump_first: bool = False

    @property
    def readable(self):
        return self.table is not None

    @property
    def changed(self):
        return self.chain_changed or self.set_changed or bool(self.destroy_sets)

    def drift(self):
        """What differs, in the words the verify report uses."""
        out = []
        have = [fw.rule_key(r) for r in self.have_rules]
        if self.wanted and (not self.have_rules or have != [fw.rule_key(r) for r in self.want_rules]):
            out.append("rules")
        if self.insert_jump or self.delete_jumps:
            out.append("jump")
        if self.set_changed or self.destroy_sets:
            out.append("set")
        if self.stale:
            out.append("stale")
        return out


@dataclass
class Wanted:
    """The module's arguments once checked: what the host should hold."""

    chain: str
    present: bool
    port_ranges: list
    sources: dict
    protocols: list
    udp_ranges: list = field(default_factory=list)


def family_plan(plan, want, sets, use_set, keep_sets=False):
    """Fill ``plan`` (a FamilyPlan whose table was read) with what changes in that family.
    ``sets`` is {name: info} of the host's ipsets; ``keep_sets`` leaves sets of ours that go
    unused in place (where kube-router runs, it would create them again)."""
    table, chain = plan.table, want.chain
    target = chain if plan.wanted else None
    if target:
        error = table.owner_error(target)
        if error:
            raise PlanError("chain (host_firewall_chain): %s (%s)" % (error, plan.cmd))
    foreign = [c for c in table.foreign_jumps() if c != target]
    if foreign:
        raise PlanError("%s: INPUT jumps to %s with our comment %s, but %s holds rules without it (%r): not ours, "
                        "so it is left alone; delete that jump by hand if it is not wanted. Nothing was changed" % (
                            plan.cmd, ", ".join(foreign), fw.MARKER, foreign[0], " ".join(table.unmarked(foreign[0])[0])))
    ours = table.our_chains()
    if target and table.is_legacy_ours(target) and target not in ours:
        ours.append(target)
    if not target and table.is_legacy_ours(chain) and chain not in ours:
        ours.append(chain)
    stale = [c for c in ours if c != target]
    for name in stale:
        used = table.references(name)
        if used:
            raise PlanError("%s: our chain %s goes, but %s also uses it (%s): delete that reference, then run again. "
                            "Nothing was changed" % (plan.cmd, name, "a rule" if len(used) == 1 else
                                                     "%d rules" % len(used), "; ".join(used[:3])))
    name = fw.set_name(chain, plan.ip_version)
    plan.set_name = name if (target and use_set) else None
    plan.stale = stale
    plan.sources = list(want.sources.get(plan.ip_version) or [])
    if target and use_set and name in sets:
        error = fw.set_error(sets[name], name, plan.ip_version)
        if error:
            raise PlanError("chain (host_firewall_chain): %s" % error)
    # sets of ours that go: those of stale chains, and ours when no longer used
    doomed = []
    for owner in stale + ([chain] if target and not use_set else []):
        for candidate in [fw.set_name(owner, plan.ip_version)] + table.sets_of(owner):
            info = sets.get(candidate)
            if (candidate not in doomed and candidate != plan.set_name and info
                    and info["type"] == "hash:net" and candidate.startswith(owner + "-")):
                doomed.append(candidate)
    plan.kept_sets = doomed if keep_sets else []
    plan.destroy_sets = [] if keep_sets else doomed
    plan.delete_jumps = [w for w in table.input if fw.MARKER in w and table.target(w) in stale]
    plan.delete_jumps += [w for c in ours for w in table.input if w == ("-A", "INPUT", "-j", c)]
    have = [fw.rule_key(r) for r in table.chain_rules(target)] if target and target in table.chains else None
    plan.have_rules = table.chain_rules(target) if have is not None else []
    plan.jumps_before = [" ".join(w) for w in table.input if table.target(w) in ours or
                         (target and table.target(w) == target)]
    if target:
        plan.want_rules = fw.chain_rules(target, plan.sources, want.port_ranges, want.protocols, plan.set_name,
                                         want.udp_ranges)
        marked = [w for w in table.input if fw.MARKER in w and table.target(w) == target]
        plan.insert_jump = not marked
        plan.delete_jumps += marked[1:]
        plan.chain_changed = (have != [fw.rule_key(r) for r in plan.want_rules] or bool(plan.delete_jumps)
                              or plan.insert_jump or bool(stale))
        members = sets.get(name, {}).get("members") if name in sets else None
        plan.set_exists = members is not None
        plan.set_changed = bool(plan.set_name) and members != plan.sources
        plan.earlier_accepts = table.earlier_accepts(target, want.port_ranges)
        first = table.input[0] if table.input else None
        plan.jump_first = bool(first) and fw.MARKER in first and table.target(first) == target
    else:
        plan.want_rules = []
        plan.insert_jump = False
        plan.chain_changed = bool(stale) or bool(plan.delete_jumps)
        plan.set_changed = False
        plan.earlier_accepts = []
        plan.jump_first = False
    return plan


def rewriters(plans):
    """Programs whose chains are on this host and that write whole tables back (kube-router,
    also inside k3s): each of their syncs saves the filter table and every ipset, and restores
    them all when it ends."""
    return sorted({name for plan in plans.values() if plan.readable
                   for name, prefix in REWRITERS.items() if any(c.startswith(prefix) for c in plan.table.chains)})


def use_set(present, mode, ipset_works, found_rewriters):
    """Whether the sources go into an ipset: not where kube-router runs under mode auto, since it
    puts ipsets it does not own back as it saw them (cloudnativelabs/kube-router#1677)."""
    return present and mode != "never" and ipset_works and not (found_rewriters and mode == "auto")


def ssh_cut_error(connection, port_ranges, sources, ip_versions):
    """The error when the SSH session this run comes in on (``connection``: (client, server
    port) or None) would be cut: its port guarded and its client no allowed source."""
    if not connection:
        return None
    client, port = connection
    if not portlib.intersect(port_ranges, [(port, port)]):
        return None
    try:
        addr = ipaddress.ip_address(client.split("%")[0])
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    family = "ipv4" if addr.version == 4 else "ipv6"
    if family not in ip_versions:
        return None
    if any(addr in ipaddress.ip_network(s) for s in sources[family]):
        return None
    return ("ports %s include %d, the SSH port this run is connected on, and the client %s is not an allowed "
            "source: this would cut the connection" % (",".join(portlib.range_strings(port_ranges)), port, client))


def file_changes(wanted, found):
    """{path: content, or None to remove} for every file of ours not as wanted. ``found`` is
    {path: (content or None, mode or None)} of our files on the host and of each wanted path."""
    changes = {path: None for path in found if path not in wanted and found[path][0] is not None}
    for path, content in wanted.items():
        have, mode = found.get(path, (None, None))
        if have != content or (mode is not None and mode & 0o7777 != 0o640):
            changes[path] = content
    return changes


def unit_changes(unit_wanted, systemd, unit, script, enabled, want_unit, want_script):
    """(changes, status) of the boot unit: {path: content, None to remove, or "enable"}, and
    what to report. ``unit`` and ``script`` are what the host holds (None when missing),
    ``enabled`` whether the unit's wants link exists."""
    if not unit_wanted:
        changes = {}
        if unit is not None and fw.MARKER in unit:
            changes[fw.UNIT_PATH] = None
        if script is not None and fw.MARKER in script:
            changes[fw.RESTORE_SCRIPT] = None
        if enabled:
            changes[fw.UNIT_WANTS] = None
        return changes, "absent"
    if not systemd:
        return {}, "no systemd"
    changes = {}
    if unit != want_unit:
        changes[fw.UNIT_PATH] = want_unit
    if script != want_script:
        changes[fw.RESTORE_SCRIPT] = want_script
    if not enabled:
        changes[fw.UNIT_WANTS] = "enable"
    return changes, "enabled"


WATCHDOG_PATHS = (fw.WATCHDOG_SCRIPT, fw.WATCHDOG_SERVICE_PATH, fw.WATCHDOG_TIMER_PATH, fw.WATCHDOG_WANTS, fw.WATCHDOG_TIMER)


def watchdog_changes(wanted, systemd, have, enabled, want, active=True):
    """(changes, status) of the watchdog: {path: content, None to remove, or "enable"}, and
    {timer name: "start"} where the timer is enabled but not running (someone stopped it: it would
    not run again before a reboot). ``have`` is {path: text or None} of its script, service and timer
    on the host, ``want`` their wanted texts, ``enabled`` whether the timer's wants link exists,
    ``active`` whether the timer runs."""
    if not wanted:
        changes = {path: None for path, text in have.items() if text is not None and fw.MARKER in text}
        if enabled:
            changes[fw.WATCHDOG_WANTS] = None
        return changes, "absent"
    if not systemd:
        return {}, "no systemd"
    changes = {path: text for path, text in want.items() if have.get(path) != text}
    if not enabled:
        changes[fw.WATCHDOG_WANTS] = "enable"  # enable --now: it starts too
    elif not active and fw.WATCHDOG_TIMER_PATH not in changes:  # a changed timer is restarted anyway
        changes[fw.WATCHDOG_TIMER] = "start"
    return changes, "enabled"


def other_copies(copies, present):
    """Copies of ours in the other iptables back-end ({command: TableState}): (warnings, payloads).
    With state present they are reported; absent removes them, unless other rules use them."""
    if present:
        return ["%s also holds a chain of ours (%s), which still applies to packets beside this run's chain; remove "
                "it with host_firewall_state: absent, or by hand" % (
                    cmd, ", ".join(table.our_chains() or table.marked_jumps())) for cmd, table in sorted(copies.items())], {}
    payloads = {}
    for cmd, table in copies.items():
        used = [r for c in table.our_chains() for r in table.references(c)]
        if used or table.foreign_jumps():
            raise PlanError("%s holds a chain of ours that other rules use (%s), or a jump of ours to a chain that is "
                            "not ours: remove it by hand. Nothing was changed" % (
                                cmd, "; ".join(used[:3]) or ", ".join(table.foreign_jumps())))
        jumps = [w for w in table.input if fw.MARKER in w]
        payloads[cmd] = fw.restore_payload(None, [], delete_jumps=jumps, drop_chains=table.our_chains())
    return [], payloads


def nft_families(table, nftplan, plans):
    """The ``families`` and per-family ``drift`` of the nftables back-end: one table for both
    families, and what is left of ours in iptables (removed by this run)."""
    families, drift = {}, {}
    if nftplan is None:  # nft is missing (check mode reports it in missing_packages)
        return families, {v: [] for v in FAMILIES}
    for ip_version in FAMILIES:
        plan = plans.get(ip_version)
        left = plan.stale if plan is not None and plan.readable else []
        if ip_version in nftplan.sources:
            families[ip_version] = dict(
                chain=table, set_name=nft.SETS[ip_version][0], sources=nftplan.sources[ip_version],
                rules=nftplan.want_rules, jump_first=True, earlier_accepts=[], removed_chains=list(left))
        words = nftplan.drift(ip_version) if ip_version in nftplan.sources else []
        drift[ip_version] = words + (["stale"] if left and "stale" not in words else [])
    return families, drift


def result(chain, plans, changed, missing, backend, wanted_files, files, unit, unit_status, diff=False,
           watchdog_status="absent", nftplan=None, use_nft=False):
    """The module's return values (and, with ``diff``, the before and after it shows). ``nftplan``
    is the nftables table's plan (None where nft was not read); ``use_nft`` says it is the back-end."""
    families = {}
    drift = {"files": sorted(files), "boot_unit": sorted(p for p in unit if p not in WATCHDOG_PATHS),
             "watchdog": sorted(p for p in unit if p in WATCHDOG_PATHS),
             "nftables": sorted({w for v in FAMILIES for w in nftplan.drift(v)}) if nftplan is not None else []}
    if use_nft:
        families, by_family = nft_families(chain, nftplan, plans)
        drift.update(by_family)
    else:
        for ip_version, plan in plans.items():
            if plan.readable:
                families[ip_version] = dict(
                    chain=chain if plan.wanted else None, set_name=plan.set_name,
                    sources=plan.sources if plan.wanted else [], rules=plan.want_rules, jump_first=plan.jump_first,
                    earlier_accepts=plan.earlier_accepts, removed_chains=plan.stale)
        for ip_version, plan in plans.items():
            drift[ip_version] = plan.drift() if plan.readable else []
    v4 = families.get("ipv4", {})
    out = dict(
        changed=changed, pending=changed, missing_packages=missing, backend=backend, families=families,
        rules=v4.get("rules") or [], set_name=v4.get("set_name"),
        sources=[s for f in FAMILIES for s in families.get(f, {}).get("sources", [])],
        persisted=sorted(wanted_files), boot_unit=unit_status, watchdog=watchdog_status, drift=drift,
        nftables=dict(table=chain if use_nft else None, rules=nftplan.want_rules if use_nft and nftplan else [],
                      removed_tables=list(nftplan.stale) if nftplan is not None else []))
    if diff and use_nft and nftplan is not None:
        out["diff"] = nft_diff(chain, nftplan, plans, files, unit)
    elif diff:
        before, after = {}, {}
        for ip_version, plan in plans.items():
            if not plan.readable:
                continue
            before[ip_version] = dict(chain=chain if plan.have_rules else None, rules=plan.have_rules,
                                      jumps=plan.jumps_before)
            after[ip_version] = dict(chain=chain if plan.wanted else None, set_name=plan.set_name,
                                     members=plan.sources if plan.set_name else [], rules=plan.want_rules,
                                     jumps=[fw.jump_rule(chain)] if plan.wanted else [])
        lines = _file_lines(files, unit)
        out["diff"] = dict(before=fw.state_text(before),
                           after=fw.state_text(after) + ("\n".join(lines) + "\n" if lines else ""),
                           before_header="%s (iptables, ip6tables)" % chain,
                           after_header="%s (iptables, ip6tables)" % chain)
    return out


def _file_lines(files, unit):
    return ["# %s %s" % ("remove" if c is None else c if c in ("enable", "start") else "write", p)
            for p, c in sorted(list(files.items()) + list(unit.items()))]


def nft_diff(table, nftplan, plans, files, unit):
    """Diff mode of the nftables back-end: our table's rules and sets before and after, what goes
    from iptables, and the files."""
    before = ["# nftables table %s %s" % (nft.FAMILY, table if nftplan.exists else "-")] + nftplan.have_rules
    before += ["# nftables table %s %s (goes)" % (nft.FAMILY, name) for name in nftplan.stale]
    before += ["# %s chain %s (goes)" % (p.cmd, c) for p in plans.values() if p.readable for c in p.stale]
    after = nftplan.text.splitlines() if nftplan.wanted else []
    lines = _file_lines(files, unit)
    return dict(before="\n".join(before) + "\n", after="\n".join(after + lines) + "\n",
                before_header="%s (nftables)" % table, after_header="%s (nftables)" % table)
