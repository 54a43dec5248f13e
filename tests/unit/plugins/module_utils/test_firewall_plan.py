"""module_utils/firewall_plan.py: what port_firewall decides from what it read. Tables are
``iptables -S`` text in the shapes the kernel prints (our rules as fw.chain_rules writes them,
and other tools' rules); the same decisions run against real tables on the lab workers in
tests/integration/test_host_firewall*.py."""

import pytest

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall_plan as fp

CHAIN = "CG"
PORTS = [(9001, 9023)]
SOURCES = {"ipv4": ["10.0.0.11/32", "10.0.0.12/31"], "ipv6": ["fd00::11/128"]}
BASE = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"


def want(present=True, **kw):
    return fp.Wanted(chain=kw.get("chain", CHAIN), present=present, port_ranges=kw.get("ports", PORTS),
                     sources=kw.get("sources", SOURCES), protocols=kw.get("protocols", ["tcp"]),
                     udp_ranges=kw.get("udp", [(9002, 9002)]))


def ours(chain=CHAIN, sources=("10.0.0.11/32", "10.0.0.12/31"), set_name=None, jump=True):
    lines = ["-N %s" % chain]
    if jump:
        lines.append(fw.jump_rule(chain))
    lines += fw.chain_rules(chain, list(sources), PORTS, ["tcp"], set_name, [(9002, 9002)])
    return "\n".join(lines) + "\n"


def plan_of(text, wanted=True, sets=None, use_set=False, keep_sets=False, w=None, ip_version="ipv4"):
    plan = fp.FamilyPlan(ip_version=ip_version, cmd="iptables", wanted=wanted, table=fw.TableState(BASE + text))
    return fp.family_plan(plan, w or want(wanted), sets or {}, use_set, keep_sets=keep_sets)


def test_a_fresh_host_gets_chain_jump_and_rules():
    plan = plan_of("")
    assert plan.insert_jump and plan.chain_changed and plan.changed
    assert plan.want_rules == fw.chain_rules(CHAIN, SOURCES["ipv4"], PORTS, ["tcp"], None, [(9002, 9002)])
    assert plan.have_rules == [] and plan.stale == [] and plan.drift() == ["rules", "jump"]


def test_a_host_as_wanted_changes_nothing():
    plan = plan_of(ours())
    assert not plan.changed and plan.drift() == [] and plan.jump_first
    assert plan.jumps_before == [fw.jump_rule(CHAIN)]


def test_a_new_source_changes_the_rules_only():
    plan = plan_of(ours(sources=["10.0.0.11/32"]))
    assert plan.chain_changed and not plan.insert_jump and plan.drift() == ["rules"]


def test_a_doubled_jump_is_deleted_and_a_jump_below_others_is_reported():
    rules = fw.chain_rules(CHAIN, SOURCES["ipv4"], PORTS, ["tcp"], None, [(9002, 9002)])
    lines = ["-N CG", "-A INPUT -p tcp -m tcp --dport 9001 -j ACCEPT", fw.jump_rule(CHAIN), fw.jump_rule(CHAIN)] + rules
    text = "\n".join(lines) + "\n"
    plan = plan_of(text)
    assert len(plan.delete_jumps) == 1 and plan.drift() == ["jump"]
    assert not plan.jump_first
    assert plan.earlier_accepts == ["-A INPUT -p tcp -m tcp --dport 9001 -j ACCEPT"]


def test_a_renamed_chain_leaves_the_old_one_stale_with_its_set():
    sets = {"OLD-v4": {"type": "hash:net", "family": "inet", "members": ["10.0.0.11/32"]}}
    plan = plan_of(ours("OLD", set_name="OLD-v4"), sets=sets)
    assert plan.stale == ["OLD"] and plan.destroy_sets == ["OLD-v4"] and plan.insert_jump
    assert plan.drift() == ["rules", "jump", "set", "stale"]
    kept = plan_of(ours("OLD", set_name="OLD-v4"), sets=sets, keep_sets=True)
    assert kept.kept_sets == ["OLD-v4"] and kept.destroy_sets == []


def test_absent_removes_our_chain_and_its_jump():
    plan = plan_of(ours(), wanted=False, w=want(False))
    assert plan.stale == [CHAIN] and plan.chain_changed and plan.want_rules == [] and not plan.insert_jump
    assert plan.delete_jumps and plan.drift() == ["jump", "stale"]
    assert not plan_of("", wanted=False, w=want(False)).changed


def test_the_set_is_filled_and_reported_when_its_members_differ():
    sets = {"CG-v4": {"type": "hash:net", "family": "inet", "members": ["10.0.0.11/32"]}}
    plan = plan_of(ours(set_name="CG-v4"), sets=sets, use_set=True)
    assert plan.set_name == "CG-v4" and plan.set_exists and plan.set_changed and plan.drift() == ["set"]
    fresh = plan_of("", use_set=True)
    assert fresh.set_name == "CG-v4" and not fresh.set_exists and fresh.set_changed


def test_dropping_the_set_destroys_ours():
    sets = {"CG-v4": {"type": "hash:net", "family": "inet", "members": SOURCES["ipv4"]}}
    plan = plan_of(ours(set_name="CG-v4"), sets=sets, use_set=False)
    assert plan.destroy_sets == ["CG-v4"] and plan.chain_changed


@pytest.mark.parametrize("text, sets, use_set, words", [
    ("-N CG\n-A CG -j ACCEPT\n", {}, False, ["chain (host_firewall_chain)", "not ours", "(iptables)"]),
    ("-N CG\n", {}, False, ["empty", "another tool may own it"]),
    ("-N F\n-A INPUT -m comment --comment clusterguard.portworx -j F\n-A F -j ACCEPT\n", {}, False,
     ["INPUT jumps to F", "not ours", "Nothing was changed"]),
    (ours("OLD") + "-A FORWARD -j OLD\n", {}, False, ["our chain OLD goes", "a rule", "-A FORWARD -j OLD"]),
    ("", {"CG-v4": {"type": "hash:net,port", "family": "inet", "members": []}}, True, ["CG-v4", "hash:net,port"]),
])
def test_a_state_that_is_not_ours_stops_the_run(text, sets, use_set, words):
    with pytest.raises(fp.PlanError) as info:
        plan_of(text, sets=sets, use_set=use_set)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_chain_of_version_1_is_adopted():
    legacy = ("-N CG\n-A INPUT -j CG\n-A CG -i lo -j RETURN\n-A CG -s 10.0.0.11/32 -j RETURN\n"
              "-A CG -p tcp -m multiport --dports 9001:9022 -j DROP\n")
    plan = plan_of(legacy)
    assert plan.insert_jump and ("-A", "INPUT", "-j", CHAIN) in plan.delete_jumps and plan.stale == []
    gone = plan_of(legacy, wanted=False, w=want(False))
    assert gone.stale == [CHAIN]


@pytest.mark.parametrize("change, drift", [
    ({}, []),
    ({"have_rules": []}, ["rules"]),
    ({"want_rules": ["-A C -j RETURN", "-A C -j DROP"]}, ["rules"]),
    ({"insert_jump": True}, ["jump"]),
    ({"delete_jumps": [("-A", "INPUT", "-j", "C")]}, ["jump"]),
    ({"set_changed": True}, ["set"]),
    ({"stale": ["OLD"], "insert_jump": True}, ["jump", "stale"]),
    ({"wanted": False, "have_rules": [], "want_rules": []}, []),
])
def test_drift_names_what_differs_in_a_family(change, drift):
    fields = dict(ip_version="ipv4", cmd="iptables", wanted=True, have_rules=["-A C -j DROP"],
                  want_rules=["-A C -j DROP"])
    fields.update(change)
    assert fp.FamilyPlan(**fields).drift() == drift


def test_rewriters_are_found_by_their_chains_and_turn_the_set_off_under_auto():
    plans = {"ipv4": fp.FamilyPlan("ipv4", "iptables", True, table=fw.TableState("-N KUBE-ROUTER-INPUT\n")),
             "ipv6": fp.FamilyPlan("ipv6", "ip6tables", True)}
    assert fp.rewriters(plans) == ["kube-router"]
    assert fp.use_set(True, "auto", True, ["kube-router"]) is False
    assert fp.use_set(True, "always", True, ["kube-router"]) is True
    assert fp.use_set(True, "auto", True, []) is True
    assert fp.use_set(True, "auto", False, []) is False
    assert fp.use_set(False, "always", True, []) is False


@pytest.mark.parametrize("connection, ports, versions, cut", [
    (None, PORTS, ["ipv4"], False),
    (("10.0.0.99", 22), PORTS, ["ipv4"], False),                   # SSH port not guarded
    (("10.0.0.99", 9005), PORTS, ["ipv4"], True),                  # guarded, client not a source
    (("10.0.0.12", 9005), PORTS, ["ipv4"], False),                 # guarded, client allowed
    (("::ffff:10.0.0.99", 9005), PORTS, ["ipv4"], True),           # mapped client is IPv4
    (("fd00::99%eth0", 9005), PORTS, ["ipv6"], True),               # zone dropped
    (("fd00::99", 9005), PORTS, ["ipv4"], False),                  # family not guarded
    (("not-an-address", 9005), PORTS, ["ipv4"], False),
])
def test_the_ssh_session_is_never_cut(connection, ports, versions, cut):
    error = fp.ssh_cut_error(connection, ports, SOURCES, versions)
    assert bool(error) == cut, error
    if cut:
        assert "9005, the SSH port" in error and connection[0] in error


def test_files_of_ours_not_wanted_go_and_wanted_ones_are_written_with_mode_0640():
    wanted = {"/etc/cg/CG.v4.rules": "new", "/etc/cg/CG.v6.rules": "same", "/etc/cg/CG.v4.ipset": "same"}
    found = {"/etc/cg/CG.v4.rules": ("old", 0o100640), "/etc/cg/CG.v6.rules": ("same", 0o100640),
             "/etc/cg/CG.v4.ipset": ("same", 0o100644), "/etc/cg/OLD.v4.rules": ("ours", 0o100640),
             "/etc/cg/missing.rules": (None, None)}
    assert fp.file_changes(wanted, found) == {"/etc/cg/CG.v4.rules": "new", "/etc/cg/CG.v4.ipset": "same",
                                              "/etc/cg/OLD.v4.rules": None}
    assert fp.file_changes({}, {}) == {}


def test_the_unit_is_written_enabled_or_removed():
    unit, script = fw.unit_file("/etc/cg", CHAIN), fw.restore_script()
    assert fp.unit_changes(True, True, None, None, False, unit, script) == (
        {fw.UNIT_PATH: unit, fw.RESTORE_SCRIPT: script, fw.UNIT_WANTS: "enable"}, "enabled")
    assert fp.unit_changes(True, True, unit, script, True, unit, script) == ({}, "enabled")
    assert fp.unit_changes(True, False, None, None, False, unit, script) == ({}, "no systemd")
    assert fp.unit_changes(False, True, unit, script, True, unit, script) == (
        {fw.UNIT_PATH: None, fw.RESTORE_SCRIPT: None, fw.UNIT_WANTS: None}, "absent")
    # a unit or script of the same path that is not ours stays
    assert fp.unit_changes(False, True, "[Unit]\n", "#!/bin/sh\n", False, unit, script) == ({}, "absent")


def test_copies_in_the_other_back_end_are_reported_or_removed():
    copies = {"iptables-legacy": fw.TableState(BASE + ours())}
    warnings, payloads = fp.other_copies(copies, present=True)
    assert payloads == {} and "iptables-legacy also holds a chain of ours (CG)" in warnings[0]
    warnings, payloads = fp.other_copies(copies, present=False)
    assert warnings == [] and "-X CG" in payloads["iptables-legacy"] and "-D INPUT" in payloads["iptables-legacy"]
    used = {"iptables-legacy": fw.TableState(BASE + ours() + "-A FORWARD -j CG\n")}
    with pytest.raises(fp.PlanError, match="other rules use"):
        fp.other_copies(used, present=False)


def test_the_result_and_the_diff_say_what_changes():
    plans = {"ipv4": plan_of(""), "ipv6": fp.FamilyPlan("ipv6", "ip6tables", True, error="no ip6tables")}
    out = fp.result(CHAIN, plans, True, ["ipset"], "nf_tables", {"/etc/cg/CG.v4.rules": "x"},
                    {"/etc/cg/CG.v4.rules": "x"}, {fw.UNIT_WANTS: "enable"}, "enabled", diff=True)
    assert out["changed"] and out["pending"] and out["missing_packages"] == ["ipset"]
    assert out["families"]["ipv4"]["chain"] == CHAIN and "ipv6" not in out["families"]
    assert out["sources"] == SOURCES["ipv4"] and out["rules"] == plans["ipv4"].want_rules
    assert out["drift"] == {"files": ["/etc/cg/CG.v4.rules"], "boot_unit": [fw.UNIT_WANTS],
                            "ipv4": ["rules", "jump"], "ipv6": [], "nftables": [], "watchdog": []}
    assert "# write /etc/cg/CG.v4.rules" in out["diff"]["after"] and out["diff"]["before_header"].startswith(CHAIN)
    assert "diff" not in fp.result(CHAIN, plans, False, [], "legacy", {}, {}, {}, "absent")


def test_the_watchdog_is_written_enabled_changed_or_removed():
    want = dict(fw.watchdog_units("/etc/cg", CHAIN, "v4 9001:9023 9002", 5), **{fw.WATCHDOG_SCRIPT: fw.watchdog_script()})
    none = {path: None for path in want}
    changes, status = fp.watchdog_changes(True, True, none, False, want)
    assert status == "enabled" and changes == dict(want, **{fw.WATCHDOG_WANTS: "enable"})
    assert fp.watchdog_changes(True, True, want, True, want) == ({}, "enabled")
    other = dict(fw.watchdog_units("/etc/cg", CHAIN, "v4 9001:9023 9002", 60), **{fw.WATCHDOG_SCRIPT: fw.watchdog_script()})
    assert fp.watchdog_changes(True, True, want, True, other)[0] == {fw.WATCHDOG_TIMER_PATH: other[fw.WATCHDOG_TIMER_PATH]}
    assert fp.watchdog_changes(True, False, none, False, want) == ({}, "no systemd")
    gone = {path: None for path in want}
    gone[fw.WATCHDOG_WANTS] = None
    assert fp.watchdog_changes(False, True, want, True, want) == (gone, "absent")
    # a file of the same name that is not ours stays
    assert fp.watchdog_changes(False, True, dict(none, **{fw.WATCHDOG_SCRIPT: "#!/bin/sh\n"}), False, want) == ({}, "absent")


def test_a_stopped_timer_is_started_and_shows_as_the_watchdog_s_drift():
    want = dict(fw.watchdog_units("/etc/cg", CHAIN, "v4 9001:9023 9002", 5), **{fw.WATCHDOG_SCRIPT: fw.watchdog_script()})
    assert fp.watchdog_changes(True, True, want, True, want, active=False) == ({fw.WATCHDOG_TIMER: "start"}, "enabled")
    # a timer not yet enabled is enabled with --now, a changed one restarted: no start of its own
    none = {path: None for path in want}
    assert fw.WATCHDOG_TIMER not in fp.watchdog_changes(True, True, none, False, want, active=False)[0]
    other = dict(fw.watchdog_units("/etc/cg", CHAIN, "v4 9001:9023 9002", 60), **{fw.WATCHDOG_SCRIPT: fw.watchdog_script()})
    assert fw.WATCHDOG_TIMER not in fp.watchdog_changes(True, True, want, True, other, active=False)[0]
    assert fp.watchdog_changes(False, True, none, False, want, active=False) == ({}, "absent")
    plans = {}
    out = fp.result(CHAIN, plans, True, [], "legacy", {}, {}, {fw.WATCHDOG_TIMER: "start", fw.UNIT_PATH: "x"}, "enabled",
                    diff=True, watchdog_status="enabled")
    assert out["drift"]["watchdog"] == [fw.WATCHDOG_TIMER] and out["drift"]["boot_unit"] == [fw.UNIT_PATH]
    assert "# start %s" % fw.WATCHDOG_TIMER in out["diff"]["after"] and "# write %s" % fw.UNIT_PATH in out["diff"]["after"]


def test_the_watchdog_timer_runs_every_interval_and_the_service_runs_the_watchdog_with_the_unit_arguments():
    units = fw.watchdog_units("/etc/cg", CHAIN, "v4,v6 9001:9023 9002", 7)
    assert "OnUnitActiveSec=7s" in units[fw.WATCHDOG_TIMER_PATH] and "WantedBy=timers.target" in units[fw.WATCHDOG_TIMER_PATH]
    assert "ExecStart=%s /etc/cg CG v4,v6 9001:9023 9002" % fw.WATCHDOG_SCRIPT in units[fw.WATCHDOG_SERVICE_PATH]
    assert all(text.startswith("# " + fw.MARKER) for text in units.values())
    assert fw.MARKER in fw.watchdog_script().splitlines()[1] and "exec %s" % fw.RESTORE_SCRIPT in fw.watchdog_script()


@pytest.mark.parametrize("interval, ok", [(1, True), (3600, True), (0, False), (3601, False), (True, False), ("5", False)])
def test_the_watchdog_interval_is_whole_seconds_from_1_to_3600(interval, ok):
    assert (fw.watchdog_error(interval) is None) == ok


def test_the_watchdog_script_passes_shellcheck(tmp_path):
    import shutil
    import subprocess
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (make deps installs it)")
    script = tmp_path / "watchdog"
    script.write_text(fw.watchdog_script())
    proc = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
