"""Make the checkout importable as ansible_collections.clusterguard.portworx.

`make test` links .collections/ansible_collections/clusterguard/portworx to the
repository root; when pytest runs inside an installed collection tree the
normal path already works."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK_BASE = os.path.join(ROOT, ".collections")
LINK = os.path.join(LINK_BASE, "ansible_collections", "clusterguard", "portworx")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.relpath(ROOT, os.path.dirname(LINK)), LINK)
if LINK_BASE not in sys.path:
    sys.path.insert(0, LINK_BASE)

try:  # property tests judge results, never speed: no per-example deadline (a busy CI machine misses it)
    from hypothesis import settings

    settings.register_profile("clusterguard", deadline=None)
    settings.load_profile("clusterguard")
except ImportError:  # pragma: no cover
    pass
