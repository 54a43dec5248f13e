#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tcp_probe
short_description: Open TCP connections (and send UDP datagrams) from this host and tell which ones a firewall drops
version_added: "2.1.0"
description:
  - Tries a TCP connection to every target at once (in threads), each bounded by O(timeout), and reports what
    happened. Nothing is sent after the handshake and nothing on the host changes.
  - A connection that opens or is refused (a TCP reset) reached the target host; one that times out was
    dropped on the way, as a C(DROP) rule does.
  - No route, a network or host unreachable (which a firewall rejecting with C(icmp-host-prohibited) also
    gives), or a local rule that refuses to send (C(EPERM), C(EACCES)) is V(error), not V(dropped). No packet
    is known to have met the target's firewall, so the probe proves nothing either way.
  - A target with C(protocol=udp) gets one datagram instead. An answer, or an ICMP port unreachable, means it
    reached the host; no answer within O(timeout) counts as dropped. UDP cannot tell a C(DROP) from a listener
    that stays silent, so a dropped UDP probe is weaker evidence than a dropped TCP one.
  - The verify role runs it from an outside vantage point and from each worker.
author: clusterguard.portworx contributors (@clusterguard)
options:
  targets:
    description:
      - The connections to try. Each has an C(address) (IPv4 or IPv6), a C(port) and, optionally, a C(protocol)
        (V(tcp), the default, or V(udp)); other keys are returned as they are, so that the caller can tell the
        results apart.
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 2.0
  parallel:
    description: Connections tried at the same time.
    type: int
    default: 64
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module changes nothing; it probes in check mode as well.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Is 9001 of the workers reachable from here?
  clusterguard.portworx.tcp_probe:
    targets:
      - {address: 10.0.0.11, port: 9001, host: worker-1}
      - {address: "fd00::11", port: 9001, host: worker-1}
    timeout: 1.5
  register: probe
"""

RETURN = r"""
results:
  description: One entry per target, in the order given, with the target's keys and what was found.
  returned: always
  type: list
  elements: dict
  contains:
    outcome:
      description: V(open) (connected), V(refused) (reached, nothing listens), V(dropped) (timed out), or
        V(error) (the probe could not be made, as with no route, an unreachable network or host, or a local refusal;
        see C(error)).
      type: str
    reached:
      description: Whether the connection reached the target host (V(open) or V(refused)).
      type: bool
    source:
      description: The local address the connection left from, when known.
      type: str
    seconds:
      description: How long the attempt took.
      type: float
    error:
      description: Why the probe could not be made or was dropped, in words.
      type: str
  sample:
    - {address: 10.0.0.11, port: 9001, outcome: dropped, reached: false, source: 10.0.0.5, seconds: 2.0}
"""

import errno
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

# Only a timeout means the target's firewall dropped the packet. No route, an unreachable host or
# network, or a local rule that refused to send (EPERM, EACCES) means no packet reached the target:
# the probe could not be made, and proves nothing.
DROPPED_ERRORS = (errno.ETIMEDOUT,)


def probe(address, port, timeout, protocol="tcp"):
    """(outcome, source, seconds, error) of one connection attempt (one datagram for UDP)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    start = time.monotonic()
    sock = socket.socket(family, socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM)
    source, error = None, None
    try:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            if protocol == "udp":
                sock.send(b"clusterguard.portworx probe")
                sock.recv(512)
            outcome = "open"
        except ConnectionRefusedError:
            outcome = "refused"
        except socket.timeout:
            outcome, error = "dropped", "no answer in %.1f s" % timeout
        except OSError as exc:
            if exc.errno in DROPPED_ERRORS:
                outcome, error = "dropped", exc.strerror or str(exc)
            else:
                outcome, error = "error", exc.strerror or str(exc)
        try:
            source = sock.getsockname()[0]
        except OSError:
            source = None
    finally:
        sock.close()
    if source in ("0.0.0.0", "::"):
        source = None
    return outcome, source, round(time.monotonic() - start, 3), error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="dict", required=True),
            timeout=dict(type="float", default=2.0),
            parallel=dict(type="int", default=64),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] <= 0 or params["timeout"] > 60:
        module.fail_json(msg="timeout: %r must be more than 0 and at most 60 seconds" % params["timeout"])
    if params["parallel"] < 1:
        module.fail_json(msg="parallel: %r must be at least 1" % params["parallel"])
    targets = []
    for index, target in enumerate(params["targets"]):
        try:
            address = str(ipaddress.ip_address(str(target.get("address", ""))))
            port = int(target.get("port"))
            if not 1 <= port <= 65535:
                raise ValueError("port out of range")
            protocol = str(target.get("protocol", "tcp"))
            if protocol not in ("tcp", "udp"):
                raise ValueError("protocol")
        except (TypeError, ValueError):
            module.fail_json(msg="targets[%d]: %r needs an IP address and a port from 1 to 65535 (and a protocol, tcp "
                                 "or udp)" % (index, target))
        targets.append((target, address, port, protocol))

    def one(item):
        target, address, port, protocol = item
        outcome, source, seconds, error = probe(address, port, params["timeout"], protocol)
        found = dict(target, address=address, port=port, outcome=outcome, reached=outcome in ("open", "refused"),
                     source=source, seconds=seconds)
        if error:
            found["error"] = error
        return found

    with ThreadPoolExecutor(max_workers=min(params["parallel"], max(1, len(targets)))) as pool:
        results = list(pool.map(one, targets))
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
