"""module_utils/firewall.py: names, rules, ownership by marker, payloads, files,
the unit and the restore script. Pure string logic; the kernel side is in
tests/integration."""

import shutil
import subprocess

import pytest

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import ports

M = fw.MARKER


@pytest.mark.parametrize("name", ["CLUSTERGUARD-PX", "a", "A" * 28, "px_guard-2", "input2"])
def test_chain_names_that_are_accepted(name):
    assert fw.chain_error(name) is None


@pytest.mark.parametrize("name, why", [
    ("", "1-28"), ("A" * 29, "1-28"), ("CLUSTER GUARD", "1-28"), ("DOCKER-USER!", "1-28"), ("ÄBC", "1-28"),
    ("INPUT", "reserves"), ("accept", "reserves"), ("Drop", "reserves"), ("POSTROUTING", "reserves"), (None, "1-28"),
])
def test_chain_names_that_are_refused(name, why):
    assert why in fw.chain_error(name)


def test_every_chain_length_gives_set_names_ipset_accepts():
    for length in range(1, fw.CHAIN_MAX + 1):
        chain = "C" * length
        for version in ("ipv4", "ipv6"):
            name = fw.set_name(chain, version)
            assert len(name) <= fw.SET_MAX
            assert len(fw.swap_set_name(name)) <= fw.SET_MAX and fw.swap_set_name(name) != name


@pytest.mark.parametrize("path, ok", [
    ("/etc/clusterguard", True), ("/var/lib/cg-px_1.d", True), ("", True),
    ("relative", False), ("/etc/cluster guard", False), ("/etc/../root", False), ("/", False), ("/etc/$x", False),
])
def test_persist_dir(path, ok):
    assert (fw.persist_dir_error(path) is None) == ok


def test_split_sources_merges_per_family_and_refuses_mapped():
    got = fw.split_sources(["10.0.0.1/32", "10.0.0.0/32", "fd00::1/128", "10.0.0.2/31"])
    assert got == {"ipv4": ["10.0.0.0/30"], "ipv6": ["fd00::1/128"]}
    with pytest.raises(fw.FirewallSpecError, match="IPv4-mapped"):
        fw.split_sources(["::ffff:10.0.0.1/128"])
    with pytest.raises(fw.FirewallSpecError, match="not a network"):
        fw.split_sources(["10.0.0.1/8"])


def test_chain_rules_carry_the_marker_and_return():
    rules = fw.chain_rules("CG", ["10.0.0.0/30"], [(9001, 9022)], ["tcp", "udp"], "CG-v4")
    assert rules == [
        "-A CG -i lo -m comment --comment %s -j RETURN" % M,
        "-A CG -m set --match-set CG-v4 src -m comment --comment %s -j RETURN" % M,
        "-A CG -p tcp -m multiport --dports 9001:9022 -m comment --comment %s -j DROP" % M,
        "-A CG -p udp -m multiport --dports 9001:9022 -m comment --comment %s -j DROP" % M,
    ]
    inline = fw.chain_rules("CG", ["10.0.0.0/30", "10.9.0.0/24"], [(9001, 9022)], ["tcp"])
    assert [r.split()[3] for r in inline[1:3]] == ["10.0.0.0/30", "10.9.0.0/24"]


def test_rule_key_ignores_quoting():
    assert fw.rule_key('-A CG -i lo -m comment --comment "%s" -j RETURN' % M) == \
        fw.rule_key("-A CG -i lo -m comment --comment %s -j RETURN" % M)


SAVED = """-P INPUT ACCEPT
-N CG
-N DOCKER-USER
-N OLD
-N KUBE-FIREWALL
-A INPUT -j KUBE-FIREWALL
-A INPUT -m comment --comment "%(m)s" -j CG
-A INPUT -m comment --comment "%(m)s" -j OLD
-A INPUT -p tcp -m tcp --dport 9011 -j ACCEPT
-A CG -i lo -m comment --comment "%(m)s" -j RETURN
-A CG -m set --match-set CG-v4 src -m comment --comment "%(m)s" -j RETURN
-A OLD -m set --match-set OLD-v4 src -m comment --comment "%(m)s" -j RETURN
-A DOCKER-USER -j RETURN
-A KUBE-FIREWALL -j RETURN
""" % {"m": M}


def test_table_state_finds_ours_by_marker():
    table = fw.TableState(SAVED)
    assert table.marked_jumps() == ["CG", "OLD"]
    assert table.our_chains() == ["CG", "OLD"]
    assert table.owner_error("CG") is None and table.owner_error("NEW") is None
    assert "not ours" in table.owner_error("DOCKER-USER")
    assert "not ours" in table.owner_error("KUBE-FIREWALL")
    assert table.sets_of("OLD") == ["OLD-v4"]


def test_a_chain_of_version_1_0_0_is_adopted():
    legacy = "-N CLUSTERGUARD-PX\n-A INPUT -j CLUSTERGUARD-PX\n" \
             "-A CLUSTERGUARD-PX -i lo -j RETURN\n-A CLUSTERGUARD-PX -s 10.0.0.1/32 -j RETURN\n" \
             "-A CLUSTERGUARD-PX -p tcp -m multiport --dports 9001:9022 -j DROP\n"
    table = fw.TableState(legacy)
    assert table.is_legacy_ours("CLUSTERGUARD-PX") and table.owner_error("CLUSTERGUARD-PX") is None
    assert table.plain_jumps("CLUSTERGUARD-PX") == 1
    # the same shape without the jump from INPUT is somebody else's chain
    assert "not ours" in fw.TableState(legacy.replace("-A INPUT -j CLUSTERGUARD-PX\n", "")).owner_error("CLUSTERGUARD-PX")


def test_earlier_accepts_are_the_ones_that_shadow_guarded_ports():
    table = fw.TableState(
        "-A INPUT -p tcp -m tcp --dport 9011 -j ACCEPT\n"
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
        "-A INPUT -i lo -j ACCEPT\n"
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A INPUT -p udp -m multiport --dports 9000:9005 -j ACCEPT\n"
        "-A INPUT -p icmp -j ACCEPT\n"
        "-A INPUT -s 10.0.0.5/32 -j ACCEPT\n"
        "-A INPUT -m comment --comment %s -j CG\n"
        "-A INPUT -p tcp --dport 9001 -j ACCEPT\n" % M)
    found = table.earlier_accepts("CG", ports.parse_ports("9001-9022"))
    assert found == ["-A INPUT -p tcp -m tcp --dport 9011 -j ACCEPT",
                     "-A INPUT -p udp -m multiport --dports 9000:9005 -j ACCEPT",
                     "-A INPUT -s 10.0.0.5/32 -j ACCEPT"]


def test_parse_sets_and_set_error():
    sets = fw.parse_sets("create CG-v4 hash:net family inet hashsize 1024 maxelem 65536\nadd CG-v4 10.0.0.2\n"
                         "add CG-v4 10.0.0.0/31\ncreate X hash:net,port family inet hashsize 1024\n"
                         "create L list:set size 8\n")
    assert sets["CG-v4"] == {"type": "hash:net", "family": "inet", "members": ["10.0.0.0/31", "10.0.0.2/32"]}
    assert fw.set_error(sets["CG-v4"], "CG-v4", "ipv4") is None
    assert "hash:net,port" in fw.set_error(sets["X"], "X", "ipv4")
    assert "list:set" in fw.set_error(sets["L"], "L", "ipv4")
    assert "not hash:net family inet6" in fw.set_error(sets["CG-v4"], "CG-v4", "ipv6")


def test_ipset_payload_refills_through_swap():
    fresh = fw.ipset_payload("CG-v4", "ipv4", ["10.0.0.0/30"], exists=False)
    assert fresh == "create CG-v4 hash:net family inet -exist\nflush CG-v4\nadd CG-v4 10.0.0.0/30\n"
    refill = fw.ipset_payload("CG-v6", "ipv6", ["fd00::/127"], exists=True).splitlines()
    tmp = fw.swap_set_name("CG-v6")
    assert refill == ["create %s hash:net family inet6 -exist" % tmp, "flush %s" % tmp, "add %s fd00::/127" % tmp,
                      "swap %s CG-v6" % tmp, "destroy %s" % tmp]


def test_restore_payload_names_only_our_chains():
    table = fw.TableState(SAVED)
    stale = [w for w in table.input if "OLD" in w]
    payload = fw.restore_payload("CG", ["-A CG -i lo -j RETURN"], insert_jump=True, delete_jumps=stale,
                                 drop_chains=["OLD"]).splitlines()
    assert payload == ["*filter", ":CG - [0:0]", "-A CG -i lo -j RETURN",
                       "-D INPUT -m comment --comment %s -j OLD" % M, "-F OLD", "-X OLD",
                       "-I INPUT 1 -m comment --comment %s -j CG" % M, "COMMIT"]
    removal = fw.restore_payload(None, [], delete_jumps=stale, drop_chains=["OLD"]).splitlines()
    assert removal[0] == "*filter" and ":CG - [0:0]" not in removal and removal[-1] == "COMMIT"


def test_persisted_files_have_our_header_and_a_fallback():
    files = fw.persisted_files("CG", "ipv4", ["10.0.0.0/30"], [(9001, 9022)], ["tcp"], use_set=True)
    assert sorted(files) == ["CG.v4.fallback.rules", "CG.v4.ipset", "CG.v4.rules"]
    assert all(fw.is_our_file(text.splitlines()[0]) for text in files.values())
    assert "--match-set CG-v4" in files["CG.v4.rules"] and "-s 10.0.0.0/30" in files["CG.v4.fallback.rules"]
    assert "-I INPUT" not in files["CG.v4.rules"]  # the restore script adds the jump once
    plain = fw.persisted_files("CG", "ipv6", ["fd00::1/128"], [(9001, 9022)], ["tcp"], use_set=False)
    assert sorted(plain) == ["CG.v6.rules"] and "-s fd00::1/128" in plain["CG.v6.rules"]


def test_unit_names_directory_and_chain():
    text = fw.unit_file("/etc/clusterguard", "CG")
    assert "ExecStart=%s /etc/clusterguard CG" % fw.RESTORE_SCRIPT in text and M in text.splitlines()[0]
    assert fw.unit_persist_dir(text) == "/etc/clusterguard"
    assert fw.unit_persist_dir("[Service]\nExecStart=/bin/true\n") is None


def test_restore_script_passes_shellcheck(tmp_path):
    script = tmp_path / "restore"
    script.write_text(fw.restore_script())
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (make deps installs it)")
    proc = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_restore_script_refuses_to_run_without_arguments(tmp_path):
    script = tmp_path / "restore"
    script.write_text(fw.restore_script())
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "usage" in proc.stderr


def test_state_text():
    text = fw.state_text({"ipv4": {"chain": "CG", "set_name": "CG-v4", "members": ["10.0.0.0/30"],
                                   "rules": ["-A CG -i lo -j RETURN"], "jumps": [fw.jump_rule("CG")]}})
    assert text.splitlines() == ["# ipv4 ipset CG-v4", "10.0.0.0/30", "# ipv4 chain CG", "-A CG -i lo -j RETURN",
                                 "# ipv4 INPUT", fw.jump_rule("CG")]
