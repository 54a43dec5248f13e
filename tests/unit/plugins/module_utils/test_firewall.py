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


# -- fail closed: names, paths and values that mean something else (issue 21) ----------
@pytest.mark.parametrize("name, words", [
    ("X\n", "not starting with"), ("-F", "not starting with"), ("--flush", "not starting with"),
    ("DOCKER-USER", "Docker"), ("docker", "Docker"), ("KUBE-ROUTER-INPUT", "kube-router"), ("KUBE-FIREWALL", "kube-proxy"),
    ("cali-INPUT", "Calico"), ("CILIUM_INPUT", "Cilium"), ("f2b-sshd", "fail2ban"), ("ufw-user-input", "ufw"),
    ("IN_public", "firewalld"), ("INPUT", "reserves"), ("a" * 29, "1-28"),
])
def test_chain_names_that_are_not_ours_to_take(name, words):
    assert words in fw.chain_error(name)


@pytest.mark.parametrize("name", ["CLUSTERGUARD-PX", "px_guard", "A", "9001-guard"])
def test_chain_names_we_may_take(name):
    assert fw.chain_error(name) is None


@pytest.mark.parametrize("path, words", [
    ("/etc/clusterguard\n", "no newline"), ("/etc//clusterguard", "'//'"), ("/etc/./x", "'.'"), ("/etc/../x", "'..'"),
    ("/", "absolute directory"), ("//", "absolute directory"), ("etc/x", "absolute directory"),
    ("/proc", "/proc"), ("/proc/self", "/proc"), ("/sys/fs", "/sys"), ("/dev/shm/x", "/dev"), ("/run/x", "/run"),
    ("/tmp/x", "/tmp"), ("/etc/x y", "no spaces"),
])
def test_persist_dirs_refused_with_their_reason(path, words):
    assert words in fw.persist_dir_error(path)


@pytest.mark.parametrize("path", ["/etc/clusterguard", "/etc/clusterguard/", "/var/lib/clusterguard", "/procfs", ""])
def test_persist_dirs_taken(path):
    assert fw.persist_dir_error(path) is None


class Stat:
    def __init__(self, mode, uid=0):
        self.st_mode, self.st_uid = mode, uid


@pytest.mark.parametrize("st, words", [
    (Stat(0o120777), "symbolic link"), (Stat(0o100644), "not a directory"), (Stat(0o40750, uid=1000), "uid 1000"),
    (Stat(0o40770), "writable by group"), (Stat(0o40757), "writable by others"),
    (Stat(0o41777), "group and others"),
])
def test_directories_we_do_not_write_into(st, words):
    assert words in fw.directory_error("/etc/clusterguard", st)


def test_a_root_directory_closed_to_others_is_written_into():
    assert fw.directory_error("/etc/clusterguard", Stat(0o40750)) is None
    assert fw.directory_error("/usr/local/sbin", Stat(0o40755)) is None


@pytest.mark.parametrize("value", [-1, 0, float("nan"), float("inf"), 61, True, "1"])
def test_settle_values_refused(value):
    assert "above 0 and at most 60" in fw.settle_error(value)


def test_settle_values_taken():
    assert fw.settle_error(1.0) is None and fw.settle_error(0.25) is None and fw.settle_error(60) is None


def test_a_source_with_a_zone_is_refused():
    with pytest.raises(fw.FirewallSpecError, match="zone"):
        fw.split_sources(["fe80::1%eth0"])


def test_every_persisted_file_ends_with_our_end_line_and_starts_with_our_header():
    for use_set in (False, True):
        files = fw.persisted_files("CLUSTERGUARD-PX", "ipv4", ["10.0.0.1/32"], [(9001, 9023)], ["tcp"], use_set,
                                   [(9002, 9002)])
        assert len(files) == (3 if use_set else 1)
        for text in files.values():
            assert fw.is_our_file(text.split("\n", 1)[0])
            assert text.endswith("\n" + fw.FILE_END + "\n")


def test_the_unit_hands_the_last_resort_its_ports():
    assert fw.unit_args(["ipv4", "ipv6"], [(9001, 9023)], [(9002, 9002)]) == "v4,v6 9001:9023 9002"
    assert fw.unit_args(["ipv4"], [], [(17002, 17002)]) == "v4 - 17002"
    unit = fw.unit_file("/etc/clusterguard", "CLUSTERGUARD-PX", "v4 9001:9023 -")
    assert "ExecStart=%s /etc/clusterguard CLUSTERGUARD-PX v4 9001:9023 -\n" % fw.RESTORE_SCRIPT in unit
    assert fw.unit_persist_dir(unit) == "/etc/clusterguard"


M = fw.MARKER


def table(*lines):
    return fw.TableState("\n".join(lines) + "\n")


def test_a_chain_a_marked_jump_reaches_is_not_ours_when_it_holds_other_rules():
    t = table("-N SSH-ALLOW", "-A INPUT -m comment --comment %s -j SSH-ALLOW" % M,
              "-A SSH-ALLOW -p tcp -m tcp --dport 22 -j ACCEPT")
    assert t.foreign_jumps() == ["SSH-ALLOW"] and t.our_chains() == []
    assert "holds rules without the comment" in t.owner_error("SSH-ALLOW")


def test_our_chain_is_ours_by_every_rule_and_referenced_elsewhere_is_named():
    t = table("-N CLUSTERGUARD-PX", "-A INPUT -m comment --comment %s -j CLUSTERGUARD-PX" % M,
              "-A CLUSTERGUARD-PX -i lo -m comment --comment %s -j RETURN" % M, "-A FORWARD -j CLUSTERGUARD-PX",
              "-N OTHER", "-A OTHER -j CLUSTERGUARD-PX")
    assert t.our_chains() == ["CLUSTERGUARD-PX"] and t.foreign_jumps() == []
    assert t.references("CLUSTERGUARD-PX") == ["-A FORWARD -j CLUSTERGUARD-PX", "-A OTHER -j CLUSTERGUARD-PX"]
    assert t.owner_error("CLUSTERGUARD-PX") is None


def test_an_empty_chain_nothing_of_ours_reaches_is_not_taken():
    assert "empty" in table("-N CLUSTERGUARD-PX").owner_error("CLUSTERGUARD-PX")
    assert table("-N CLUSTERGUARD-PX", "-A INPUT -m comment --comment %s -j CLUSTERGUARD-PX" % M).owner_error(
        "CLUSTERGUARD-PX") is None


def test_the_filter_table_of_a_save_reads_as_dash_s():
    saved = ("# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j X\nCOMMIT\n"
             "*filter\n:INPUT ACCEPT [0:0]\n:CLUSTERGUARD-PX - [0:0]\n"
             "-A INPUT -m comment --comment %s -j CLUSTERGUARD-PX\n-A CLUSTERGUARD-PX -i lo -m comment --comment %s "
             "-j RETURN\nCOMMIT\n" % (M, M))
    t = fw.TableState(fw.filter_rules_of_save(saved))
    assert t.our_chains() == ["CLUSTERGUARD-PX"] and t.marked_jumps() == ["CLUSTERGUARD-PX"]
    assert "PREROUTING" not in t.rules
