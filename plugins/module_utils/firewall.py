# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the port_firewall module reads and writes: our chain, its jump, the
ipset, the persisted files, the boot unit and the restore script.

Pure functions over strings, so they are unit tested without a kernel; the
module does the I/O. Everything we create carries MARKER (an iptables comment
match on the jump and on each rule, a header line in each file), and what is
ours is found by that marker, not by the name configured today."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shlex

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib

MARKER = "clusterguard.portworx"
FAMILY = {"ipv4": ("inet", 4, "v4", "iptables"), "ipv6": ("inet6", 6, "v6", "ip6tables")}
# iptables chain names hold at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1);
# ipset names at most 31, so "<chain>-v4" always fits.
CHAIN_MAX = 28
SET_MAX = 31
CHAIN_RE = re.compile(r"^[A-Za-z0-9_-]{1,%d}$" % CHAIN_MAX)
# Names iptables itself owns: the built-in chains of every table, and the
# standard targets a jump could not tell apart from a chain.
RESERVED = frozenset(("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING",
                      "ACCEPT", "DROP", "RETURN", "QUEUE", "REJECT", "LOG", "NFQUEUE"))
PERSIST_DIR_RE = re.compile(r"^/[A-Za-z0-9._/-]*$")
FILE_HEADER = "# %s host_firewall" % MARKER
RESTORE_SCRIPT = "/usr/local/sbin/clusterguard-firewall-restore"
UNIT_NAME = "clusterguard-firewall.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
UNIT_WANTS = "/etc/systemd/system/multi-user.target.wants/" + UNIT_NAME


class FirewallSpecError(ValueError):
    """A chain, source or port the module cannot turn into rules."""


def chain_error(chain):
    """Why ``chain`` cannot be our chain's name, or None when it can."""
    if not isinstance(chain, str) or not CHAIN_RE.match(chain):
        return "%r must be 1-%d ASCII letters, digits, '-' or '_'" % (chain, CHAIN_MAX)
    if chain.upper() in RESERVED:
        return "%r is a name iptables reserves (a built-in chain or a standard target)" % (chain,)
    return None


def persist_dir_error(path):
    """Why ``path`` cannot hold our persisted files, or None when it can ("" keeps nothing)."""
    if path == "":
        return None
    if not isinstance(path, str) or not PERSIST_DIR_RE.match(path) or "/../" in path + "/" or path == "/":
        return ("%r must be an absolute directory path of letters, digits, '.', '_', '-' and '/'"
                " (no spaces, no '..')" % (path,))
    return None


def set_name(chain, ip_version):
    return "%s-%s" % (chain, FAMILY[ip_version][2])


def swap_set_name(name):
    """A short temporary name for refilling ``name`` (ipset names hold 31 characters)."""
    return "cgswap-" + hashlib.sha1(name.encode()).hexdigest()[:12]


def normalize_sources(sources, ip_version):
    """Canonical CIDR strings of one family, merged, as iptables -S and ipset print them."""
    version = FAMILY[ip_version][1]
    out = []
    for src in sources:
        try:
            net = ipaddress.ip_network(str(src).strip(), strict=True)
        except ValueError as exc:
            raise FirewallSpecError("sources: %r is not a network (%s)" % (src, exc)) from None
        if net.version == version:
            out.append(net)
    return [str(n) for n in ipaddress.collapse_addresses(out)]


def split_sources(sources):
    """Check every source and split them by family: {'ipv4': [...], 'ipv6': [...]}."""
    out = {"ipv4": [], "ipv6": []}
    for src in sources:
        try:
            net = ipaddress.ip_network(str(src).strip(), strict=True)
        except ValueError as exc:
            raise FirewallSpecError("sources: %r is not a network (%s)" % (src, exc)) from None
        if net.version == 6 and net.network_address.ipv4_mapped is not None:
            raise FirewallSpecError("sources: %r is an IPv4-mapped IPv6 address; give the IPv4 address" % (src,))
        out["ipv4" if net.version == 4 else "ipv6"].append(str(net))
    return {fam: normalize_sources(nets, fam) for fam, nets in out.items()}


# -- rules ------------------------------------------------------------------
def _marked(rule):
    return "%s -m comment --comment %s" % (rule, MARKER)


def guarded(port_ranges, protocols, udp_ranges=()):
    """[(protocol, ranges)]: ``port_ranges`` for each of ``protocols``, and ``udp_ranges``
    for UDP besides (Portworx's gossip port beside its TCP API ports)."""
    out = [(proto, list(port_ranges)) for proto in protocols]
    if udp_ranges:
        udp = [r for proto, ranges in out if proto == "udp" for r in ranges]
        merged = portlib.parse_ports(["%d-%d" % r for r in udp + list(udp_ranges)])
        out = [item for item in out if item[0] != "udp"] + [("udp", merged)]
    return out


def chain_rules(chain, sources, port_ranges, protocols, set_name=None, udp_ranges=()):
    """Rules of our chain, in the order ``iptables -S CHAIN`` prints them.

    Loopback and the allowed sources RETURN to INPUT, so whatever else INPUT says
    about them still holds; everything else bound for the guarded ports is dropped."""
    rules = [_marked("-A %s -i lo" % chain) + " -j RETURN"]
    if set_name:
        rules.append(_marked("-A %s -m set --match-set %s src" % (chain, set_name)) + " -j RETURN")
    else:
        rules.extend(_marked("-A %s -s %s" % (chain, src)) + " -j RETURN" for src in sources)
    for proto, ranges in guarded(port_ranges, protocols, udp_ranges):
        for group in portlib.multiport_groups(ranges):
            rules.append(_marked("-A %s -p %s -m multiport --dports %s" % (chain, proto, group)) + " -j DROP")
    return rules


def jump_rule(chain):
    return _marked("-A INPUT") + " -j %s" % chain


def rule_key(line):
    """A rule as a tuple of words, so quoting differences between back-ends do not count."""
    try:
        return tuple(shlex.split(line))
    except ValueError:
        return tuple(line.split())


class TableState:
    """The filter table of one family, parsed from ``iptables -S``."""

    def __init__(self, text):
        self.chains = set()
        self.rules = {}
        self.input = []
        for line in text.splitlines():
            words = rule_key(line)
            if len(words) >= 2 and words[0] == "-N":
                self.chains.add(words[1])
                self.rules.setdefault(words[1], [])
            elif len(words) >= 2 and words[0] == "-A":
                self.rules.setdefault(words[1], []).append(words)
                if words[1] == "INPUT":
                    self.input.append(words)

    @staticmethod
    def target(words):
        for i, word in enumerate(words[:-1]):
            if word in ("-j", "-g"):
                return words[i + 1]
        return None

    def marked_jumps(self):
        """Chains that INPUT jumps to with our marker, in INPUT order (with repeats)."""
        return [self.target(w) for w in self.input if MARKER in w and self.target(w)]

    def plain_jumps(self, chain):
        """Jumps ``-A INPUT -j chain`` without our marker (written by version 1.0.0)."""
        return sum(1 for w in self.input if w == ("-A", "INPUT", "-j", chain))

    def our_chains(self):
        """Every chain that is ours by its marker: a marked jump reaches it, or all its rules carry it."""
        found = [c for c in self.marked_jumps() if c in self.chains]
        for chain, rules in self.rules.items():
            if chain in self.chains and rules and all(MARKER in w for w in rules) and chain not in found:
                found.append(chain)
        return found

    def chain_rules(self, chain):
        return [" ".join(shlex.quote(x) if " " in x else x for x in w) for w in self.rules.get(chain, [])]

    def is_legacy_ours(self, chain):
        """A chain in the shape version 1.0.0 wrote, without markers: adopted as ours."""
        rules = self.rules.get(chain) or []
        return (bool(rules) and rules[0] == ("-A", chain, "-i", "lo", "-j", "RETURN")
                and rules[-1][-2:] == ("-j", "DROP") and "--dports" in rules[-1]
                and self.plain_jumps(chain) > 0)

    def owner_error(self, chain):
        """Why the existing ``chain`` is not ours, or None (absent, or ours)."""
        if chain not in self.chains:
            return None
        if chain in self.marked_jumps() or self.is_legacy_ours(chain):
            return None
        rules = self.rules.get(chain) or []
        if rules and all(MARKER in w for w in rules):
            return None
        return ("chain %s already exists on this host and is not ours (no rule or jump carries the "
                "comment %s): another tool owns it; choose another name" % (chain, MARKER))

    def sets_of(self, chain):
        """ipset names that rules of ``chain`` match on."""
        out = []
        for words in self.rules.get(chain, []):
            for i, word in enumerate(words[:-1]):
                if word == "--match-set" and words[i + 1] not in out:
                    out.append(words[i + 1])
        return out

    def earlier_accepts(self, chain, port_ranges):
        """INPUT rules above our jump that accept some guarded TCP/UDP port for any source."""
        found = []
        for words in self.input:
            if self.target(words) == chain and MARKER in words:
                break
            if self.target(words) != "ACCEPT":
                continue
            if _may_accept_ports(words, port_ranges):
                found.append(" ".join(words))
        return found


def _may_accept_ports(words, port_ranges):
    """Could an ACCEPT rule let a new connection to one of ``port_ranges`` through?"""
    opts = dict(zip(words, words[1:]))
    if "-i" in opts and opts["-i"] == "lo":
        return False
    if "--ctstate" in opts or "--state" in opts:
        states = (opts.get("--ctstate") or opts.get("--state")).split(",")
        if "NEW" not in states:
            return False
    if "-p" in opts and opts["-p"] not in ("tcp", "udp", "all", "6", "17"):
        return False
    wanted = None
    for key in ("--dport", "--dports", "--destination-port", "--destination-ports"):
        if key in opts:
            wanted = opts[key]
    if wanted is None:
        return True
    try:
        ranges = portlib.parse_ports([p for p in wanted.replace(":", "-").split(",") if p])
    except portlib.PortSpecError:
        return True
    return bool(portlib.intersect(ranges, port_ranges))


# -- ipset ------------------------------------------------------------------
def parse_sets(save_output):
    """``ipset save`` output as {name: {"type", "family", "members"}}."""
    sets = {}
    for line in save_output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "create":
            family = parts[parts.index("family") + 1] if "family" in parts[:-1] else None
            sets[parts[1]] = {"type": parts[2], "family": family, "members": []}
        elif len(parts) >= 3 and parts[0] == "add" and parts[1] in sets:
            member = parts[2]
            try:
                member = str(ipaddress.ip_network(member, strict=False))
            except ValueError:
                pass
            sets[parts[1]]["members"].append(member)
    for info in sets.values():
        info["members"].sort(key=_net_key)
    return sets


def _net_key(text):
    try:
        net = ipaddress.ip_network(text, strict=False)
        return (net.version, int(net.network_address), net.prefixlen)
    except ValueError:
        return (9, 0, 0)


def set_error(info, name, ip_version):
    """Why an existing set of our name cannot be used, or None."""
    family = FAMILY[ip_version][0]
    if info["type"] != "hash:net" or info["family"] != family:
        return ("ipset %s already exists as %s family %s, not hash:net family %s: it is not ours; "
                "remove it or choose another host_firewall_chain" % (name, info["type"], info["family"], family))
    return None


def ipset_payload(name, ip_version, members, exists):
    """An ``ipset restore`` script that gives ``name`` exactly ``members``.

    An existing set is refilled through a temporary set and ``swap``, so the
    rule that references it never sees a half-filled set."""
    family = FAMILY[ip_version][0]
    target = swap_set_name(name) if exists else name
    lines = [
        "create %s hash:net family %s -exist" % (target, family),
        "flush %s" % target,
    ]
    lines.extend("add %s %s" % (target, m) for m in members)
    if exists:
        lines.extend(["swap %s %s" % (target, name), "destroy %s" % target])
    return "\n".join(lines) + "\n"


# -- iptables-restore transactions -------------------------------------------
def restore_payload(chain, rules, insert_jump=False, delete_jumps=(), drop_chains=()):
    """An ``iptables-restore --noflush`` transaction that replaces our chain only.

    Declaring the chain flushes it (or creates it); built-in chains and other
    tables are not named, so their rules stay as they are. ``delete_jumps`` are
    INPUT rules (as words) to delete, ``drop_chains`` chains of ours to remove."""
    lines = ["*filter"]
    if chain:
        lines.append(":%s - [0:0]" % chain)
        lines.extend(rules)
    lines.extend(" ".join(shlex.quote(w) for w in ("-D",) + tuple(words[1:])) for words in delete_jumps)
    for old in drop_chains:
        lines.extend(["-F %s" % old, "-X %s" % old])
    if insert_jump:
        lines.append(jump_rule(chain).replace("-A INPUT", "-I INPUT 1", 1))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# -- persisted files ---------------------------------------------------------
def file_header(chain, ip_version, what):
    return "%s: %s of chain %s (%s). Written by Ansible; edits are overwritten.\n" % (
        FILE_HEADER, what, chain, ip_version)


def persisted_files(chain, ip_version, sources, port_ranges, protocols, use_set, udp_ranges=()):
    """{file name: content} that restores our chain of one family at boot.

    With an ipset there is also a fallback file with one rule per source, which
    the restore script loads when the set cannot be (no ipset command, a corrupt
    file): the host comes up guarded either way."""
    fam = FAMILY[ip_version][2]
    base = "%s.%s" % (chain, fam)
    inline = restore_payload(chain, chain_rules(chain, sources, port_ranges, protocols, udp_ranges=udp_ranges))
    if not use_set:
        return {base + ".rules": file_header(chain, ip_version, "rules") + inline}
    name = set_name(chain, ip_version)
    return {
        base + ".rules": file_header(chain, ip_version, "rules") + restore_payload(
            chain, chain_rules(chain, sources, port_ranges, protocols, name, udp_ranges)),
        base + ".ipset": file_header(chain, ip_version, "ipset") + ipset_payload(name, ip_version, sources, False),
        base + ".fallback.rules": file_header(chain, ip_version, "fallback rules") + inline,
    }


def is_our_file(first_line):
    return first_line.startswith(FILE_HEADER)


def restore_script():
    """The boot-time restore script (POSIX sh). It restores one chain, the one the
    unit names, so files of other or older chains are never loaded; a family that
    fails does not stop the other; a set that cannot be loaded falls back to one
    rule per source; any failure makes the unit fail, so systemd reports it."""
    return r"""#!/bin/sh
# %(marker)s host_firewall: restore our chain at boot. Written by Ansible.
# Usage: %(script)s DIR CHAIN
# Loads DIR/CHAIN.v4.* and DIR/CHAIN.v6.* only; other rules and chains are not touched.
dir=${1:?usage: $0 DIR CHAIN}
chain=${2:?usage: $0 DIR CHAIN}
status=0

fail() {
  echo "clusterguard-firewall-restore: $*" >&2
  status=1
}

restore_family() {
  fam=$1
  ipt=$2
  rules="$dir/$chain.$fam.rules"
  [ -f "$rules" ] || return 0
  if [ -f "$dir/$chain.$fam.ipset" ]; then
    if ipset restore -exist < "$dir/$chain.$fam.ipset" && "$ipt-restore" -w --noflush < "$rules"; then
      :
    else
      fail "$chain ($fam): the ipset could not be loaded; restoring one rule per source instead"
      "$ipt-restore" -w --noflush < "$dir/$chain.$fam.fallback.rules" || { fail "$chain ($fam): fallback rules failed"; return 0; }
    fi
  else
    "$ipt-restore" -w --noflush < "$rules" || { fail "$chain ($fam): rules failed"; return 0; }
  fi
  "$ipt" -w -C INPUT -m comment --comment %(marker)s -j "$chain" 2>/dev/null \
    || "$ipt" -w -I INPUT 1 -m comment --comment %(marker)s -j "$chain" \
    || fail "$chain ($fam): the jump from INPUT could not be added"
}

restore_family v4 iptables
restore_family v6 ip6tables
exit "$status"
""" % {"marker": MARKER, "script": RESTORE_SCRIPT}


def unit_file(persist_dir, chain):
    return """# %(marker)s host_firewall. Written by Ansible; edits are overwritten.
# Restores our chain (%(chain)s) at boot, before the network is up.
[Unit]
Description=clusterguard.portworx firewall chain for the Portworx API ports
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target
After=local-fs.target netfilter-persistent.service iptables.service ip6tables.service firewalld.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(script)s %(dir)s %(chain)s

[Install]
WantedBy=multi-user.target
""" % {"marker": MARKER, "chain": chain, "dir": persist_dir, "script": RESTORE_SCRIPT}


def unit_persist_dir(text):
    """The directory an existing unit of ours restores from, or None."""
    for line in (text or "").splitlines():
        if line.startswith("ExecStart=%s " % RESTORE_SCRIPT):
            parts = line.split()
            return parts[1] if len(parts) >= 2 else None
    return None


def state_text(family_states):
    """What diff mode shows: per family, the set, our chain and the jump."""
    lines = []
    for ip_version, state in sorted(family_states.items()):
        if state.get("set_name"):
            lines.append("# %s ipset %s" % (ip_version, state["set_name"]))
            lines.extend(state.get("members") or [])
        lines.append("# %s chain %s" % (ip_version, state.get("chain") or "-"))
        lines.extend(state.get("rules") or [])
        lines.append("# %s INPUT" % ip_version)
        lines.extend(state.get("jumps") or [])
    return "\n".join(lines) + "\n"
