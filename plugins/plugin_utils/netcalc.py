# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address arithmetic behind the clusterguard.portworx filters (controller side).

Everything here takes plain strings and returns plain strings, so the filters
stay thin and the logic is unit tested without Ansible."""

from __future__ import annotations

import socket

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - exercised by the missing-netaddr test
    netaddr = None
    HAS_NETADDR = False

MISSING_NETADDR = (
    "the clusterguard.portworx address filters need the Python package 'netaddr' "
    "on the controller: pip install netaddr"
)
FAMILIES = {4: 4, 6: 6, "4": 4, "6": 6, "ipv4": 4, "ipv6": 6}


class AddressError(ValueError):
    """An address, network or argument the filters cannot use."""


def require_netaddr():
    if not HAS_NETADDR:
        raise AddressError(MISSING_NETADDR)


def parse_family(family):
    if family is None:
        return None
    key = family.lower() if isinstance(family, str) else family
    if isinstance(key, bool) or key not in FAMILIES:
        raise AddressError("family must be 4, 6, 'ipv4' or 'ipv6', got %r" % (family,))
    return FAMILIES[key]


def parse_network(value):
    """One address or CIDR string as an IPNetwork; host bits must be clear."""
    require_netaddr()
    if not isinstance(value, str) or not value.strip():
        raise AddressError("%r is not an IP address or CIDR" % (value,))
    text = value.strip()
    try:
        net = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise AddressError("%r is not an IP address or CIDR" % (value,)) from None
    if net.version == 6 and net.ip.is_ipv4_mapped():
        raise AddressError(
            "%r is an IPv4-mapped IPv6 address; give the IPv4 address (%s) instead, or its traffic "
            "would be judged as IPv6" % (value, net.ip.ipv4()))
    if "/" not in text:
        return net  # a bare address is its own /32 or /128
    # ``10.0.0.0/8`` is accepted on purpose; ``10.1.2.3/8`` is refused,
    # because a firewall should not guess whether the host or the network was meant.
    if net.ip != net.network:
        raise AddressError(
            "%r has host bits set: give the address alone (%s) or the network (%s)"
            % (value, net.ip, net.cidr)
        )
    return net


def parse_networks(values, what="addresses"):
    require_netaddr()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise AddressError("%s must be a list of IP addresses or CIDRs, got %r" % (what, values))
    return [parse_network(v) for v in values]


def node_cidrs(values, family=None):
    """Minimal list of CIDRs covering exactly ``values``; IPv4 before IPv6.

    Bare IPv4 addresses, the common case, are parsed with ``inet_pton`` (as strict
    as netaddr: no leading zeros, no short forms); everything else goes through
    ``parse_network`` and its checks. The union is merged as integer intervals."""
    require_netaddr()
    fam = parse_family(family)
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise AddressError("addresses must be a list of IP addresses or CIDRs, got %r" % (values,))
    spans = {4: [], 6: []}
    pton, inet = socket.inet_pton, socket.AF_INET
    for value in values:
        try:
            first = int.from_bytes(pton(inet, value), "big")
            spans[4].append((first, first))
        except (OSError, TypeError, ValueError):
            net = parse_network(value)
            spans[net.version].append((net.first, net.last))
    out = []
    for version in (4, 6):
        if fam is None or fam == version:
            out.extend(_cidrs(_merge(spans[version]), version))
    return out


def _merge(spans):
    """Sorted, non-overlapping, non-adjacent (first, last) intervals covering ``spans``."""
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1][1] = last
        else:
            merged.append([first, last])
    return merged


def _cidrs(intervals, version):
    """The fewest CIDR strings that cover each interval exactly, in address order."""
    width = 32 if version == 4 else 128
    out = []
    for first, last in intervals:
        while first <= last:
            size = first & -first if first else 1 << width
            while size > last - first + 1:
                size >>= 1
            prefix = width - size.bit_length() + 1
            if version == 4:
                text = socket.inet_ntop(socket.AF_INET, first.to_bytes(4, "big"))
            else:
                text = str(netaddr.IPAddress(first, 6))
            out.append("%s/%d" % (text, prefix))
            first += size
    return out


def node_subnet(values, prefix=None, family=None):
    """The one network that holds every address (of one family)."""
    nets = parse_networks(values)
    fam = parse_family(family)
    if fam is not None:
        nets = [n for n in nets if n.version == fam]
    if not nets:
        raise AddressError("no addresses%s to build a subnet from" % (
            "" if fam is None else " of IPv%d" % fam))
    versions = sorted({n.version for n in nets})
    if len(versions) > 1:
        raise AddressError(
            "addresses mix IPv4 and IPv6 (%s); pass family=4 or family=6"
            % ", ".join(str(n) for n in nets[:4])
        )
    if prefix is None:
        if len(nets) == 1:
            return str(nets[0].cidr)
        return str(netaddr.spanning_cidr(nets))
    if isinstance(prefix, bool) or not isinstance(prefix, int):
        try:
            prefix = int(str(prefix).lstrip("/"))
        except ValueError:
            raise AddressError("prefix must be a number such as 16, got %r" % (prefix,)) from None
    width = 32 if versions[0] == 4 else 128
    if not 0 <= prefix <= width:
        raise AddressError("prefix /%d does not exist for IPv%d" % (prefix, versions[0]))
    subnet = netaddr.IPNetwork("%s/%d" % (nets[0].network, prefix)).cidr
    outside = [str(n) for n in nets if n not in subnet]
    if outside:
        raise AddressError(
            "prefix /%d cannot hold all addresses: %s is outside %s"
            % (prefix, ", ".join(outside[:4]), subnet)
        )
    return str(subnet)


def cidr_overlaps(values, others):
    """Pairs (cidr, other) of networks that share at least one address."""
    nets = parse_networks(values, "cidrs")
    other_nets = parse_networks(others, "others")
    found = []
    for net in nets:
        for other in other_nets:
            if net.version == other.version and net.first <= other.last and other.first <= net.last:
                found.append({"cidr": str(net.cidr), "other": str(other.cidr)})
    return found


# Sources wider than these are refused unless the caller opts in: they let
# (nearly) everyone in, which is what the firewall is there to prevent.
WIDE_PREFIX = {4: 12, 6: 48}


def wide_error(value):
    """Why ``value`` (an address or CIDR) is too wide to be an allowed source, or None."""
    net = parse_network(value)
    limit = WIDE_PREFIX[net.version]
    if net.prefixlen < limit:
        return ("%r holds %s addresses (a prefix shorter than /%d): it would let nearly everyone through"
                % (value, "all" if net.prefixlen == 0 else "2^%d" % (net.size.bit_length() - 1), limit))
    return None


def host_address_error(value):
    """Why ``value`` cannot be one node's address, or None."""
    try:
        net = parse_network(value)
    except AddressError as exc:
        return str(exc)
    if net.size != 1:
        return "%r is a network, not the address of one node" % (value,)
    ip = net.ip
    if ip.is_multicast() or int(ip) == 0:
        return "%r is not the unicast address of a node" % (value,)
    if ip.is_loopback():
        return "%r is a loopback address, not the node's address in the cluster" % (value,)
    return None


def inventory_addresses(hosts, lookup, variables):
    """The node addresses of inventory hosts: per host and per family, the first of
    ``variables`` that holds an address of that family wins, so a management
    address in a later variable never becomes an allowed source by accident.

    ``lookup(host, var)`` returns the variable's value or None. A host that holds
    no address in any variable counts with its inventory name when that is an
    address. Returns ([(host, var, address)], [error strings])."""
    found, errors = [], []
    for host in hosts:
        families, host_errors = {}, []
        for var in variables:
            value = lookup(host, var)
            if value in (None, ""):
                continue
            for item in value if isinstance(value, (list, tuple)) else [value]:
                error = host_address_error(item) if isinstance(item, str) else "%r is not an IP address" % (item,)
                if error:
                    host_errors.append("%s of host %s: %s" % (var, host, error))
                    continue
                net = parse_network(item)
                if families.setdefault(net.version, var) == var:
                    found.append((host, var, str(net.ip)))
        errors.extend(host_errors)
        if not families and not host_errors:
            if host_address_error(str(host)) is None:
                found.append((host, "inventory name", str(parse_network(str(host)).ip)))
            else:
                errors.append("host %s defines none of %s and its name is not an IP address"
                              % (host, ", ".join(variables)))
    return found, errors
