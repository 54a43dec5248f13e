"""What the unit tests need from ansible-core, on every version of the matrix
(scripts/compat.sh): patch_module_args came with ansible-core 2.19."""

import contextlib
import json

try:  # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args  # pylint: disable=unused-import
except ImportError:  # ansible-core 2.16 to 2.18
    @contextlib.contextmanager
    def patch_module_args(args):
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes

        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old
