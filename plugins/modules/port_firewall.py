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
  - Owns one iptables (or ip6tables) chain in the C(filter) table, reached by one jump at the
    top of C(INPUT). In that chain, loopback and the allowed sources return to C(INPUT), and every
    other packet for the guarded ports is dropped.
  - Changes are one C(iptables-restore --noflush) transaction that names our chain only, so rules
    of kube-proxy, the CNI, Docker or the administrator stay as they are. The jump is added when
    missing and never moved.
  - With an ipset (C(hash:net)) the chain holds a fixed number of rules however many sources there
    are; the set is refilled through C(ipset swap), so it is never half full.
  - The kernel is only written when its state differs from the wanted one, so a second run
    changes nothing.
  - Uses whichever back-end (nf_tables or legacy) the host's C(iptables) command uses, and warns
    when the other back-end also holds rules.
  - Refuses to guard the port of the SSH connection it runs over, unless the client is an allowed source.
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
    description: Name of our chain. It must not be used by anything else.
    type: str
    default: CLUSTERGUARD-PX
  ip_version:
    description: V(ipv4) for iptables, V(ipv6) for ip6tables.
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
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
  sources:
    description: Networks of O(ip_version) allowed to reach O(ports). Loopback always is.
    type: list
    elements: str
    default: []
  ipset:
    description:
      - V(auto) uses an ipset when the C(ipset) command works on the host, V(always) fails without
        one, V(never) writes one rule per source network.
    type: str
    choices: [auto, always, never]
    default: auto
  set_name:
    description: Name of our ipset. Defaults to O(chain) followed by C(-v4) or C(-v6).
    type: str
  persist_dir:
    description:
      - Directory for the files that restore our chain at boot (C(<chain>.<v4|v6>.rules) and
        C(.ipset)). An empty string keeps nothing on disk.
    type: path
    default: /etc/clusterguard
  state:
    description: V(absent) removes our jump, chain, ipset and persisted files, and nothing else.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - iptables (nf_tables or legacy back-end)
  - ipset, for O(ipset=always) or to benefit from O(ipset=auto)
notes:
  - Packets from allowed sources are not accepted by our chain; they return to C(INPUT), where
    the rest of the host's firewall decides.
seealso:
  - module: ansible.builtin.iptables
  - module: community.general.iptables_state
"""

EXAMPLES = r"""
- name: Only the workers reach the Portworx API ports
  clusterguard.portworx.port_firewall:
    ports: ["9001-9022"]
    sources: ["10.0.0.0/30", "10.0.0.9/32"]

- name: The same for IPv6, without ipset
  clusterguard.portworx.port_firewall:
    ip_version: ipv6
    ports: ["9001-9022"]
    sources: ["fd00::1/128"]
    ipset: never

- name: Remove everything the module made
  clusterguard.portworx.port_firewall:
    ip_version: ipv4
    state: absent
"""

RETURN = r"""
backend:
  description: Back-end of the host's iptables command.
  returned: always
  type: str
  sample: nf_tables
rules:
  description: Rules of our chain after the run, as C(iptables -S) prints them.
  returned: always
  type: list
  elements: str
  sample: ["-A CLUSTERGUARD-PX -i lo -j RETURN", "-A CLUSTERGUARD-PX -p tcp -m multiport --dports 9001:9022 -j DROP"]
set_name:
  description: Name of our ipset, or null when the chain lists the sources itself.
  returned: always
  type: str
  sample: CLUSTERGUARD-PX-v4
sources:
  description: The allowed source networks, merged.
  returned: always
  type: list
  elements: str
persisted:
  description: Files written for boot-time restore.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports as portlib


class PortFirewall:
    def __init__(self, module):
        self.module = module
        params = module.params
        self.chain = params["chain"]
        self.version = params["ip_version"]
        self.suffix = "v4" if self.version == "ipv4" else "v6"
        self.cmd = "iptables" if self.version == "ipv4" else "ip6tables"
        self.set_name = params["set_name"] or "%s-%s" % (self.chain, self.suffix)
        self.persist_dir = params["persist_dir"]

    # -- commands -------------------------------------------------------
    def run(self, args, data=None, check=True):
        rc, out, err = self.module.run_command(args, data=data, binary_data=data is not None)
        if check and rc != 0:
            self.module.fail_json(msg="%s failed (rc=%d): %s" % (" ".join(args), rc, (err or out).strip()))
        return rc, out, err

    def binary(self, name, required=True):
        return self.module.get_bin_path(name, required=required)

    # -- reading the kernel --------------------------------------------
    def backend(self):
        _rc, out, _err = self.run([self.binary(self.cmd), "-V"])
        backend = "legacy" if "legacy" in out else "nf_tables"
        other = "%s-%s-save" % (self.cmd, "nft" if backend == "legacy" else "legacy")
        other_bin = self.binary(other, required=False)
        if other_bin:
            rc, saved, _err = self.run([other_bin], check=False)
            if rc == 0 and any(line.startswith("-A ") for line in saved.splitlines()):
                self.module.warn(
                    "both iptables back-ends hold rules on this host; our chain goes into %s, which "
                    "'%s' uses, but the rules in the other back-end apply to packets too" % (backend, self.cmd)
                )
        return backend

    def current_rules(self):
        rc, out, _err = self.run([self.binary(self.cmd), "-w", "-S", self.chain], check=False)
        if rc != 0:
            return None
        return [line for line in out.splitlines() if line.startswith("-A ")]

    def current_jumps(self):
        _rc, out, _err = self.run([self.binary(self.cmd), "-w", "-S", "INPUT"])
        return sum(1 for line in out.splitlines() if line.strip() == fw.jump_rule(self.chain))

    def ipset_bin(self):
        mode = self.module.params["ipset"]
        if mode == "never":
            return None
        path = self.binary("ipset", required=False)
        if path:
            rc, _out, err = self.run([path, "list", "-n"], check=False)
            if rc != 0:
                if mode == "always":
                    self.module.fail_json(msg="ipset does not work on this host: %s" % err.strip())
                path = None
        elif mode == "always":
            self.module.fail_json(msg="ipset=always but the ipset command is not installed")
        return path

    def current_members(self, ipset):
        if not ipset:
            return None
        rc, out, _err = self.run([ipset, "save", self.set_name], check=False)
        if rc != 0:
            return None
        return fw.parse_set_members(out, self.set_name)

    # -- persistence ----------------------------------------------------
    def persist_paths(self):
        if not self.persist_dir:
            return []
        base = os.path.join(self.persist_dir, "%s.%s" % (self.chain, self.suffix))
        return [base + ".rules", base + ".ipset"]

    def sync_file(self, path, content):
        """Write (or with content None, remove) one file; True when it changed."""
        old = None
        if os.path.exists(path):
            with open(path) as handle:
                old = handle.read()
        if old == content:
            return False
        if not self.module.check_mode:
            if content is None:
                os.remove(path)
            else:
                os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
                tmp = path + ".tmp"
                with open(tmp, "w") as handle:
                    handle.write(content)
                os.chmod(tmp, 0o640)
                self.module.atomic_move(tmp, path)
        return True

    # -- the two states -------------------------------------------------
    def check_ssh_port(self, port_ranges, sources):
        conn = os.environ.get("SSH_CONNECTION", "").split()
        if len(conn) != 4 or not conn[3].isdigit():
            return
        client, port = conn[0], int(conn[3])
        if not portlib.intersect(port_ranges, [(port, port)]):
            return
        import ipaddress

        addr = ipaddress.ip_address(client.split("%")[0])
        if addr.version == (4 if self.version == "ipv4" else 6) and not any(
            addr in ipaddress.ip_network(s) for s in sources
        ):
            self.module.fail_json(
                msg="ports %s include %d, the SSH port this run is connected on, and the client %s is "
                "not an allowed source: this would cut the connection" % (
                    ",".join(portlib.range_strings(port_ranges)), port, client)
            )

    def present(self):
        params = self.module.params
        if not params["ports"]:
            self.module.fail_json(msg="ports is required with state=present")
        try:
            port_ranges = portlib.parse_ports(params["ports"])
            sources = fw.normalize_sources(params["sources"], self.version)
        except (portlib.PortSpecError, fw.FirewallSpecError) as exc:
            self.module.fail_json(msg=str(exc))
        self.check_ssh_port(port_ranges, sources)
        backend = self.backend()
        ipset = self.ipset_bin()
        set_name = self.set_name if ipset else None

        want_rules = fw.chain_rules(self.chain, sources, port_ranges, params["protocols"], set_name)
        have_rules = self.current_rules()
        jumps = self.current_jumps() if have_rules is not None else 0
        have_members = self.current_members(ipset)
        want_members = sources if ipset else None
        stale_set = None if ipset else self.stale_set()

        set_changed = bool(ipset) and have_members != want_members
        chain_changed = have_rules != want_rules or jumps != 1
        changed = set_changed or chain_changed or bool(stale_set)

        if changed and not self.module.check_mode:
            if set_changed:
                self.run([ipset, "restore"], data=fw.ipset_swap_payload(
                    self.set_name, self.version, sources, have_members is not None))
            if chain_changed:
                payload = fw.restore_payload(
                    self.chain, want_rules, insert_jump=jumps == 0, delete_jumps=max(0, jumps - 1))
                self.run([self.binary(self.cmd + "-restore"), "-w", "--noflush"], data=payload)
            if stale_set:
                self.run([stale_set, "destroy", self.set_name])

        persisted = []
        paths = self.persist_paths()
        if paths:
            rules_file, set_file = paths
            changed |= self.sync_file(rules_file, fw.persisted_rules(self.chain, want_rules))
            changed |= self.sync_file(set_file, fw.ipset_swap_payload(
                self.set_name, self.version, sources, False) if ipset else None)
            persisted = [p for p in paths if ipset or p == rules_file]

        self.exit(changed, backend, want_rules, set_name, sources, persisted,
                  before=fw.state_text(set_name, have_members or [], have_rules or [], jumps, self.chain),
                  after=fw.state_text(set_name, want_members or [], want_rules, 1, self.chain))

    def stale_set(self):
        """Our set, left over from a run with ipset, now that we run without."""
        path = self.binary("ipset", required=False)
        if path and self.run([path, "list", "-n", self.set_name], check=False)[0] == 0:
            return path
        return None

    def absent(self):
        backend = self.backend()
        have_rules = self.current_rules()
        jumps = self.current_jumps()
        ipset = self.binary("ipset", required=False)
        have_members = self.current_members(ipset)
        changed = have_rules is not None or jumps > 0 or have_members is not None
        if not self.module.check_mode:
            if have_rules is not None:
                self.run([self.binary(self.cmd + "-restore"), "-w", "--noflush"],
                         data=fw.removal_payload(self.chain, jumps))
            elif jumps:
                for _jump in range(jumps):
                    self.run([self.binary(self.cmd), "-w", "-D", "INPUT", "-j", self.chain])
            if have_members is not None:
                self.run([ipset, "destroy", self.set_name])
        for path in self.persist_paths():
            changed |= self.sync_file(path, None)
        set_name = self.set_name if have_members is not None else None
        self.exit(changed, backend, [], None, [], [],
                  before=fw.state_text(set_name, have_members or [], have_rules or [], jumps, self.chain),
                  after="")

    def exit(self, changed, backend, rules, set_name, sources, persisted, before, after):
        result = dict(changed=changed, backend=backend, rules=rules, set_name=set_name,
                      sources=sources, persisted=persisted)
        if self.module._diff:
            label = "%s %s" % (self.cmd, self.chain)
            result["diff"] = dict(before=before, after=after, before_header=label, after_header=label)
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            chain=dict(type="str", default="CLUSTERGUARD-PX"),
            ip_version=dict(type="str", choices=["ipv4", "ipv6"], default="ipv4"),
            ports=dict(type="list", elements="str"),
            protocols=dict(type="list", elements="str", choices=["tcp", "udp"], default=["tcp"]),
            sources=dict(type="list", elements="str", default=[]),
            ipset=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            set_name=dict(type="str"),
            persist_dir=dict(type="path", default="/etc/clusterguard"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    chain = module.params["chain"]
    if not chain or len(chain) > 28 or not all(c.isalnum() or c in "-_" for c in chain):
        module.fail_json(msg="chain %r must be 1-28 letters, digits, '-' or '_'" % (chain,))
    guard = PortFirewall(module)
    if len(guard.set_name) > 29:
        module.fail_json(msg="set_name %r is longer than 29 characters" % (guard.set_name,))
    if module.params["state"] == "present":
        guard.present()
    else:
        guard.absent()


if __name__ == "__main__":
    main()
