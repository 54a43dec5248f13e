"""Stand-in for the get-pip bootstrap script that ansible-test downloads from
ci-files.testing.ansible.com, a host this project's machines cannot reach.

ansible-test runs the script inside a fresh virtual environment with pip's
install arguments (``pip==24.2`` and options). This does the same with what
Python and PyPI provide: ensurepip installs the pip wheel that ships with the
interpreter, then that pip installs the requested pins from PyPI.
ensurepip runs in a child process because, in-process, it points
PIP_CONFIG_FILE at /dev/null, which would hide the machine's pip settings
(index, certificates) from the install that follows.
scripts/sanity.sh copies this file to ~/.ansible/test/cache/get_pip_<version>.py."""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
