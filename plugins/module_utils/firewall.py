# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the port_firewall module writes: the rules of our chain, the ipset,
and the iptables-restore payloads. Pure functions over strings, so they are
unit tested without a kernel; the module does the I/O."""

from __future__ import annotations

import ipaddress

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib

FAMILY = {"ipv4": ("inet", 4), "ipv6": ("inet6", 6)}


class FirewallSpecError(ValueError):
    """A source or port the module cannot turn into rules."""


def normalize_sources(sources, ip_version):
    """Canonical CIDR strings of one family, as iptables -S and ipset print them."""
    version = FAMILY[ip_version][1]
    out = []
    for src in sources:
        try:
            net = ipaddress.ip_network(str(src).strip(), strict=True)
        except ValueError as exc:
            raise FirewallSpecError("sources: %r is not a network (%s)" % (src, exc)) from None
        if net.version != version:
            raise FirewallSpecError("sources: %r is not an %s network" % (src, ip_version))
        out.append(net)
    return [str(n) for n in ipaddress.collapse_addresses(out)]


def chain_rules(chain, sources, port_ranges, protocols, set_name=None):
    """Rules of our chain in the form ``iptables -S CHAIN`` prints them.

    Loopback and the allowed sources RETURN to INPUT, so whatever else INPUT says
    about them still holds; everything else bound for the guarded ports is dropped."""
    rules = ["-A %s -i lo -j RETURN" % chain]
    if set_name:
        rules.append("-A %s -m set --match-set %s src -j RETURN" % (chain, set_name))
    else:
        rules.extend("-A %s -s %s -j RETURN" % (chain, src) for src in sources)
    for proto in protocols:
        for group in portlib.multiport_groups(port_ranges):
            rules.append("-A %s -p %s -m multiport --dports %s -j DROP" % (chain, proto, group))
    return rules


def jump_rule(chain):
    return "-A INPUT -j %s" % chain


def restore_payload(chain, rules, insert_jump=False, delete_jumps=0):
    """An ``iptables-restore --noflush`` transaction that replaces our chain only.

    Declaring the chain flushes it (or creates it); built-in chains and other
    tables are not named, so their rules stay as they are."""
    lines = ["*filter", ":%s - [0:0]" % chain]
    lines.extend(rules)
    lines.extend(["-D INPUT -j %s" % chain] * delete_jumps)
    if insert_jump:
        lines.append("-I INPUT 1 -j %s" % chain)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def removal_payload(chain, jumps):
    lines = ["*filter"]
    lines.extend(["-D INPUT -j %s" % chain] * jumps)
    lines.extend(["-F %s" % chain, "-X %s" % chain, "COMMIT"])
    return "\n".join(lines) + "\n"


def parse_set_members(save_output, set_name):
    """Members of ``set_name`` from ``ipset save`` output, canonical CIDRs."""
    members = []
    for line in save_output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "add" and parts[1] == set_name:
            members.append(str(ipaddress.ip_network(parts[2], strict=False)))
    return sorted(members, key=ipaddress.ip_network)


def ipset_swap_payload(set_name, ip_version, members, exists):
    """An ``ipset restore`` script that gives ``set_name`` exactly ``members``.

    An existing set is refilled through a temporary set and ``swap``, so the
    rule that references it never sees a half-filled set."""
    family = FAMILY[ip_version][0]
    target = set_name + "-n" if exists else set_name
    lines = [
        "create %s hash:net family %s -exist" % (target, family),
        "flush %s" % target,
    ]
    lines.extend("add %s %s" % (target, m) for m in members)
    if exists:
        lines.extend(["swap %s %s" % (target, set_name), "destroy %s" % target])
    return "\n".join(lines) + "\n"


def persisted_rules(chain, rules):
    """The boot-time file: our chain only; the restore script adds the jump."""
    return (
        "# clusterguard.portworx host_firewall: chain %s. Written by Ansible; edits are overwritten.\n" % chain
        + restore_payload(chain, rules)
    )


def state_text(set_name, members, rules, jumps, chain):
    """What diff mode shows: the set, our chain and the jump."""
    lines = []
    if set_name:
        lines.append("# ipset %s" % set_name)
        lines.extend(members)
    lines.append("# chain %s" % chain)
    lines.extend(rules)
    lines.append("# INPUT")
    lines.extend([jump_rule(chain)] * jumps)
    return "\n".join(lines) + "\n"
