# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role inputs checked against the role's own meta/argument_specs.yml.

ansible-core's automatic check converts quietly (a string becomes a one-item
list, "9001-9022" becomes ["9001-9022"], a list of characters when Jinja later
iterates it) and does not hand the converted value to the role. This checker is
strict instead: it takes the types, choices and defaults from the same file,
refuses what does not already have the declared shape, and names the variable
and the value in every error. What the spec cannot say is checked by the
role's own rules (``plugin_utils/<role>_inputs.py``)."""

from __future__ import annotations

import os
import re

import yaml

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
SECRET = "********"


class InputError(ValueError):
    """One bad input: the variable, the value and why."""


# libyaml's parser where PyYAML has it (its wheels do): the same safe loading, about 14 times faster
# than PyYAML's own, which took 13 to 21 ms of every run of a plan for these files
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_options(role):
    """The options of the role's main entry point, from its meta/argument_specs.yml."""
    with open(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")) as handle:
        return yaml.load(handle, Loader=_SAFE_LOADER)["argument_specs"]["main"]["options"]  # a safe loader


def show(value, option=None):
    """The value as an error shows it: repr, or stars for secrets."""
    if option and option.get("no_log"):
        return SECRET
    return repr(_plain(value))


def _plain(value):
    """Tagged or lazy containers of ansible-core as plain Python, for repr and checks."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        return {_plain(k): _plain(value[k]) for k in value.keys()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _scalar(name, value, kind, option, where):
    if kind in ("str", "path"):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputError("%s: %s must be a string%s" % (name, show(value, option), where))
        return str(value)
    if kind == "int":
        if isinstance(value, bool):
            raise InputError("%s: %s must be a whole number%s" % (name, show(value, option), where))
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
            return int(value)
        raise InputError("%s: %s must be a whole number%s" % (name, show(value, option), where))
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if not isinstance(value, (str, int, float)):
            raise InputError("%s: %s must be true or false%s" % (name, show(value, option), where))
        key = value.lower() if isinstance(value, str) else value
        if key in BOOLEANS_TRUE and not isinstance(key, float):
            return True
        if key in BOOLEANS_FALSE and not isinstance(key, float):
            return False
        raise InputError("%s: %s must be true or false%s" % (name, show(value, option), where))
    if kind == "dict":
        if not isinstance(value, dict):
            raise InputError("%s: %s must be a mapping%s" % (name, show(value, option), where))
        return value
    return value  # raw


def check(name, value, option, where=""):
    """``value`` converted to the option's declared shape; InputError otherwise."""
    value = _plain(value)
    kind = option.get("type", "str")
    if value is None:
        if option.get("required"):
            raise InputError("%s is required%s" % (name, where))
        if option.get("default") is not None:
            # null is no value of the option's type: the checks below would not see it, and what
            # reads the option would (a state of null pruned every policy of ours)
            raise InputError("%s: None (null) is not a %s; leave it unset for the default %s%s" % (
                name, "list" if kind == "list" else kind if kind != "str" else "string", show(
                    option["default"], option), where))
        return None
    if kind == "list":
        if not isinstance(value, list):
            raise InputError("%s: %s must be a list (such as %s)%s" % (
                name, show(value, option), _example(option), where))
        items = [_scalar(name, item, option.get("elements", "raw"), option, " in the list" + where) for item in value]
        choices = option.get("choices")
        if choices:
            bad = [i for i in items if i not in choices]
            if bad:
                raise InputError("%s: %s is not one of %s%s" % (name, show(bad[0], option), ", ".join(map(str, choices)), where))
        return items
    value = _scalar(name, value, kind, option, where)
    choices = option.get("choices")
    if choices is not None and value not in choices:
        raise InputError("%s: %s must be one of %s%s" % (
            name, show(value, option), ", ".join(repr(c) for c in choices), where))
    return value


def _example(option):
    default = option.get("default")
    if isinstance(default, list) and default and not isinstance(default[0], dict):
        return repr(default)
    return "[...]"


def resolve(options, values):
    """{name: checked value} of every option, defaults filled in, and every error found.

    ``values`` maps option names to what the inventory or play gives (missing
    names take the spec's default)."""
    out, errors = {}, []
    for name, option in options.items():
        value = values[name] if name in values else option.get("default")
        try:
            out[name] = check(name, value, option)
        except InputError as exc:
            errors.append(str(exc))
    return out, errors


def unknown(prefix, options, names):
    """Variables that carry the role's prefix but are not options of it (typos)."""
    return sorted(n for n in names if n.startswith(prefix) and n not in options)
