"""The floors of docs/architecture.md, checked on the source: module_utils imports nothing of
the controller; a role's engine imports shared modules and its own, never another role's; an
action plugin subclasses ActionBase only. A new module must be placed on a floor here."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = "ansible_collections.clusterguard.portworx.plugins."
ENGINES = {
    "host_firewall": {"host_firewall_inputs"},
    "network_policy": {"network_policy_inputs", "network_policy_gather", "policies", "cluster_policies"},
    "verify": {"verify", "matrix", "reachability"},
}
SHARED = {"cluster", "k8snames", "kubeobjects", "netcalc", "nodes", "portworx", "spec", "filters"}


def imports(path):
    """{(floor, name)} that a file imports from the collection."""
    tree = ast.parse(open(path).read())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PKG):
            floor = node.module[len(PKG):]
            for alias in node.names:
                out.add((floor, alias.name))
    return out


def modules(floor):
    folder = os.path.join(ROOT, "plugins", floor)
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py")


def test_every_plugin_utils_module_has_a_floor():
    placed = SHARED.union(*ENGINES.values())
    assert set(modules("plugin_utils")) == placed


@pytest.mark.parametrize("name", modules("module_utils"))
def test_module_utils_import_nothing_of_the_controller(name):
    found = imports(os.path.join(ROOT, "plugins", "module_utils", name + ".py"))
    assert all(floor == "module_utils" for floor, _n in found), found


@pytest.mark.parametrize("role", sorted(ENGINES))
def test_an_engine_imports_shared_modules_and_its_own_only(role):
    allowed = SHARED | ENGINES[role]
    for name in sorted(ENGINES[role]):
        for floor, imported in imports(os.path.join(ROOT, "plugins", "plugin_utils", name + ".py")):
            if floor == "plugin_utils":
                assert imported in allowed, "%s (engine of %s) imports %s" % (name, role, imported)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_module_imports_no_engine(name):
    engines = set().union(*ENGINES.values())
    found = imports(os.path.join(ROOT, "plugins", "plugin_utils", name + ".py"))
    assert not {i for f, i in found if f == "plugin_utils"} & engines, found


@pytest.mark.parametrize("name", modules("action"))
def test_an_action_subclasses_action_base_and_imports_no_other_action(name):
    path = os.path.join(ROOT, "plugins", "action", name + ".py")
    tree = ast.parse(open(path).read())
    bases = [ast.unparse(b) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
             and node.name == "ActionModule" for b in node.bases]
    assert bases == ["ActionBase"], bases
    assert not [f for f, _i in imports(path) if f.startswith("action")]
