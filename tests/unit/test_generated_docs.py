"""What is generated from one source is current: the shared portworx_* options in the roles'
argument specs (scripts/sync_shared_options.py) and the role READMEs' variable tables
(scripts/role_readmes.py), so the docs cannot disagree with the specs."""

import importlib.util
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "scripts", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("role", ["host_firewall", "network_policy", "verify"])
def test_role_readme_is_generated_from_the_argument_spec(role):
    readmes = script("role_readmes")
    with open(os.path.join(ROOT, "roles", role, "README.md")) as handle:
        assert readmes.generated(handle.read()) == readmes.render(role), "run: python scripts/role_readmes.py"


@pytest.mark.parametrize("role", ["host_firewall", "network_policy"])
def test_shared_options_in_the_argument_spec_are_current(role):
    sync = script("sync_shared_options")
    path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
    old, new = sync.rewrite(path, sync.block())
    assert old == new, "run: python scripts/sync_shared_options.py"
