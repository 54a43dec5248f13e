# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between the pure helpers and Ansible's filter errors."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports
from ansible_collections.clusterguard.portworx.plugins.plugin_utils import netcalc

PORT_STYLES = ("ranges", "strings", "iptables", "networkpolicy")


def filter_errors(name, *more):
    """Report helper errors (bad addresses and ports, and the ``more`` exception types of the
    helpers a filter calls) as AnsibleFilterError prefixed by the filter name."""
    caught = (netcalc.AddressError, ports.PortSpecError) + more

    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except caught as exc:
                raise AnsibleFilterError("%s: %s" % (name, exc)) from None

        return inner

    return wrap


def render_ports(ranges, style, protocol):
    """Return merged ranges in the style a caller asked for."""
    if style == "ranges":
        return [[lo, hi] for lo, hi in ranges]
    if style == "strings":
        return ports.range_strings(ranges)
    if style == "iptables":
        return ports.multiport_groups(ranges)
    if style == "networkpolicy":
        proto = str(protocol).upper()
        if proto not in ("TCP", "UDP", "SCTP"):
            raise ports.PortSpecError("protocol must be TCP, UDP or SCTP, got %r" % (protocol,))
        return ports.policy_ports(ranges, proto)
    raise ports.PortSpecError("style must be one of %s, got %r" % (", ".join(PORT_STYLES), style))
