"""Bad input of host_firewall, run through the whole role on the lab workers: the rows of the
matrix (tests/cases) that need a worker, and a few more.

The workers start guarded by a good run. Every case then runs the role with one
bad value and must: fail (rc != 0), name the variable and the bad value, show no
Python traceback, and leave iptables-save, ip6tables-save and ipset save of
every worker exactly as they were."""

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


@pytest.fixture(scope="module")
def guarded(inventory):
    run_playbook(PLAY, inventory, {})
    yield
    run_playbook(PLAY, inventory, {"host_firewall_state": "absent"})


@pytest.mark.parametrize("case", LAB_CASES, ids=[c[0] for c in LAB_CASES])
def test_bad_input_is_refused_before_any_host_changes(case, inventory, guarded, tmp_path):
    name, extra, hostvars, setup, expected = case
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
