"""The floors of docs/architecture.md, checked on the source: module_utils imports nothing of
the controller; plugin_utils holds the shared modules at its top and one sub-package per role,
whose engine imports the shared modules and its own, never another role's; an action plugin
subclasses ActionBase only. A new module must be placed on a floor here."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = "ansible_collections.clusterguard.portworx.plugins."
UTILS = os.path.join(ROOT, "plugins", "plugin_utils")
ROLES = ("host_firewall", "network_policy", "verify")
SHARED = {"cluster", "k8snames", "kubeobjects", "netcalc", "nodes", "portworx", "spec", "filters"}


def imports(path):
    """{(module path below plugins, name)} that a file imports from the collection."""
    tree = ast.parse(open(path).read())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PKG):
            for alias in node.names:
                out.add((node.module[len(PKG):], alias.name))
    return out


def modules(folder):
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py")


def engine_files():
    return [(role, os.path.join(UTILS, role, name + ".py")) for role in ROLES
            for name in modules(os.path.join(UTILS, role))]


def test_plugin_utils_holds_the_shared_modules_and_one_package_per_role():
    assert set(modules(UTILS)) == SHARED
    assert sorted(d for d in os.listdir(UTILS) if os.path.isdir(os.path.join(UTILS, d))
                  and not d.startswith("__")) == sorted(ROLES)
    assert all(modules(os.path.join(UTILS, role)) for role in ROLES)


@pytest.mark.parametrize("name", modules(os.path.join(ROOT, "plugins", "module_utils")))
def test_module_utils_import_nothing_of_the_controller(name):
    found = imports(os.path.join(ROOT, "plugins", "module_utils", name + ".py"))
    assert all(module == "module_utils" for module, _n in found), found


@pytest.mark.parametrize("role, path", engine_files(), ids=lambda v: os.path.basename(v) if "/" in str(v) else v)
def test_an_engine_imports_shared_modules_and_its_own_only(role, path):
    for module, name in imports(path):
        if module == "plugin_utils":
            assert name in SHARED, "%s imports plugin_utils.%s, which is no shared module" % (path, name)
        elif module.startswith("plugin_utils."):
            assert module == "plugin_utils." + role, "%s (engine of %s) imports %s" % (path, role, module)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_module_imports_no_engine(name):
    found = imports(os.path.join(UTILS, name + ".py"))
    assert not [m for m, _n in found if m.startswith("plugin_utils.")], found


@pytest.mark.parametrize("name", modules(os.path.join(ROOT, "plugins", "action")))
def test_an_action_subclasses_action_base_and_imports_no_other_action(name):
    path = os.path.join(ROOT, "plugins", "action", name + ".py")
    tree = ast.parse(open(path).read())
    bases = [ast.unparse(b) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
             and node.name == "ActionModule" for b in node.bases]
    assert bases == ["ActionBase"], bases
    assert not [m for m, _i in imports(path) if m.startswith("action")]
