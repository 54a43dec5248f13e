"""module_utils/nft.py: the nftables back-end's text, the ruleset it reads back and what it
decides. The JSON below has the shapes ``nft -j list ruleset`` prints (nftables 1.0.6, as on
the lab's Debian 12); tests/integration/test_host_firewall_nftables.py loads the same text into
real kernels and reads it back."""

import json

import pytest

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw
from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall_plan as fp
from ansible_collections.clusterguard.portworx.plugins.module_utils import nft

TABLE = "CLUSTERGUARD-PX"
PORTS = [(9001, 9023)]
UDP = [(9002, 9002)]
SOURCES = {"ipv4": ["10.0.0.11/32", "10.0.0.12/31"], "ipv6": ["fd00::11/128"]}
BOTH = ("ipv4", "ipv6")


def element(net):
    """A member as nft -j prints it: a host as a bare address, a network as a prefix."""
    addr, length = net.split("/")
    return addr if length in ("32", "128") else {"prefix": {"addr": addr, "len": int(length)}}


def ruleset(table=TABLE, sources=None, families=BOTH, comments=None, rules=None, chain=None, extra=()):
    """``nft -j list ruleset`` output holding our table as we write it (or changed by the arguments)."""
    sources = SOURCES if sources is None else sources
    texts = nft.rules(PORTS, ["tcp"], families, UDP)
    if comments is None:
        comments = ["%s %s" % (fw.MARKER, nft.digest(table, texts))] + [fw.MARKER] * (len(texts) - 1)
    items = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
             {"table": {"family": "inet", "name": table, "handle": 1}}]
    for fam in families:
        name, kind, _proto = nft.SETS[fam]
        body = {"family": "inet", "name": name, "table": table, "type": kind, "flags": ["interval"]}
        if sources.get(fam):
            body["elem"] = [element(n) for n in sources[fam]]
        items.append({"set": body})
    items.append({"chain": dict({"family": "inet", "table": table, "name": "input", "type": "filter", "hook": "input",
                                 "prio": -10, "policy": "accept"}, **(chain or {}))})
    count = len(texts) if rules is None else rules
    for comment in comments[:count]:
        items.append({"rule": {"family": "inet", "table": table, "chain": "input", "comment": comment,
                               "expr": [{"drop": None}]}})
    items.extend(extra)
    return json.dumps({"nftables": items})


def plan_of(text, wanted=True, table=TABLE, families=BOTH):
    return nft.plan(nft.parse_ruleset(text), table, wanted, SOURCES, PORTS, ["tcp"], families, UDP)


def test_the_rules_drop_the_guarded_ports_of_each_family_from_all_but_the_sources():
    assert nft.rules(PORTS, ["tcp"], BOTH, UDP) == [
        'iif "lo" accept',
        "meta nfproto ipv4 tcp dport { 9001-9023 } ip saddr != @v4 drop",
        "meta nfproto ipv4 udp dport { 9002 } ip saddr != @v4 drop",
        "meta nfproto ipv6 tcp dport { 9001-9023 } ip6 saddr != @v6 drop",
        "meta nfproto ipv6 udp dport { 9002 } ip6 saddr != @v6 drop"]
    # IPv4 only: IPv6 packets are not ours to drop
    assert nft.rules([(9001, 9022), (9024, 9024)], ["tcp", "udp"], ["ipv4"]) == [
        'iif "lo" accept',
        "meta nfproto ipv4 tcp dport { 9001-9022, 9024 } ip saddr != @v4 drop",
        "meta nfproto ipv4 udp dport { 9001-9022, 9024 } ip saddr != @v4 drop"]


def test_the_definition_holds_one_set_per_family_and_a_base_chain_with_the_digest():
    text = nft.definition(TABLE, SOURCES, PORTS, ["tcp"], BOTH, UDP)
    lines = text.splitlines()
    assert lines[0] == "table inet CLUSTERGUARD-PX {" and lines[-1] == "}"
    assert "  set v4 { type ipv4_addr; flags interval; elements = { 10.0.0.11/32, 10.0.0.12/31 }; }" in lines
    assert "  set v6 { type ipv6_addr; flags interval; elements = { fd00::11/128 }; }" in lines
    assert "    type filter hook input priority -10; policy accept;" in lines
    digest = nft.digest(TABLE, nft.rules(PORTS, ["tcp"], BOTH, UDP))
    assert '    iif "lo" accept comment "clusterguard.portworx %s"' % digest in lines
    assert sum(1 for line in lines if line.endswith('drop comment "clusterguard.portworx"')) == 4
    # no sources: an empty set, so only loopback passes
    empty = nft.definition(TABLE, {"ipv4": [], "ipv6": []}, PORTS, ["tcp"], ["ipv4"])
    assert "  set v4 { type ipv4_addr; flags interval; }" in empty.splitlines() and "set v6" not in empty


def test_the_digest_follows_the_rules_and_the_name_but_not_the_members():
    texts = nft.rules(PORTS, ["tcp"], BOTH, UDP)
    assert nft.digest(TABLE, texts) == nft.digest(TABLE, list(texts))
    assert nft.digest(TABLE, texts) != nft.digest("OTHER", texts)
    assert nft.digest(TABLE, texts) != nft.digest(TABLE, nft.rules(PORTS, ["tcp"], ["ipv4"], UDP))
    assert "10.0.0" not in nft.definition(TABLE, SOURCES, PORTS, ["tcp"], BOTH).split("chain input")[1]


def test_the_transaction_replaces_the_whole_table_and_deletes_stale_ones():
    text = nft.definition(TABLE, SOURCES, PORTS, ["tcp"], BOTH)
    out = nft.payload(TABLE, text, stale=["OLD"])
    assert out.splitlines()[:3] == ["table inet CLUSTERGUARD-PX {}", "delete table inet CLUSTERGUARD-PX",
                                    "delete table inet OLD"]
    assert out.endswith(text)
    assert nft.payload(None, "", stale=["A", "B"]) == "delete table inet A\ndelete table inet B\n"


def test_the_persisted_file_is_the_transaction_between_our_header_and_end_line():
    text = nft.definition(TABLE, SOURCES, PORTS, ["tcp"], BOTH)
    (name, content), = nft.persisted_file(TABLE, text).items()
    assert name == "CLUSTERGUARD-PX.nft"
    lines = content.splitlines()
    assert fw.is_our_file(lines[0]) and lines[-1] == fw.FILE_END
    assert "\n".join(lines[1:-1]) + "\n" == nft.payload(TABLE, text)


@pytest.mark.parametrize("name, ok", [
    ("CLUSTERGUARD-PX", True), ("_guard", True), ("px_1", True), ("9001PX", False), ("-PX", False), ("", False),
    ("PX GUARD", False), (None, False)])
def test_a_table_name_starts_with_a_letter_or_underscore(name, ok):
    error = nft.table_error(name)
    assert (error is None) == ok
    if not ok:
        assert repr(name) in error


def test_set_members_are_read_in_every_shape_nft_prints():
    text = json.dumps({"nftables": [
        {"table": {"family": "inet", "name": "T"}},
        {"set": {"family": "inet", "table": "T", "name": "v4", "elem": [
            "10.0.0.9", {"prefix": {"addr": "10.1.0.0", "len": 16}}, {"range": ["10.2.0.0", "10.2.0.255"]},
            {"elem": {"val": "10.3.0.1", "comment": "x"}}]}},
        {"set": {"family": "inet", "table": "T", "name": "ports", "elem": [9001]}}]})
    tables = nft.parse_ruleset(text)
    assert tables[("inet", "T")].sets == {"v4": ["10.0.0.9/32", "10.1.0.0/16", "10.2.0.0/24", "10.3.0.1/32"],
                                          "ports": None}


@pytest.mark.parametrize("text", ["not json", "[]", '{"nftables": 3}'])
def test_output_that_is_no_ruleset_is_an_error(text):
    with pytest.raises(nft.NftError, match="nft -j list ruleset printed no JSON ruleset"):
        nft.parse_ruleset(text)


def test_an_empty_ruleset_has_no_tables():
    assert nft.parse_ruleset("") == {} and nft.parse_ruleset('{"nftables": []}') == {}


def test_a_host_without_our_table_gets_it_whole():
    plan = plan_of(json.dumps({"nftables": [{"table": {"family": "ip", "name": "filter"}}]}))
    assert plan.changed and plan.rules_changed and plan.set_drift == list(BOTH) and not plan.exists
    assert plan.drift("ipv4") == ["rules", "set"] and plan.stale == []
    assert plan.payload() == nft.payload(TABLE, nft.definition(TABLE, SOURCES, PORTS, ["tcp"], BOTH, UDP))


def test_our_table_as_written_is_no_change():
    plan = plan_of(ruleset())
    assert not plan.changed and plan.drift("ipv4") == [] and plan.drift("ipv6") == [] and plan.exists


@pytest.mark.parametrize("change, words", [
    ({"sources": {"ipv4": ["10.0.0.11/32", "10.0.0.12/31", "10.9.9.9/32"], "ipv6": ["fd00::11/128"]}}, ["set"]),
    ({"sources": {"ipv4": ["10.0.0.11/32"], "ipv6": ["fd00::11/128"]}}, ["set"]),
    ({"rules": 2}, ["rules"]),
    ({"rules": 1}, ["rules"]),
    ({"comments": ["%s sha256:0000" % fw.MARKER] + [fw.MARKER] * 4}, ["rules"]),
    ({"chain": {"policy": "drop"}}, ["rules"]),
    ({"chain": {"prio": 0}}, ["rules"]),
    ({"families": ["ipv4"]}, ["rules"]),
])
def test_what_another_hand_changed_in_our_table_is_drift(change, words):
    plan = plan_of(ruleset(**change))
    assert plan.changed and plan.drift("ipv4") == words and plan.error is None
    if change.get("families"):
        assert plan.drift("ipv6") == ["rules", "set"]


def test_a_table_of_our_name_that_is_not_ours_stops_the_run():
    empty = json.dumps({"nftables": [{"table": {"family": "inet", "name": TABLE}}]})
    assert "it has no rules" in plan_of(empty).error
    # our sets and chain with every rule flushed carry no marker any more: not known as ours
    assert "it has no rules" in plan_of(ruleset(rules=0)).error
    other = ruleset(comments=["someone else"] * 5)
    error = plan_of(other).error
    assert "not ours" in error and "host_firewall_chain" in error and not plan_of(other).stale
    # the same name in another family is not ours to judge
    assert plan_of(json.dumps({"nftables": [{"table": {"family": "ip", "name": TABLE}}]})).error is None


def test_tables_of_ours_of_another_name_go_and_absent_removes_every_one():
    text = ruleset()
    old = json.loads(ruleset(table="OLD-NAME"))["nftables"][1:]
    both = json.dumps({"nftables": json.loads(text)["nftables"] + old})
    plan = plan_of(both)
    assert plan.stale == ["OLD-NAME"] and plan.changed and not plan.rules_changed
    assert plan.payload().startswith("table inet %s {}\ndelete table inet %s\ndelete table inet OLD-NAME\n" % (
        TABLE, TABLE))
    gone = plan_of(both, wanted=False)
    assert gone.stale == ["CLUSTERGUARD-PX", "OLD-NAME"] and gone.payload() == (
        "delete table inet CLUSTERGUARD-PX\ndelete table inet OLD-NAME\n")
    # the restore script's last resort (ip and ip6 tables, rules without our comment) is not among them
    last = json.dumps({"nftables": [{"table": {"family": "ip", "name": fw.NFT_LAST_RESORT}},
                                    {"rule": {"family": "ip", "table": fw.NFT_LAST_RESORT, "chain": "input",
                                              "expr": []}}]})
    assert plan_of(last, wanted=False).stale == []


def test_the_result_of_the_nftables_back_end_speaks_per_family_like_the_iptables_one():
    plan = plan_of(ruleset(sources={"ipv4": ["10.0.0.11/32"], "ipv6": ["fd00::11/128"]}))
    old = fp.FamilyPlan("ipv4", "iptables", False, table=fw.TableState(""))
    old.stale = ["CLUSTERGUARD-PX"]
    out = fp.result(TABLE, {"ipv4": old}, True, [], "nftables", {}, {}, {}, "absent", diff=True, nftplan=plan,
                    use_nft=True)
    assert out["drift"]["ipv4"] == ["set", "stale"] and out["drift"]["ipv6"] == []
    assert out["drift"]["nftables"] == ["set"]
    assert out["families"]["ipv4"]["set_name"] == "v4" and out["families"]["ipv4"]["sources"] == SOURCES["ipv4"]
    assert out["families"]["ipv4"]["removed_chains"] == ["CLUSTERGUARD-PX"]
    assert out["nftables"]["table"] == TABLE and out["nftables"]["rules"] == plan.want_rules
    assert "# iptables chain CLUSTERGUARD-PX (goes)" in out["diff"]["before"]
    assert "table inet CLUSTERGUARD-PX {" in out["diff"]["after"]
    # nft missing (check mode): nothing to report per family, no crash
    missing = fp.result(TABLE, {}, True, ["nftables"], "nftables", {}, {}, {}, "absent", nftplan=None, use_nft=True)
    assert missing["families"] == {} and missing["drift"]["nftables"] == []


def test_the_boot_unit_names_the_back_end_only_for_nftables():
    assert fw.unit_args(BOTH, PORTS, UDP) == "v4,v6 9001:9023 9002"
    assert fw.unit_args(BOTH, PORTS, UDP, "nftables") == "v4,v6 9001:9023 9002 nftables"
    script = fw.restore_script()
    assert 'backend=${6:-iptables}' in script and 'nft -f "$file"' in script
    assert 'nft list table inet "$chain"' in fw.watchdog_script()
