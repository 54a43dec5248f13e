"""Print the version and the real path of the interpreter that runs this: the base interpreter also
where it is run through a venv's python (make test puts the checkout's .venv/bin first on PATH) or a
pyenv shim. deps.sh and compat.sh name the venvs they cache by it, so that every checkout finds them."""
import os
import sys

print(sys.version.split()[0], os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
