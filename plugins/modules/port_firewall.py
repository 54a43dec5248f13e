#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: port_firewall
author: clusterguard.portworx contributors (@clusterguard)
version_added: "1.0.0"
short_description: Keep a chain of our own that lets only listed sources reach listed ports
description:
  - Owns one chain per family (iptables and ip6tables) in the C(filter) table, reached by one jump
    near the top of C(INPUT). In that chain, loopback and the allowed sources return to C(INPUT), and
    every other packet for the guarded ports is dropped.
  - One call handles both families, the ipsets, the files that restore the chain at boot and the
    systemd unit that loads them, so a run with nothing to change is one round trip per host.
  - Everything it creates is marked with the comment C(clusterguard.portworx) (rules and jump) or a
    header line (files). What is ours is found by that marker, so the chain of an earlier name is
    removed when O(chain) changes, and a chain of the same name that another tool made is never
    touched; the module fails instead.
  - Changes are one C(iptables-restore --noflush) transaction per family that names our chains only,
    so rules of kube-proxy, the CNI, Docker or the administrator stay as they are. The jump is added
    when missing and never moved, so a tool that inserts its own jump above ours (Calico Felix,
    kube-router) does not start a fight over the first position.
  - With an ipset (C(hash:net)) the chain holds a fixed number of rules however many sources there
    are; the set is refilled through C(ipset swap), so it is never half full.
  - The kernel and the files are only written when they differ from the wanted state, and nothing is
    written before every check of both families has passed.
  - Uses whichever back-end (nf_tables or legacy) the host's C(iptables) command uses, and warns
    when the other back-end also holds rules.
  - With O(backend=nftables) it keeps a table of its own instead (C(inet) family, named after O(chain)), which
    tools that restore the whole filter table (kube-router, k3s, Docker) and firewalld reloads leave alone.
  - Refuses to guard the port of the SSH connection it runs over unless the client is an allowed
    source, also under C(become), where sudo hides C(SSH_CONNECTION) from the module.
  - In check mode it never fails for a missing command; it reports it in RV(missing_packages).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
options:
  chain:
    description:
      - Name of our chain, 1-28 ASCII letters, digits, C(-) or C(_). The ipsets are named after it
        (C(<chain>-v4), C(<chain>-v6)).
      - Built-in chains and standard targets are refused, and so is a chain of that name that exists
        on the host without our marker.
    type: str
    default: CLUSTERGUARD-PX
  ip_versions:
    description:
      - Families to guard. Our chain of a family that is not listed is removed where found; a host
        where that family's command cannot run is left alone.
    type: list
    elements: str
    choices: [ipv4, ipv6]
    default: [ipv4, ipv6]
  ports:
    description:
      - Ports and ranges to guard (C(9001-9022), C(9001:9022), C(9001)).
      - Required with O(state=present).
    type: list
    elements: str
  protocols:
    description: Protocols to guard on O(ports).
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp]
  udp_ports:
    description:
      - UDP ports and ranges to guard beside O(ports), such as Portworx's gossip port (C(9002)) beside its TCP API ports.
    type: list
    elements: str
    default: []
    version_added: 3.0.0
  sources:
    description:
      - Addresses and networks allowed to reach O(ports), of either family; each family's chain takes
        its own. Loopback always is allowed.
    type: list
    elements: str
    default: []
  ipset:
    description:
      - V(auto) uses an ipset when the C(ipset) command works on the host, V(always) fails without
        one, V(never) writes one rule per source network.
      - Where kube-router runs (also inside k3s; found by its C(KUBE-ROUTER-) chains), V(auto) writes one
        rule per source network, because kube-router v2.1.0 puts every ipset it does not own back as it saw
        them at the end of its previous sync, which undoes any change to ours
        (cloudnativelabs/kube-router#1677). Sets of ours are not destroyed there either, since it would
        create them again; they are left unused and named in a warning.
    type: str
    choices: [auto, always, never]
    default: auto
  persist:
    description:
      - Keep our chains in O(persist_dir) so that they can be restored at boot. With V(false) our
        files there are removed.
    type: bool
    default: true
  persist_dir:
    description:
      - Absolute directory of the persisted files (C(<chain>.v4.rules), C(.ipset), C(.fallback.rules)),
        made of letters, digits, C(.), C(_), C(-) and C(/).
    type: str
    default: /etc/clusterguard
  boot_unit:
    description:
      - On hosts run by systemd, install C(/usr/local/sbin/clusterguard-firewall-restore) and enable
        C(clusterguard-firewall.service), which restores our chain from O(persist_dir) at boot, before
        the network is up. With V(false) (or O(persist=false)) the unit and the script are removed.
      - The restore fails closed. It loads only whole files of ours (our header first, our end line last, no link);
        a family whose files are missing, empty or cut short, or whose iptables is missing, gets the last resort, the
        guarded ports dropped for everyone but loopback (the other workers too), with nftables when no iptables
        works, and for IPv6 without ip6tables and nft, IPv6 turned off. Then the unit fails. The next run of this
        module removes what the last resort left, with a warning.
      - Hosts without systemd are left as they are and reported in RV(boot_unit).
    type: bool
    default: true
  state:
    description:
      - V(absent) removes every chain, jump, ipset, persisted file, unit and script of ours (found by
        the marker, whatever their name), and nothing else.
    type: str
    choices: [present, absent]
    default: present
  settle:
    description:
      - Where a program that writes whole tables back runs on the host (kube-router, also inside k3s,
        found by its C(KUBE-ROUTER-) chains), a sync of it that was under way during our write restores
        its older copy of the filter table and of every ipset when it ends, and so undoes our change.
        There the module waits this many seconds after writing (longer than such a sync takes), reads
        back, and writes again while the change keeps being undone, up to 10 times.
      - Hosts without such a program are not affected, and neither is O(backend=nftables), since our table is not among the
        tables such a program restores, so a run there writes once and never waits.
    type: float
    default: 1.0
    version_added: "2.2.0"
  backend:
    description:
      - V(iptables) keeps our chain in the C(filter) table of iptables and ip6tables, with an ipset for the sources.
      - V(nftables) keeps a table of our own, C(table inet <chain>), that guards both families at once. It holds a
        named interval set of sources per family and a base chain on the C(input) hook (priority -10). Loopback
        and the sources pass and go on to the host's other rules; the rest bound for the guarded ports is dropped.
        Each change replaces the whole table in one atomic C(nft -f) transaction; the persisted file
        (C(<chain>.nft)) is that same transaction, which the boot unit loads.
      - Whichever is chosen, what is ours in the other back-end is removed in the same run (the new guard first,
        then the old one), and O(state=absent) removes both. O(ipset) applies to V(iptables) only.
      - O(chain) must start with a letter or C(_) for V(nftables).
    type: str
    choices: [iptables, nftables]
    default: iptables
    version_added: "3.3.0"
  lock_timeout:
    description:
      - One run at a time per host. The module holds a lock (C(flock) on the O(persist_dir) directory itself)
        from its first read to its last write, so that two runs at once cannot leave the live chain and the
        persisted files from different inputs. A second run waits this many seconds for the lock, then fails
        naming the directory and the process that holds it, having changed nothing.
    type: int
    default: 60
    version_added: "3.1.0"
  watchdog:
    description:
      - Also install and start C(clusterguard-firewall-watchdog.timer), which checks every O(watchdog_interval)
        seconds that the jump from C(INPUT) and our chain's rules are there in every guarded family (with
        O(backend=nftables), that our table and its drop rules are there). Where another
        agent removed them (C(firewall-cmd --reload) on firewalld 1.x, C(iptables -F), a tool that restores whole
        tables), it says so in the journal and runs the restore script, which puts our chain back from the
        persisted files or fails closed.
      - Needs O(persist) and O(boot_unit), and systemd; elsewhere nothing is installed and RV(watchdog) says why.
        With V(false), a watchdog of ours is removed.
    type: bool
    default: false
    version_added: "3.2.0"
  watchdog_interval:
    description: Seconds between the watchdog's checks, 1 to 3600. Between two checks the guard can be missing.
    type: int
    default: 30
    version_added: "3.2.0"
requirements:
  - iptables (nf_tables or legacy back-end), for O(backend=iptables)
  - ipset, for O(ipset=always) or to benefit from O(ipset=auto)
  - nft with JSON output (C(nft -j)), for O(backend=nftables); tested with nftables 1.0.6
notes:
  - Packets from allowed sources are not accepted by our chain; they return to C(INPUT), where
    the rest of the host's firewall decides.
  - The restore script loads only the chain the unit names. A family that fails to load does not stop
    the other; a set that cannot be loaded falls back to one rule per source; any failure fails the
    unit, so C(systemctl status) shows it.
seealso:
  - module: ansible.builtin.iptables
  - module: community.general.iptables_state
"""

EXAMPLES = r"""
- name: Only the workers reach the Portworx API ports, IPv4 and IPv6
  clusterguard.portworx.port_firewall:
    ports: ["9001-9022"]
    sources: ["10.0.0.0/30", "10.0.0.9/32", "fd00::1/128"]

- name: IPv4 only, without ipset, nothing persisted
  clusterguard.portworx.port_firewall:
    ip_versions: [ipv4]
    ports: ["9001-9022"]
    sources: ["10.0.0.1"]
    ipset: never
    persist: false

- name: Read only (what would change, what is missing), as the role does first
  clusterguard.portworx.port_firewall:
    ports: ["9001-9022"]
    sources: ["10.0.0.1"]
  check_mode: true
  register: firewall_state

- name: A table of our own in nftables, which firewalld reloads and whole-table rewriters leave alone
  clusterguard.portworx.port_firewall:
    backend: nftables
    ports: ["9001-9023"]
    udp_ports: ["9002"]
    sources: ["10.0.0.0/30", "fd00::1/128"]

- name: Remove everything the module made
  clusterguard.portworx.port_firewall:
    state: absent
"""

RETURN = r"""
pending:
  description: Whether the host differs from the wanted state (equal to C(changed); kept when a task overrides C(changed)).
  returned: always
  type: bool
missing_packages:
  description:
    - Packages whose commands are missing (C(iptables), C(ipset), or C(nftables) for O(backend=nftables)).
      Only check mode returns them without failing.
  returned: always
  type: list
  elements: str
  sample: [ipset]
backend:
  description: Back-end of the host's iptables command (C(nf_tables) or C(legacy)), or C(nftables) with O(backend=nftables).
  returned: always
  type: str
  sample: nf_tables
nftables:
  description:
    - With O(backend=nftables), our table (C(table)) and its rules as written, without comments (C(rules)).
    - C(removed_tables) lists tables of ours removed (or, in check mode, to remove) by this run.
  returned: always
  type: dict
  sample: {table: CLUSTERGUARD-PX, rules: ['iif "lo" accept'], removed_tables: []}
  version_added: "3.3.0"
families:
  description: Per family (C(ipv4), C(ipv6)), what the chain holds after the run.
  returned: always
  type: dict
  sample:
    ipv4:
      chain: CLUSTERGUARD-PX
      set_name: CLUSTERGUARD-PX-v4
      sources: ["10.0.0.0/30"]
      rules: ["-A CLUSTERGUARD-PX -i lo -m comment --comment clusterguard.portworx -j RETURN"]
      jump_first: true
      earlier_accepts: []
      removed_chains: []
rules:
  description: Rules of our IPv4 chain after the run, as C(iptables -S) prints them.
  returned: always
  type: list
  elements: str
set_name:
  description: Name of our IPv4 ipset, or null when the chain lists the sources itself.
  returned: always
  type: str
  sample: CLUSTERGUARD-PX-v4
sources:
  description: The allowed source networks, merged, IPv4 first.
  returned: always
  type: list
  elements: str
persisted:
  description: Files that restore the chain at boot.
  returned: always
  type: list
  elements: str
boot_unit:
  description: V(enabled), V(absent), or why it was left alone (V(no systemd)).
  returned: always
  type: str
watchdog:
  description: The watchdog timer, V(enabled), V(absent), or why it was left alone (V(no systemd)).
  returned: always
  type: str
  version_added: "3.2.0"
drift:
  description:
    - What differed from the wanted state before the run, one list per part; empty lists when nothing did.
    - Per family, V(rules) (our chain is missing or its rules differ), V(jump) (the jump from C(INPUT) is missing or
      doubled), V(set) (the ipset members differ), V(stale) (chains of ours to remove).
    - C(nftables) lists the same words for our nftables table (V(stale) where a table of ours is to go).
    - C(files) and C(boot_unit) list the paths to write or remove.
    - C(watchdog) lists the watchdog's paths to write or remove, and its timer's name where the timer is enabled
      but stopped (the run starts it).
    - The verify role reads it in check mode; it names what is wrong without changing anything.
  returned: always
  type: dict
  sample: {ipv4: [jump], ipv6: [], nftables: [], files: [], boot_unit: [], watchdog: []}
"""

import fcntl
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall_plan as fp
from ansible_collections.clusterguard.portworx.plugins.module_utils import nft
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib

SETTLE_ATTEMPTS = 10


def ssh_connection():
    """(client, server port) of the SSH session this module runs under, or None.

    sudo drops SSH_CONNECTION from the environment, so the parents' environments
    are read as well: the shell that sshd started still has it."""
    pid = os.getpid()
    seen = 0
    while pid > 1 and seen < 32:
        seen += 1
        value = os.environ.get("SSH_CONNECTION") if pid == os.getpid() else None
        if value is None:
            try:
                with open("/proc/%d/environ" % pid, "rb") as handle:
                    for item in handle.read().split(b"\0"):
                        if item.startswith(b"SSH_CONNECTION="):
                            value = item.split(b"=", 1)[1].decode("ascii", "replace")
            except OSError:
                value = None
        if value:
            parts = value.split()
            if len(parts) == 4 and parts[3].isdigit():
                return parts[0], int(parts[3])
        try:
            with open("/proc/%d/stat" % pid) as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
    return None


class PortFirewall:
    """The I/O of one run: arguments, the lock, reads, commands and writes. What to change is
    decided in module_utils/firewall_plan."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.chain = params["chain"]
        self.state = params["state"]
        self.check = module.check_mode
        self.persist_dir = params["persist_dir"].rstrip("/") or "/"
        self.files_wanted = self.state == "present" and params["persist"]
        self.unit_wanted = self.files_wanted and params["boot_unit"]
        self.watchdog_wanted = self.unit_wanted and params["watchdog"]
        self.use_nft = params["backend"] == "nftables"
        self.nft_plan = None
        self.missing = []
        self.plans = {}
        self.unit_args = ""
        self.other_backend = "legacy"
        self.want = fp.Wanted(chain=self.chain, present=self.state == "present", port_ranges=[],
                              sources={"ipv4": [], "ipv6": []}, protocols=params["protocols"])

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    # -- one run at a time ------------------------------------------------
    def lock(self, timeout):
        """Hold a lock on the persist directory itself (flock on the directory: no file of ours
        to leave behind) until the process ends. Where the directory does not exist yet, a check
        or an absent run has no file to keep consistent and takes no lock."""
        directory = self.persist_dir
        if not os.path.isdir(directory):
            if self.check or self.state == "absent":
                return
            os.makedirs(directory, mode=0o750)
        error = fw.directory_error(directory, os.lstat(directory))
        if error:
            self.fail("persist_dir: %s; nothing was changed" % error)
        try:
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW)
        except OSError as exc:
            self.fail("the lock on %s cannot be taken: %s; nothing was changed" % (directory, exc))
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = lock_holder(os.fstat(fd)) or "?"
                    self.fail("another run of port_firewall holds the lock on %s (pid %s) for more than %d s "
                              "(lock_timeout); nothing was changed" % (directory, holder, timeout))
                time.sleep(0.1)
        self.lock_fd = fd

    # -- commands -------------------------------------------------------
    def run(self, args, data=None, check=True):
        rc, out, err = self.module.run_command(args, data=data, binary_data=data is not None)
        if check and rc != 0:
            self.fail("%s failed (rc=%d): %s" % (" ".join(args), rc, (err or out).strip()))
        return rc, out, err

    def binary(self, name):
        return self.module.get_bin_path(name, required=False)

    # -- reading --------------------------------------------------------
    def read_family(self, ip_version, wanted):
        cmd = fw.FAMILY[ip_version][3]
        plan = fp.FamilyPlan(ip_version=ip_version, cmd=cmd, wanted=wanted, path=self.binary(cmd))
        if not plan.path:
            if wanted:
                self.missing.append("iptables")
            return plan
        rc, out, err = self.run([plan.path, "-w", "-S"], check=False)
        if rc != 0:
            if wanted and not self.check:
                self.fail("%s cannot run on this host (%s); guard this family elsewhere or leave it out of "
                          "ip_versions (host_firewall_ipv6: false)" % (cmd, err.strip()))
            plan.error = err.strip()
            return plan
        plan.table = fw.TableState(out)
        return plan

    def read_sets(self):
        path = self.binary("ipset")
        if not path:
            return None, {}
        rc, out, _err = self.run([path, "save"], check=False)
        if rc != 0:
            return None, {}
        return path, fw.parse_sets(out)

    def backend(self):
        path = self.binary("iptables") or self.binary("ip6tables")
        if not path:
            return "none"
        _rc, out, _err = self.run([path, "-V"], check=False)
        backend = "legacy" if "legacy" in out else "nf_tables"
        other = self.binary("iptables-%s-save" % ("nft" if backend == "legacy" else "legacy"))
        if other:
            rc, saved, _err = self.run([other], check=False)
            if rc == 0 and not self.use_nft and any(line.startswith("-A ") for line in saved.splitlines()):
                self.module.warn(
                    "both iptables back-ends hold rules on this host; our chain goes into %s, which "
                    "the iptables command uses, but the rules in the other back-end apply to packets too" % backend)
        self.other_backend = "nft" if backend == "legacy" else "legacy"
        return backend

    def other_copies(self):
        """{command: TableState} of the other back-end (iptables-legacy beside iptables-nft, or the
        reverse), per family, where a chain or jump of ours is: packets meet both back-ends, so a
        copy there keeps dropping (or stops guarding) whatever this back-end says."""
        found = {}
        for ip_version in fp.FAMILIES:
            cmd = "%s-%s" % (fw.FAMILY[ip_version][3], self.other_backend)
            save = self.binary(cmd + "-save")
            if not save or not self.binary(cmd + "-restore"):
                continue
            # -save without -t lists only the tables that exist: it loads no kernel module and
            # creates no table, as "-S" would on a host that never used that back-end
            rc, out, _err = self.run([save], check=False)
            if rc != 0:
                continue
            table = fw.TableState(fw.filter_rules_of_save(out))
            if table.our_chains() or table.marked_jumps():
                found[cmd] = table
        return found

    def read_file(self, path):
        try:
            with open(path) as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def our_files(self, directory):
        out = []
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return out
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or not name.endswith((".rules", ".ipset", ".nft")):
                continue
            first = (self.read_file(path) or "").split("\n", 1)[0]
            if fw.is_our_file(first):
                out.append(path)
        return out

    def read_files(self, wanted):
        """{path: (content, mode)} of our files (in the persist directory and the one the unit
        names) and of every wanted path."""
        dirs = [self.persist_dir]
        old_dir = fw.unit_persist_dir(self.read_file(fw.UNIT_PATH))
        if old_dir and old_dir not in dirs:
            dirs.append(old_dir)
        paths = [p for d in dirs for p in self.our_files(d)] + list(wanted)
        return {p: (self.read_file(p), os.stat(p).st_mode if os.path.exists(p) else None) for p in paths}

    # -- writing --------------------------------------------------------
    def write(self, path, content, mode):
        """Write a whole file or none: a temporary file beside it, never through a link, synced,
        renamed over it, and the directory synced, so a crash leaves the old file or the new one."""
        directory = os.path.dirname(path)
        if content is None:
            if os.path.lexists(path):
                os.remove(path)
                fsync_dir(directory)
            return
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750)
        error = fw.directory_error(directory, os.lstat(directory))
        if error:
            self.fail(error)
        tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
                os.fsync(handle.fileno())
            os.rename(tmp, path)  # replaces a link at path itself, never what it points to
        except BaseException:
            if os.path.lexists(tmp):
                os.remove(tmp)
            raise
        fsync_dir(directory)

    def timer_active(self):
        """Whether the watchdog's timer runs; True where that is not asked or cannot be known."""
        systemctl = self.binary("systemctl")
        if not (self.watchdog_wanted and systemctl and os.path.isdir("/run/systemd/system")):
            return True
        return self.run([systemctl, "is-active", "--quiet", fw.WATCHDOG_TIMER], check=False)[0] == 0

    def apply_unit(self, changes):
        """The boot unit and the watchdog: files, then systemd told (where it runs)."""
        systemctl = self.binary("systemctl")
        running = os.path.isdir("/run/systemd/system") and systemctl
        if changes.get(fw.WATCHDOG_WANTS, "") is None and running:
            self.run([systemctl, "disable", "--now", fw.WATCHDOG_TIMER], check=False)
        if changes.get(fw.UNIT_WANTS, "") is None and running:
            self.run([systemctl, "disable", fw.UNIT_NAME], check=False)
        for path in (fw.RESTORE_SCRIPT, fw.WATCHDOG_SCRIPT, fw.UNIT_PATH, fw.WATCHDOG_SERVICE_PATH,
                     fw.WATCHDOG_TIMER_PATH, fw.UNIT_WANTS, fw.WATCHDOG_WANTS):
            if path in changes and changes[path] != "enable":
                script = path in (fw.RESTORE_SCRIPT, fw.WATCHDOG_SCRIPT)
                self.write(path, changes[path], 0o755 if script else 0o644)
        units = (fw.UNIT_PATH, fw.WATCHDOG_SERVICE_PATH, fw.WATCHDOG_TIMER_PATH)
        if running and any(path in changes for path in units):
            self.run([systemctl, "daemon-reload"])
        if changes.get(fw.UNIT_WANTS) == "enable":
            self.run([systemctl, "enable", fw.UNIT_NAME])
        if changes.get(fw.WATCHDOG_WANTS) == "enable":
            self.run([systemctl, "enable", "--now", fw.WATCHDOG_TIMER])
        elif running and changes.get(fw.WATCHDOG_TIMER_PATH):  # a new interval counts from now
            self.run([systemctl, "restart", fw.WATCHDOG_TIMER])
        elif running and changes.get(fw.WATCHDOG_TIMER) == "start":  # enabled, but someone stopped it
            self.run([systemctl, "start", fw.WATCHDOG_TIMER])

    # -- the run --------------------------------------------------------
    def check_arguments(self):
        """Every argument, before any command runs or any lock is taken."""
        params = self.module.params
        for option, error in (("chain", fw.chain_error(self.chain)),
                              ("persist_dir", fw.persist_dir_error(params["persist_dir"])),
                              ("settle", fw.settle_error(params["settle"])),
                              ("watchdog_interval", fw.watchdog_error(params["watchdog_interval"])),
                              ("chain", nft.table_error(self.chain) if self.use_nft else None)):
            if error:
                self.fail("%s: %s" % (option, error))
        if not 0 <= params["lock_timeout"] <= 3600:
            self.fail("lock_timeout: %r must be 0 to 3600 seconds" % params["lock_timeout"])
        if not self.want.present:
            return
        try:
            self.want.port_ranges = portlib.parse_ports(params["ports"] or [])
            self.want.udp_ranges = portlib.parse_ports(params["udp_ports"] or [])
            self.want.sources = fw.split_sources(params["sources"])
        except (portlib.PortSpecError, fw.FirewallSpecError) as exc:
            self.fail(str(exc))
        if not self.want.port_ranges:
            self.fail("ports: at least one port is required with state=present")
        error = fp.ssh_cut_error(ssh_connection(), self.want.port_ranges, self.want.sources, params["ip_versions"])
        if error:
            self.fail(error)
        tcp = self.want.port_ranges if "tcp" in params["protocols"] else []
        udp = portlib.parse_ports(["%d-%d" % r for r in self.want.udp_ranges + (
            self.want.port_ranges if "udp" in params["protocols"] else [])])
        self.unit_args = fw.unit_args(params["ip_versions"], tcp, udp, params["backend"])

    def main(self):
        params = self.module.params
        self.check_arguments()
        want = self.want
        # every argument is checked: from here to the last write, one run at a time
        self.lock(params["lock_timeout"])

        backend = self.backend()  # the iptables command's, also with nftables: copies of ours there go
        if self.use_nft:
            backend = "nftables"
        ipset_path, use_set = self.plan_tables()
        self.plan_nft()
        for command in ("iptables", "nftables"):
            if command in self.missing and not self.check:
                self.fail("%s is not installed on this host (missing: %s)" % (
                    "nft" if command == "nftables" else command, ", ".join(self.missing)), missing_packages=self.missing)

        wanted_files = {}
        if self.files_wanted and self.use_nft:
            if self.nft_plan is not None and self.nft_plan.text:  # None: nft is missing (check mode)
                for name, content in nft.persisted_file(self.chain, self.nft_plan.text).items():
                    wanted_files[os.path.join(self.persist_dir, name)] = content
        elif self.files_wanted:
            for ip_version, plan in self.plans.items():
                if plan.wanted and plan.readable:
                    for name, content in fw.persisted_files(self.chain, ip_version, want.sources[ip_version],
                                                            want.port_ranges, want.protocols, use_set,
                                                            want.udp_ranges).items():
                        wanted_files[os.path.join(self.persist_dir, name)] = content
        file_changes = fp.file_changes(wanted_files, self.read_files(wanted_files))
        unit_changes, unit_status = fp.unit_changes(
            self.unit_wanted, os.path.isdir("/run/systemd/system"), self.read_file(fw.UNIT_PATH),
            self.read_file(fw.RESTORE_SCRIPT), os.path.islink(fw.UNIT_WANTS),
            fw.unit_file(self.persist_dir, self.chain, self.unit_args), fw.restore_script())
        watchdog_want = dict(fw.watchdog_units(self.persist_dir, self.chain, self.unit_args,
                                               params["watchdog_interval"]), **{fw.WATCHDOG_SCRIPT: fw.watchdog_script()})
        watchdog_changes, watchdog_status = fp.watchdog_changes(
            self.watchdog_wanted, os.path.isdir("/run/systemd/system"),
            {path: self.read_file(path) for path in watchdog_want}, os.path.islink(fw.WATCHDOG_WANTS), watchdog_want,
            active=self.timer_active())
        unit_changes.update(watchdog_changes)

        for directory in sorted({os.path.dirname(p) for p in list(file_changes) + list(unit_changes)}):
            if os.path.lexists(directory):
                error = fw.directory_error(directory, os.lstat(directory))
                if error:
                    self.fail("%s; nothing was changed" % error)
        leftovers = self.last_resort_leftovers()
        try:
            warnings, other_copies = fp.other_copies(self.other_copies(), want.present and not self.use_nft)
        except fp.PlanError as exc:
            self.fail(str(exc))
        for warning in warnings:
            self.module.warn(warning)
        changed = (any(p.changed for p in self.plans.values() if p.readable)
                   or bool(file_changes) or bool(unit_changes) or bool(leftovers) or bool(other_copies)
                   or ("nftables" if self.use_nft else "iptables") in self.missing
                   or (self.nft_plan is not None and self.nft_plan.changed))
        kept = sorted({s for p in self.plans.values() if p.readable for s in p.kept_sets})
        if kept and changed:
            self.module.warn("left in place, unused: ipset %s (%s would create it again)" % (
                ", ".join(kept), ", ".join(fp.rewriters(self.plans))))
        if changed and not self.check:
            # the new guard first, then the old one goes: no moment without either
            if self.use_nft:
                self.apply_nft()
            self.apply(ipset_path)
            self.settle()
            if not self.use_nft:
                self.apply_nft()
            self.remove_last_resort(leftovers)
            for cmd, payload in sorted(other_copies.items()):
                self.run([self.binary(cmd + "-restore"), "-w", "--noflush"], data=payload)
            for path, content in sorted(file_changes.items()):
                self.write(path, content, 0o640)
            self.apply_unit(unit_changes)
        self.module.exit_json(**fp.result(self.chain, self.plans, changed, self.missing, backend, wanted_files,
                                          file_changes, unit_changes, unit_status, diff=self.module._diff,
                                          watchdog_status=watchdog_status, nftplan=self.nft_plan, use_nft=self.use_nft))

    def plan_tables(self):
        """Read both families and the ipsets and plan each family; (ipset path, whether a set is used)."""
        mode = "never" if self.use_nft else self.module.params["ipset"]
        present = self.want.present and not self.use_nft  # with nftables, what is ours in iptables goes
        self.missing = []
        ipset_path, sets = self.read_sets()
        if present and mode != "never" and not self.binary("ipset"):
            self.missing.append("ipset")
            if mode == "always" and not self.check:
                self.fail("ipset=always but the ipset command is not installed")
        if present and mode != "never" and self.binary("ipset") and not ipset_path:
            if mode == "always" and not self.check:
                self.fail("ipset=always but the ipset command does not work on this host")
        for ip_version in fp.FAMILIES:
            wanted = present and ip_version in self.module.params["ip_versions"]
            self.plans[ip_version] = self.read_family(ip_version, wanted)
        found = fp.rewriters(self.plans)
        use_set = fp.use_set(present, mode, bool(ipset_path), found)
        if found and present and mode == "always":
            self.module.warn("ipset=always on a host where %s runs: it puts ipsets it does not own back as it saw "
                             "them (cloudnativelabs/kube-router#1677), which undoes our changes to the set; "
                             "ipset=auto uses one rule per source there" % ", ".join(found))
        try:
            for plan in self.plans.values():
                if plan.readable:
                    fp.family_plan(plan, self.want, sets, use_set, keep_sets=bool(found))
        except fp.PlanError as exc:
            self.fail(str(exc))
        self.missing = sorted(set(self.missing))
        return ipset_path, use_set

    def plan_nft(self):
        """Read the nftables ruleset and plan our table: wanted with backend nftables; otherwise only
        tables of ours to remove, and a host where nft is missing or cannot run has none."""
        wanted = self.use_nft and self.want.present
        path = self.binary("nft")
        if not path:
            if wanted:
                self.missing = sorted(set(self.missing) | {"nftables"})
            return
        rc, out, err = self.run([path, "-j", "list", "ruleset"], check=False)
        if rc != 0:
            if wanted and not self.check:
                self.fail("nft cannot run on this host (%s); use host_firewall_backend: iptables here" % err.strip())
            return
        try:
            tables = nft.parse_ruleset(out)
        except nft.NftError as exc:
            if wanted:
                self.fail(str(exc))
            return
        params = self.module.params
        self.nft_plan = nft.plan(tables, self.chain, wanted, self.want.sources, self.want.port_ranges,
                                 self.want.protocols, params["ip_versions"], self.want.udp_ranges)
        if self.nft_plan.error:
            self.fail("chain (host_firewall_chain): %s" % self.nft_plan.error)

    def apply_nft(self):
        if self.nft_plan is not None and self.nft_plan.changed:
            self.run([self.binary("nft"), "-f", "-"], data=self.nft_plan.payload())

    def last_resort_leftovers(self):
        """What the restore script's last resort left, when no iptables worked at boot: nftables
        tables of ours, and IPv6 turned off. Our chain replaces them; they go in the same run."""
        found = []
        nft = self.binary("nft")
        if nft:
            for family in ("ip", "ip6"):
                rc, _out, _err = self.run([nft, "list", "table", family, fw.NFT_LAST_RESORT], check=False)
                if rc == 0:
                    found.append("nft table %s %s" % (family, fw.NFT_LAST_RESORT))
        if os.path.exists(fw.IPV6_OFF):
            found.append("IPv6 turned off")
        if found:
            self.module.warn("the boot restore's last resort is in place (%s): the files or iptables failed at boot; "
                             "see the journal of %s. This run removes it." % (", ".join(found), fw.UNIT_NAME))
        return found

    def remove_last_resort(self, leftovers):
        for item in leftovers:
            if item.startswith("nft table "):
                family = item.split()[2]
                self.run([self.binary("nft"), "delete", "table", family, fw.NFT_LAST_RESORT])
            elif os.path.exists(fw.IPV6_OFF):
                for scope in ("default", "all"):
                    with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % scope, "w") as handle:
                        handle.write("0\n")
                os.remove(fw.IPV6_OFF)

    def settle(self):
        """Where a whole-table rewriter runs, a sync that was under way when we wrote puts its old
        copy back when it ends, and undoes our change. Read back once every sync that may have
        begun before the write has ended, and write again while the change keeps being undone."""
        found = fp.rewriters(self.plans)
        if not found or not any(p.changed for p in self.plans.values() if p.readable):
            return  # nothing was written to the shared tables (our nftables table is not among them)
        undone = 0
        for _attempt in range(SETTLE_ATTEMPTS):
            time.sleep(self.module.params["settle"])
            ipset_path, _use_set = self.plan_tables()
            if not any(p.changed for p in self.plans.values() if p.readable):
                if undone:
                    self.module.warn("%s undid our change %d time(s) (it writes whole tables back at the end of "
                                     "each sync); written again and read back as wanted" % (", ".join(found), undone))
                return
            undone += 1
            self.apply(ipset_path)
        self.fail("%s undid our change %d times in a row (it writes whole tables back at the end of each sync): run "
                  "again when it is quieter" % (", ".join(found), undone))

    def apply(self, ipset_path):
        for plan in self.plans.values():
            if not plan.readable or not plan.changed:
                continue
            if plan.set_changed:
                self.run([ipset_path, "restore"], data=fw.ipset_payload(
                    plan.set_name, plan.ip_version, plan.sources, plan.set_exists))
            if plan.chain_changed:
                target = self.chain if plan.wanted else None
                payload = fw.restore_payload(target, plan.want_rules, insert_jump=plan.insert_jump,
                                             delete_jumps=plan.delete_jumps, drop_chains=plan.stale)
                self.run([self.binary(plan.cmd + "-restore"), "-w", "--noflush"], data=payload)
            for name in plan.destroy_sets:
                self.run([ipset_path, "destroy", name], check=False)


def lock_holder(st):
    """The pid that holds a flock on the file ``st`` describes, from /proc/locks, or None."""
    try:
        with open("/proc/locks") as handle:
            for line in handle:
                words = line.split()
                if len(words) >= 6 and words[1] == "FLOCK":
                    major, minor, inode = words[5].split(":")
                    if int(inode) == st.st_ino and os.makedev(int(major, 16), int(minor, 16)) == st.st_dev:
                        return words[4]
    except (OSError, ValueError):
        return None
    return None


def fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            chain=dict(type="str", default="CLUSTERGUARD-PX"),
            ip_versions=dict(type="list", elements="str", choices=["ipv4", "ipv6"], default=["ipv4", "ipv6"]),
            ports=dict(type="list", elements="str"),
            protocols=dict(type="list", elements="str", choices=["tcp", "udp"], default=["tcp"]),
            udp_ports=dict(type="list", elements="str", default=[]),
            sources=dict(type="list", elements="str", default=[]),
            ipset=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            persist=dict(type="bool", default=True),
            persist_dir=dict(type="str", default="/etc/clusterguard"),
            boot_unit=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            settle=dict(type="float", default=1.0),
            lock_timeout=dict(type="int", default=60),
            watchdog=dict(type="bool", default=False),
            watchdog_interval=dict(type="int", default=30),
            backend=dict(type="str", choices=["iptables", "nftables"], default="iptables"),
        ),
        required_if=[("state", "present", ("ports",))],
        supports_check_mode=True,
    )
    PortFirewall(module).main()


if __name__ == "__main__":
    main()
