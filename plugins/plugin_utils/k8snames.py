# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and labels as the Kubernetes API server checks them (apimachinery's
validation rules), so bad input is refused before anything is applied.

Every check matches the whole string: ``re.fullmatch``, never ``$``, which would
let a trailing newline through."""

from __future__ import annotations

import re

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

# The label that every object of ours carries, whichever role, scope or API wrote it:
# prune, verify and the stale check find our objects by it.
MANAGED_BY = {"app.kubernetes.io/managed-by": "clusterguard.portworx"}
MANAGED_BY_SELECTOR = ",".join("%s=%s" % item for item in MANAGED_BY.items())


def dns_label_error(value):
    """Why ``value`` is not a DNS-1123 label (a namespace name), or None."""
    if not isinstance(value, str) or len(value) > 63 or not _LABEL.fullmatch(value):
        return "%r is not a valid name (lowercase letters, digits and '-', at most 63, no spaces or newlines)" % (value,)
    return None


def dns_subdomain_error(value):
    """Why ``value`` is not a DNS-1123 subdomain (an object name), or None."""
    if not isinstance(value, str) or len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        return "%r is not a valid object name (lowercase letters, digits, '-' and '.', at most 253)" % (value,)
    return None


def label_key_error(value):
    """Why ``value`` is not a qualified name (a label key such as app.kubernetes.io/name), or None."""
    if not isinstance(value, str) or not value:
        return "%r is not a label key" % (value,)
    prefix, _sep, name = value.rpartition("/")
    if _sep and (dns_subdomain_error(prefix) is not None):
        return "%r is not a label key: its prefix %r is not a DNS subdomain" % (value, prefix)
    if len(name) > 63 or not _QUALIFIED.fullmatch(name):
        return ("%r is not a label key (letters, digits, '-', '_', '.', at most 63, starting and ending "
                "with a letter or digit, with an optional DNS prefix and '/')" % (value,))
    return None


def label_value_error(value):
    """Why ``value`` is not a label value, or None."""
    if not isinstance(value, str) or len(value) > 63 or not _VALUE.fullmatch(value):
        return ("%r is not a label value (letters, digits, '-', '_', '.', at most 63, starting and ending "
                "with a letter or digit)" % (value,))
    return None


_REQUIREMENT = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[^\s,=!()]+)"
    r"|(?P<key>[^\s,=!()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,=!()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*")


def _requirements(text):
    """The requirements of a selector, split at top-level commas."""
    depth, parts, current = 0, [], ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def selector_error(text):
    """Why ``text`` is not a label selector the API server accepts, or None."""
    if not isinstance(text, str):
        return "%r is not a label selector" % (text,)
    if text.strip() == "":
        return None
    for part in _requirements(text):
        match = _REQUIREMENT.fullmatch(part)
        if not match:
            return "%r is not a label selector (such as 'portworx-guard=on' or 'team in (a,b)')" % (text,)
        key = match.group("nkey") or match.group("key")
        error = label_key_error(key)
        if error:
            return "%r: %s" % (text, error)
        values = []
        if match.group("op"):
            values = [match.group("value")]
        elif match.group("setop"):
            values = [v.strip() for v in match.group("values").split(",")]
        for value in values:
            error = label_value_error(value)
            if error:
                return "%r: %s" % (text, error)
    return None


def label_selector(text):
    """The LabelSelector object of a selector string that ``selector_error`` accepts:
    every requirement as a matchExpression, with the same meaning (``a!=b`` and
    ``a notin (b)`` both match objects without the key)."""
    exprs = []
    if not text or not text.strip():
        return {}
    for part in _requirements(text):
        match = _REQUIREMENT.fullmatch(part)
        if match.group("nkey"):
            exprs.append({"key": match.group("nkey"), "operator": "DoesNotExist"})
        elif match.group("op"):
            operator = "NotIn" if match.group("op") == "!=" else "In"
            exprs.append({"key": match.group("key"), "operator": operator, "values": [match.group("value")]})
        elif match.group("setop"):
            values = sorted({v.strip() for v in match.group("values").split(",")})
            exprs.append({"key": match.group("key"), "operator": "In" if match.group("setop") == "in" else "NotIn",
                          "values": values})
        else:
            exprs.append({"key": match.group("key"), "operator": "Exists"})
    return {"matchExpressions": exprs}
