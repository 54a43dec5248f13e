"""Bad input of host_firewall, run through the whole role on the lab workers: the rows of the
matrix (tests/cases) that need a worker, and a few more.

The workers start guarded by a good run. Every case then runs the role with one
bad value and must: fail (rc != 0), name the variable and the bad value, show no
Python traceback, and leave iptables-save, ip6tables-save, ipset save and the nftables
ruleset of every worker exactly as they were. The rows that do not set up an iptables object
of their own run again from workers guarded by the nftables back-end."""

import os
import sys

import pytest

from conftest import run_playbook
from hostfw import PLAY, inventory_with, netns, snapshot

SERIAL = "tests/integration/playbooks/host_firewall_serial.yml"

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cases"))
from host_firewall_bad_input import CASES  # noqa: E402  pylint: disable=wrong-import-position

# Every row the controller can judge runs through the plan action in tests/unit/plugins/action.
# These run through the whole role on the lab workers: every row that sets up a worker's own
# tables (only the read on that worker finds it), one value only ansible-core's argument check
# answers, one bad value on the last host only (also under serial), and a few of the others.
ON_THE_LAB = ("state-typo", "extra-ports-dict", "node-ip-mapped", "extra-world-v4", "chain-docker-user",
              "last-host-only")
LAB_CASES = [c for c in CASES if c[3] or c[0] in ON_THE_LAB]


def test_the_lab_cases_are_rows_of_the_matrix():
    assert set(ON_THE_LAB) <= {c[0] for c in CASES} and len(LAB_CASES) == len(ON_THE_LAB) + 6


UNDO = {
    "chain-foreign-empty": {"w3": "iptables -w -X LAB-FAKE"},
    "chain-foreign-v6": {"w1": "ip6tables -w -F LAB-V6X; ip6tables -w -X LAB-V6X"},
    "set-other-type": {"w3": "ipset destroy CGTYPE-v4"},
    "set-list": {"w1": "ipset destroy CGLIST-v6"},
    "set-other-family": {"w2": "ipset destroy CGFAM-v4"},
    "table-foreign": {"w2": "nft delete table inet LAB-NFT"},
}


def error_text(out):
    """The error itself: from the failed task to the end, without ansible-core's dump of the spec."""
    text = out[out.index("fatal: "):]
    return text.split("argument_spec_data:")[0] + text[text.index("PLAY RECAP"):] if "argument_spec_data:" in text else text


# The same rows on the nftables back-end, from workers it guards: all but those that set up an
# iptables chain or an ipset of our name (their nftables twin is table-foreign).
ON_NFTABLES = [c for c in LAB_CASES if c[0] in ON_THE_LAB or c[0] == "table-foreign"]
ROWS = [(c, "iptables") for c in LAB_CASES] + [(c, "nftables") for c in ON_NFTABLES]


def test_every_lab_row_runs_on_iptables_and_the_back_end_free_ones_on_nftables_too():
    assert len(ON_NFTABLES) == len(ON_THE_LAB) + 1 and len(ROWS) == len(LAB_CASES) + len(ON_NFTABLES)


@pytest.fixture(scope="module")
def guarded(inventory):
    """guard(backend): the workers guarded by a good run on that back-end (a run only when it changes)."""
    current = []

    def guard(backend):
        if current != [backend]:
            run_playbook(PLAY, inventory, {"host_firewall_backend": backend})
            current[:] = [backend]

    yield guard
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})


@pytest.mark.parametrize("case,backend", ROWS, ids=["%s-%s" % (c[0], b) for c, b in ROWS])
def test_bad_input_is_refused_before_any_host_changes(case, backend, inventory, guarded, tmp_path):
    name, extra, hostvars, setup, expected = case
    guarded(backend)
    extra = dict({"host_firewall_backend": backend}, **extra)
    inventories = [inventory] + ([inventory_with(tmp_path, "case.yml", hostvars)] if hostvars else [])
    for host, command in (setup or {}).items():
        netns(host, "sh", "-c", command, check=True)
    try:
        before = snapshot()
        for playbook in (PLAY, SERIAL) if name == "last-host-only" else (PLAY,):
            out = run_playbook(playbook, inventories, extra, expect_rc=2)  # rc 2: a task failed
            assert "PLAY RECAP" in out and "failed=1" in out, out[-3000:]
            assert "Traceback" not in out, out[-3000:]
            error = error_text(out)
            for word in expected:
                assert word in error, (word, error)
            assert snapshot() == before
    finally:
        for host, command in UNDO.get(name, {}).items():
            netns(host, "sh", "-c", command)
