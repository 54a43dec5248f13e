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
IPSET_DEFAULT_MAXELEM = 65536
# fullmatch, not match with "$", which also takes a name that ends in a newline; and a name
# that starts with "-" would read as an option ("-F")
CHAIN_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,%d}" % (CHAIN_MAX - 1))
# Names iptables itself owns: the built-in chains of every table, and the
# standard targets a jump could not tell apart from a chain.
RESERVED = frozenset(("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING",
                      "ACCEPT", "DROP", "RETURN", "QUEUE", "REJECT", "LOG", "NFQUEUE"))
# Names other tools create or adopt, whether or not they run yet: Docker adopts a DOCKER-USER
# chain it finds, kube-proxy, kubelet and kube-router own KUBE-*, and so on. Compared without case.
FOREIGN_CHAINS = (("DOCKER", "Docker"), ("KUBE-", "kube-proxy, kubelet, kube-router"), ("CALI-", "Calico"),
                  ("CILIUM", "Cilium"), ("F2B-", "fail2ban"), ("UFW-", "ufw"), ("UFW6-", "ufw"),
                  ("FLANNEL", "flannel"), ("WEAVE", "Weave Net"), ("CNI-", "the CNI plugins"),
                  ("LIBVIRT_", "libvirt"), ("ISTIO_", "Istio"), ("FIREWALLD", "firewalld"), ("IN_", "firewalld"),
                  ("FWD_", "firewalld"), ("ANTREA", "Antrea"), ("OVN-", "OVN-Kubernetes"))
PERSIST_DIR_RE = re.compile(r"/[A-Za-z0-9._/-]*")
# Where files do not survive a reboot, or are not files at all.
VOLATILE_DIRS = ("/proc", "/sys", "/dev", "/run", "/var/run", "/tmp")
FILE_END = "# end of %s host_firewall file" % MARKER
# What the restore script's last resort leaves when no iptables works: an nftables table per
# family, or a mark that it turned IPv6 off. The next run of the module removes both.
NFT_LAST_RESORT = "clusterguard_last_resort"
IPV6_OFF = "/run/clusterguard-ipv6-off"
FILE_HEADER = "# %s host_firewall" % MARKER
RESTORE_SCRIPT = "/usr/local/sbin/clusterguard-firewall-restore"
UNIT_NAME = "clusterguard-firewall.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
UNIT_WANTS = "/etc/systemd/system/multi-user.target.wants/" + UNIT_NAME
# The opt-in watchdog: a timer that puts our chain back when another agent removed it.
WATCHDOG_SCRIPT = "/usr/local/sbin/clusterguard-firewall-watchdog"
WATCHDOG_SERVICE = "clusterguard-firewall-watchdog.service"
WATCHDOG_TIMER = "clusterguard-firewall-watchdog.timer"
WATCHDOG_SERVICE_PATH = "/etc/systemd/system/" + WATCHDOG_SERVICE
WATCHDOG_TIMER_PATH = "/etc/systemd/system/" + WATCHDOG_TIMER
WATCHDOG_WANTS = "/etc/systemd/system/timers.target.wants/" + WATCHDOG_TIMER
WATCHDOG_INTERVAL_MAX = 3600


class FirewallSpecError(ValueError):
    """A chain, source or port the module cannot turn into rules."""


def chain_error(chain):
    """Why ``chain`` cannot be our chain's name, or None when it can."""
    if not isinstance(chain, str) or not CHAIN_RE.fullmatch(chain):
        return "%r must be 1-%d ASCII letters, digits, '-' or '_', not starting with '-'" % (chain, CHAIN_MAX)
    if chain.upper() in RESERVED:
        return "%r is a name iptables reserves (a built-in chain or a standard target)" % (chain,)
    for prefix, owner in FOREIGN_CHAINS:
        if chain.upper().startswith(prefix):
            return "%r is a name %s use (%s*): such a chain is theirs, whether or not they run yet" % (
                chain, owner, prefix)
    return None


def persist_dir_error(path):
    """Why ``path`` cannot hold our persisted files, or None when it can ("" keeps nothing)."""
    if path == "":
        return None
    if not isinstance(path, str) or not PERSIST_DIR_RE.fullmatch(path) or path.rstrip("/") == "":
        return ("%r must be an absolute directory path of letters, digits, '.', '_', '-' and '/'"
                " (no spaces, no newline)" % (path,))
    parts = path.rstrip("/").split("/")[1:]
    if "" in parts or "." in parts or ".." in parts:
        return "%r must be written plainly: no '//', '.' or '..' in it" % (path,)
    for volatile in VOLATILE_DIRS:
        if path.rstrip("/") == volatile or path.startswith(volatile + "/"):
            return "%r is under %s, which is not kept across a reboot: the boot restore would find nothing" % (
                path, volatile)
    return None


def directory_error(path, st):
    """Why we must not write files into ``path`` (``st`` its os.lstat), or None: a link, or a
    directory that someone other than root owns or that group or others may write, would let
    them point our files at any file root owns."""
    import stat as statmod

    if statmod.S_ISLNK(st.st_mode):
        return "%s is a symbolic link: our files are written into real directories only" % path
    if not statmod.S_ISDIR(st.st_mode):
        return "%s is not a directory" % path
    if st.st_uid != 0:
        return "%s is owned by uid %d, not root: whoever owns it could redirect our files" % (path, st.st_uid)
    if st.st_mode & 0o022:
        return "%s is writable by %s (mode %o): whoever may write it could redirect our files" % (
            path, "group and others" if st.st_mode & 0o022 == 0o022 else "group" if st.st_mode & 0o020 else "others",
            statmod.S_IMODE(st.st_mode))
    return None


def settle_error(seconds):
    """Why ``seconds`` cannot be the wait between read-backs under a table rewriter, or None."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 60:
        return "%r must be a number of seconds above 0 and at most 60" % (seconds,)
    return None


def set_name(chain, ip_version):
    return "%s-%s" % (chain, FAMILY[ip_version][2])


def swap_set_name(name):
    """A short temporary name for refilling ``name`` (ipset names hold 31 characters)."""
    return "cgswap-" + hashlib.sha1(name.encode()).hexdigest()[:12]


def _source_network(src):
    """One source as a network; FirewallSpecError naming it when it is none."""
    if "%" in str(src):
        raise FirewallSpecError("sources: %r has a zone (%%): iptables matches no zone; give the address alone" % (src,))
    try:
        return ipaddress.ip_network(str(src).strip(), strict=True)
    except ValueError as exc:
        raise FirewallSpecError("sources: %r is not a network (%s)" % (src, exc)) from None


def normalize_sources(sources, ip_version):
    """Canonical CIDR strings of one family, merged, as iptables -S and ipset print them."""
    version = FAMILY[ip_version][1]
    nets = [net for net in (_source_network(src) for src in sources) if net.version == version]
    return [str(n) for n in ipaddress.collapse_addresses(nets)]


def split_sources(sources):
    """Check every source and split them by family: {'ipv4': [...], 'ipv6': [...]}."""
    out = {"ipv4": [], "ipv6": []}
    for src in sources:
        net = _source_network(src)
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


def filter_rules_of_save(text):
    """The filter table of ``iptables-save`` output in the words of ``iptables -S``."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("*"):
            inside = line == "*filter"
        elif inside and line.startswith(":"):
            name, policy = (line[1:].split() + ["", ""])[:2]
            out.append("-P %s %s" % (name, policy) if policy != "-" else "-N %s" % name)
        elif inside and line.startswith("-A "):
            out.append(line)
    return "\n".join(out) + "\n"


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

    def unmarked(self, chain):
        """The rules of ``chain`` without our marker."""
        return [w for w in self.rules.get(chain) or [] if MARKER not in w]

    def our_chains(self):
        """Every chain that is ours by its marker: every rule of it carries the marker, and it has
        rules or a marked jump reaches it. A marked jump does not make a chain with other rules
        ours (see foreign_jumps)."""
        found = []
        for chain in self.marked_jumps() + sorted(self.rules):
            if chain in self.chains and chain not in found and not self.unmarked(chain) and (
                    self.rules.get(chain) or chain in self.marked_jumps()):
                found.append(chain)
        return found

    def foreign_jumps(self):
        """Chains that a jump with our marker reaches but that hold rules without it: not ours,
        whatever jumps to them. Legacy chains of version 1.0.0 (no markers) are not among them."""
        return sorted({c for c in self.marked_jumps() if c in self.chains and self.unmarked(c)
                       and not self.is_legacy_ours(c)})

    def references(self, chain):
        """Rules other than INPUT's jumps to ``chain`` that name it (another chain's jump, FORWARD):
        while they exist the chain cannot be deleted."""
        out = []
        for name, rules in sorted(self.rules.items()):
            for words in rules:
                if self.target(words) == chain and not (name == "INPUT" and (
                        MARKER in words or words == ("-A", "INPUT", "-j", chain))):
                    out.append(" ".join(words))
        return out

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
        if self.is_legacy_ours(chain):
            return None
        foreign = self.unmarked(chain)
        if not foreign and (self.rules.get(chain) or chain in self.marked_jumps()):
            return None
        if not foreign:
            return ("chain %s already exists on this host, empty, and no jump with the comment %s reaches it: "
                    "another tool may own it; choose another name" % (chain, MARKER))
        return ("chain %s already exists on this host and is not ours (it holds rules without the comment %s, "
                "such as %r): another tool owns it; choose another name" % (chain, MARKER, " ".join(foreign[0])))

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


def maxelem_option(count):
    """A hash:net set holds 65536 members unless told more; room for ``count``, or nothing."""
    if count <= IPSET_DEFAULT_MAXELEM:
        return ""
    return " maxelem %d" % (1 << (count - 1).bit_length())


def ipset_payload(name, ip_version, members, exists):
    """An ``ipset restore`` script that gives ``name`` exactly ``members``.

    An existing set is refilled through a temporary set and ``swap``, so the
    rule that references it never sees a half-filled set."""
    family = FAMILY[ip_version][0]
    target = swap_set_name(name) if exists else name
    lines = [
        "create %s hash:net family %s%s -exist" % (target, family, maxelem_option(len(members))),
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
        out = {base + ".rules": file_header(chain, ip_version, "rules") + inline}
    else:
        name = set_name(chain, ip_version)
        out = {
            base + ".rules": file_header(chain, ip_version, "rules") + restore_payload(
                chain, chain_rules(chain, sources, port_ranges, protocols, name, udp_ranges)),
            base + ".ipset": file_header(chain, ip_version, "ipset") + ipset_payload(name, ip_version, sources, False),
            base + ".fallback.rules": file_header(chain, ip_version, "fallback rules") + inline,
        }
    # The last line tells a whole file from one cut short: the restore script loads no file without it.
    return {name: text + FILE_END + "\n" for name, text in out.items()}


def is_our_file(first_line):
    return first_line.startswith(FILE_HEADER)


def restore_script():
    """The boot-time restore script (POSIX sh). It restores one chain, the one the unit
    names, so files of other or older chains are never loaded. It fails closed: a family
    whose files are missing, empty, cut short or not loadable, or whose iptables is missing,
    gets the last resort (the guarded ports dropped for everyone but loopback) and the
    script exits 1, so that systemd shows the unit failed and the journal says why."""
    return r"""#!/bin/sh
# %(marker)s host_firewall: restore our chain at boot. Written by Ansible.
# Usage: %(script)s DIR CHAIN FAMILIES TCP UDP [BACKEND]
#   FAMILIES  v4 or v4,v6: the families guarded
#   TCP, UDP  the guarded ports, FIRST:LAST[,FIRST:LAST...], or - for none
#   BACKEND   iptables (the default) or nftables
# Loads DIR/CHAIN.v4.* and DIR/CHAIN.v6.* only (iptables), or DIR/CHAIN.nft, our own table
# (nftables); other rules, chains and tables are not touched.
# Fails closed: a family whose files are missing, empty, cut short or cannot be loaded, or
# that has no iptables, gets the last resort: the guarded ports dropped for everyone but
# loopback (the other workers too) until the next Ansible run. Then it exits 1.
dir=${1:?usage: $0 DIR CHAIN FAMILIES TCP UDP}
chain=${2:?usage: $0 DIR CHAIN FAMILIES TCP UDP}
families=${3:-v4,v6}
tcp=${4:-9001:9023}
udp=${5:--}
backend=${6:-iptables}
status=0

say() { echo "clusterguard-firewall-restore: $*" >&2; }
fail() { say "$*"; status=1; }

# A file of ours, written whole: not a link, our header first and our end line last.
whole() {
  [ -f "$1" ] && [ ! -L "$1" ] && [ -s "$1" ] || return 1
  case $(head -n 1 "$1") in "%(header)s"*) ;; *) return 1 ;; esac
  [ "$(tail -n 1 "$1")" = "%(end)s" ]
}

# The iptables of a family whose restore command is there too: $1 iptables or ip6tables.
tool() {
  for t in "$1" "$1-nft" "$1-legacy"; do
    command -v "$t" >/dev/null 2>&1 && command -v "$t-restore" >/dev/null 2>&1 && { echo "$t"; return 0; }
  done
  return 1
}

jump() {
  "$1" -w -C INPUT -m comment --comment %(marker)s -j "$chain" 2>/dev/null \
    || "$1" -w -I INPUT 1 -m comment --comment %(marker)s -j "$chain"
}

drop_rules() {  # every rule with our comment: the next run knows the chain as ours and replaces it
  m="-m comment --comment %(marker)s"
  printf '*filter\n:%%s - [0:0]\n-A %%s -i lo %%s -j RETURN\n' "$chain" "$chain" "$m"
  for r in $(echo "$tcp" | tr ',' ' '); do
    [ "$r" = - ] || printf -- '-A %%s -p tcp -m tcp --dport %%s %%s -j DROP\n' "$chain" "$r" "$m"
  done
  for r in $(echo "$udp" | tr ',' ' '); do
    [ "$r" = - ] || printf -- '-A %%s -p udp -m udp --dport %%s %%s -j DROP\n' "$chain" "$r" "$m"
  done
  printf 'COMMIT\n'
}

nft_drop() {  # no iptables for the family: a table of nftables, which the next Ansible run removes
  command -v nft >/dev/null 2>&1 || return 1
  t=ip; [ "$1" = v6 ] && t=ip6
  {
    echo "table $t %(nft_table)s {"
    echo "  chain input {"
    echo "    type filter hook input priority -10; policy accept;"
    echo "    iif \"lo\" accept"
    [ "$tcp" = - ] || echo "    tcp dport { $(echo "$tcp" | tr ':' '-') } drop"
    [ "$udp" = - ] || echo "    udp dport { $(echo "$udp" | tr ':' '-') } drop"
    echo "  }"
    echo "}"
  } | nft -f -
}

last_resort() {
  fam=$1
  ipt=$2
  if [ -n "$ipt" ] && drop_rules | "$ipt-restore" -w --noflush && jump "$ipt"; then
    fail "$chain ($fam): LAST RESORT: the guarded ports are dropped for everyone but loopback," \
      "the other workers too, until the next Ansible run"
  elif nft_drop "$fam"; then
    fail "$chain ($fam): LAST RESORT: no working iptables; nftables table %(nft_table)s drops" \
      "the guarded ports for everyone but loopback until the next Ansible run"
  elif [ "$fam" = v6 ] && [ -e /proc/sys/net/ipv6/conf/all/disable_ipv6 ]; then
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && : > %(ipv6_off)s
    fail "$chain ($fam): LAST RESORT: neither ip6tables nor nft works: IPv6 is turned off on this host until the next Ansible run"
  else
    fail "$chain ($fam): neither iptables nor nft works: the guarded ports CANNOT be guarded"
  fi
}

restore_family() {
  fam=$1
  ipt=$(tool "$2") || { fail "$chain ($fam): $2 or $2-restore is missing"; last_resort "$fam" ""; return; }
  rules="$dir/$chain.$fam.rules"
  set="$dir/$chain.$fam.ipset"
  fallback="$dir/$chain.$fam.fallback.rules"
  if whole "$rules"; then
    if [ -e "$set" ] || [ -e "$fallback" ]; then
      if whole "$set" && ipset restore -exist < "$set" && "$ipt-restore" -w --noflush < "$rules" && jump "$ipt"; then
        return
      fi
      fail "$chain ($fam): the ipset could not be loaded"
    elif "$ipt-restore" -w --noflush < "$rules" && jump "$ipt"; then
      return
    else
      fail "$chain ($fam): $rules could not be loaded"
    fi
  else
    fail "$chain ($fam): $rules is missing, empty or cut short"
  fi
  if whole "$fallback"; then
    say "$chain ($fam): restoring one rule per source instead, from $fallback"
    if "$ipt-restore" -w --noflush < "$fallback" && jump "$ipt"; then
      return
    fi
  fi
  [ -e "$fallback" ] && fail "$chain ($fam): $fallback is cut short or could not be loaded"
  last_resort "$fam" "$ipt"
}

restore_table() {  # the nftables back-end: our whole table, one transaction
  file="$dir/$chain.nft"
  if ! command -v nft >/dev/null 2>&1; then
    fail "$chain: nft is missing"
  elif ! whole "$file"; then
    fail "$chain: $file is missing, empty or cut short"
  elif nft -f "$file"; then
    return
  else
    fail "$chain: $file could not be loaded"
  fi
  for fam in $(echo "$families" | tr ',' ' '); do
    if nft_drop "$fam"; then
      fail "$chain ($fam): LAST RESORT: nftables table %(nft_table)s drops the guarded ports for everyone" \
        "but loopback, the other workers too, until the next Ansible run"
    elif [ "$fam" = v6 ]; then
      last_resort v6 "$(tool ip6tables)"
    else
      last_resort v4 "$(tool iptables)"
    fi
  done
}

# firewalld tells systemd it has started (D-Bus) before its first load, and that load empties the
# iptables tables: where it runs, wait until it reports running (at most about a minute), so that what
# we load (our chain, or a last resort in iptables) is not emptied after us.
firewalld_loaded() {
  command -v firewall-cmd >/dev/null 2>&1 && command -v systemctl >/dev/null 2>&1 || return 0
  systemctl is-active -q firewalld.service 2>/dev/null || return 0
  n=0
  until firewall-cmd --state >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -lt 120 ] || { say "firewalld did not report running: loading without waiting longer"; return 0; }
    sleep 0.5
  done
}

firewalld_loaded
if [ "$backend" = nftables ]; then
  restore_table
else
  case ",$families," in *,v4,*) restore_family v4 iptables ;; esac
  case ",$families," in *,v6,*) restore_family v6 ip6tables ;; esac
fi
exit "$status"
""" % {"marker": MARKER, "script": RESTORE_SCRIPT, "header": FILE_HEADER, "end": FILE_END, "nft_table": NFT_LAST_RESORT,
       "ipv6_off": IPV6_OFF}


def unit_args(ip_versions, tcp_ranges, udp_ranges, backend="iptables"):
    """The restore script's FAMILIES TCP UDP [BACKEND] arguments: what the last resort drops,
    and where our rules live (the iptables back-end's unit keeps the three arguments it always had)."""
    def spec(ranges):
        return ",".join("%d" % lo if lo == hi else "%d:%d" % (lo, hi) for lo, hi in ranges) or "-"
    return "%s %s %s%s" % (",".join(FAMILY[v][2] for v in ("ipv4", "ipv6") if v in ip_versions), spec(tcp_ranges),
                           spec(udp_ranges), " nftables" if backend == "nftables" else "")


def unit_file(persist_dir, chain, args="v4,v6 9001:9023 -"):
    return """# %(marker)s host_firewall. Written by Ansible; edits are overwritten.
# Restores our chain (%(chain)s) at boot, before the network is up; fails closed (see the script).
[Unit]
Description=clusterguard.portworx firewall chain for the Portworx API ports
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target
After=local-fs.target netfilter-persistent.service iptables.service ip6tables.service firewalld.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(script)s %(dir)s %(chain)s %(args)s

[Install]
WantedBy=multi-user.target
""" % {"marker": MARKER, "chain": chain, "dir": persist_dir, "script": RESTORE_SCRIPT, "args": args}


def watchdog_error(interval):
    """Why ``interval`` (seconds between the watchdog's checks) is not usable, or None."""
    if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= WATCHDOG_INTERVAL_MAX:
        return "%r must be a whole number of seconds from 1 to %d" % (interval, WATCHDOG_INTERVAL_MAX)
    return None


def watchdog_script():
    """The watchdog (POSIX sh), run by its timer with the boot unit's arguments. Where the jump
    from INPUT or our chain's DROP rules are gone in a guarded family (firewalld reloading,
    "iptables -F", a tool that restores whole tables), it says so in the journal and runs the
    restore script, which puts the chain back from the persisted files or fails closed."""
    return r"""#!/bin/sh
# %(marker)s host_firewall: put our chain back when another agent removed it. Written by Ansible.
# Usage: %(script)s DIR CHAIN FAMILIES TCP UDP [BACKEND]   (the arguments of the restore script)
dir=${1:?usage: $0 DIR CHAIN FAMILIES TCP UDP [BACKEND]}
chain=${2:?usage: $0 DIR CHAIN FAMILIES TCP UDP [BACKEND]}
families=${3:-v4,v6}
backend=${6:-iptables}
missing=""

# $1 v4 or v6, $2 iptables or ip6tables: is our jump there, and does our chain drop?
check() {
  ipt=""
  for t in "$2" "$2-nft" "$2-legacy"; do
    command -v "$t" >/dev/null 2>&1 && { ipt=$t; break; }
  done
  [ -n "$ipt" ] || return 0  # no iptables: the restore script's last resort is what guards
  "$ipt" -w -C INPUT -m comment --comment %(marker)s -j "$chain" 2>/dev/null \
    || { missing="$missing $1:jump"; return 0; }
  "$ipt" -w -S "$chain" 2>/dev/null | grep -q -- "-j DROP" || missing="$missing $1:rules"
}

if [ "$backend" = nftables ]; then  # our own table, with its drop rules
  nft list table inet "$chain" 2>/dev/null | grep -q 'drop comment "%(marker)s"' || missing=" table"
else
  case ",$families," in *,v4,*) check v4 iptables ;; esac
  case ",$families," in *,v6,*) check v6 ip6tables ;; esac
fi
[ -z "$missing" ] && exit 0
echo "clusterguard-firewall-watchdog: $chain was removed or changed by another agent (missing:$missing);" \
  "restoring it from $dir" >&2
exec %(restore)s "$@"
""" % {"marker": MARKER, "script": WATCHDOG_SCRIPT, "restore": RESTORE_SCRIPT}


def watchdog_units(persist_dir, chain, args, interval):
    """{path: text} of the watchdog's service and timer: a check every ``interval`` seconds."""
    service = """# %(marker)s host_firewall. Written by Ansible; edits are overwritten.
[Unit]
Description=clusterguard.portworx watchdog: puts the firewall chain back when another agent removed it
After=%(unit)s

[Service]
Type=oneshot
ExecStart=%(script)s %(dir)s %(chain)s %(args)s
""" % {"marker": MARKER, "unit": UNIT_NAME, "script": WATCHDOG_SCRIPT, "dir": persist_dir, "chain": chain,
       "args": args}
    timer = """# %(marker)s host_firewall. Written by Ansible; edits are overwritten.
[Unit]
Description=clusterguard.portworx watchdog, every %(interval)d s

[Timer]
OnActiveSec=%(interval)ds
OnUnitActiveSec=%(interval)ds
AccuracySec=1s

[Install]
WantedBy=timers.target
""" % {"marker": MARKER, "interval": interval}
    return {WATCHDOG_SERVICE_PATH: service, WATCHDOG_TIMER_PATH: timer}


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
