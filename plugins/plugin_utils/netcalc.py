# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address arithmetic behind the clusterguard.portworx filters (controller side).

Everything here takes plain strings and returns plain strings, so the filters
stay thin and the logic is unit tested without Ansible."""

from __future__ import annotations

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
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise AddressError("%s must be a list of IP addresses or CIDRs, got %r" % (what, values))
    return [parse_network(v) for v in values]


def _family_split(nets, family):
    fam = parse_family(family)
    if fam is not None:
        nets = [n for n in nets if n.version == fam]
    return nets


def node_cidrs(values, family=None):
    """Minimal list of CIDRs covering exactly ``values``; IPv4 before IPv6."""
    nets = _family_split(parse_networks(values), family)
    merged = netaddr.cidr_merge(nets)
    merged.sort(key=lambda n: (n.version, n.first, n.prefixlen))
    return [str(n.cidr) for n in merged]


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
