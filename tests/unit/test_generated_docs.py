"""What is generated from one source is current (scripts/generate.py): the shared portworx_*
options in the roles' argument specs, and the role READMEs' description and variable tables,
so the docs cannot disagree with the specs."""

import importlib.util
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def generator():
    spec = importlib.util.spec_from_file_location("generate", os.path.join(ROOT, "scripts", "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shared_options_in_the_argument_specs_are_current():
    stale = [path for path, have, want in generator().specs() if have != want]
    assert stale == [], "run: python scripts/generate.py"


def test_role_readmes_are_generated_from_the_argument_specs():
    gen = generator()
    stale = [path for path, have, want in gen.readmes() if gen.generated(have) != gen.generated(want)]
    assert stale == [], "run: python scripts/generate.py"
