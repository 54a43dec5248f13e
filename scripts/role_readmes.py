"""Write roles/<role>/README.md from the role's meta/argument_specs.yml, so that the
variable table and the spec cannot disagree; what follows the TAIL marker is written by
hand and kept. tests/unit checks that the generated part is current.

Usage: python scripts/role_readmes.py [--check]"""

import json
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROLES = ("host_firewall", "network_policy", "verify")
# What follows this line in a role README is written by hand and kept as it is.
TAIL = "<!-- Written by hand below this line: kept when the part above is generated. -->"
# ansible-doc markup (O(x), V(x), C(x), P(x#role)) as Markdown code
MARKUP = re.compile(r"\b([OVCP])\(([^()]*)\)")


def markdown(text):
    text = MARKUP.sub(lambda m: "`%s`" % (m.group(2).split("#")[0] if m.group(1) == "P" else m.group(2)), text)
    return text.replace("|", "\\|").replace("\n", " ")


def default_of(option):
    if "default" not in option or option["default"] is None:
        return ""
    return "`%s`" % json.dumps(option["default"]) if not isinstance(option["default"], str) else \
        "`%s`" % (option["default"] or "''")


def render(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        main = yaml.safe_load(handle)["argument_specs"]["main"]
    desc = main.get("description") or []
    lines = ["# clusterguard.portworx.%s" % role, "",
             "<!-- Generated from meta/argument_specs.yml by scripts/role_readmes.py; do not edit. -->", "",
             markdown(main["short_description"]) + ".", ""]
    lines += ["- " + markdown(d) for d in (desc if isinstance(desc, list) else [desc])]
    lines += ["", "## Variables", "",
              "Variables named `portworx_*` are shared by the collection's roles: set them once for all.", "",
              "| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in main["options"].items():
        text = option.get("description") or ""
        text = " ".join(text) if isinstance(text, list) else text
        kind = option.get("type", "str") + ("/" + option["elements"] if option.get("elements") else "")
        if option.get("choices"):
            text += " Choices: %s." % ", ".join("`%s`" % c for c in option["choices"])
        lines.append("| `%s` | %s | %s | %s |" % (name, kind, default_of(option), markdown(text)))
    lines += ["", "Every input is checked before anything changes. `ansible-doc -t role clusterguard.portworx.%s` "
              "shows the same variables." % role, ""]
    return "\n".join(lines)


def generated(text):
    """The generated part of a README: everything before the hand-written tail."""
    return text.split(TAIL, 1)[0]


def main(check):
    stale = []
    for role in ROLES:
        path = os.path.join(ROOT, "roles", role, "README.md")
        have = open(path).read() if os.path.exists(path) else ""
        want = render(role) + (TAIL + have.split(TAIL, 1)[1] if TAIL in have else "")
        if have != want:
            stale.append(path)
            if not check:
                with open(path, "w") as handle:
                    handle.write(want)
    if check and stale:
        sys.exit("out of date (run python scripts/role_readmes.py): %s" % ", ".join(stale))


if __name__ == "__main__":
    main("--check" in sys.argv[1:])
