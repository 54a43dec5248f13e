import pytest
from hypothesis import given, strategies as st

from ansible_collections.clusterguard.portworx.plugins.module_utils import ports


@pytest.mark.parametrize(
    "spec, expected",
    [
        (9001, [(9001, 9001)]),
        ("9001", [(9001, 9001)]),
        ("9001-9022", [(9001, 9022)]),
        ("9001:9022", [(9001, 9022)]),
        (" 9001 : 9022 ", [(9001, 9022)]),
        ("9001-9010,9011,9012:9022", [(9001, 9022)]),
        (["9010-9022", 9001, "9002:9009"], [(9001, 9022)]),
        (["17001-17022", "9001-9022", 9000], [(9000, 9022), (17001, 17022)]),
        ([], []),
        ([1, 65535], [(1, 1), (65535, 65535)]),
    ],
)
def test_parse_ports(spec, expected):
    assert ports.parse_ports(spec) == expected


@pytest.mark.parametrize("bad", ["0", "65536", "9022-9001", "90a", "9001-", True, None, 1.5, {"port": 1}, [[9001, 9002]]])
def test_parse_ports_rejects_and_names_the_value(bad):
    with pytest.raises(ports.PortSpecError) as err:
        ports.parse_ports(bad)
    shown = repr(bad[0]) if isinstance(bad, list) else repr(bad)
    assert shown in str(err.value)


def test_complement_of_portworx_range():
    assert ports.complement([(9001, 9022)]) == [(1, 9000), (9023, 65535)]
    assert ports.complement([]) == [(1, 65535)]
    assert ports.complement([(1, 65535)]) == []


def test_multiport_groups_respect_fifteen_slots():
    ranges = [(p, p) for p in range(1000, 1040, 2)]  # 20 single ports
    groups = ports.multiport_groups(ranges)
    assert [len(g.split(",")) for g in groups] == [15, 5]
    ranges = [(p, p + 1) for p in range(1000, 1100, 10)]  # 10 ranges = 20 slots
    groups = ports.multiport_groups(ranges)
    assert [len(g.split(",")) for g in groups] == [7, 3]
    assert ports.multiport_groups([(9001, 9022)]) == ["9001:9022"]


def test_policy_ports():
    assert ports.policy_ports([(9001, 9022), (53, 53)], "UDP") == [
        {"protocol": "UDP", "port": 9001, "endPort": 9022},
        {"protocol": "UDP", "port": 53},
    ]


def test_intersect():
    assert ports.intersect([(1, 1024)], [(22, 22)]) == [(22, 22)]
    assert ports.intersect([(9001, 9022)], [(22, 22)]) == []
    assert ports.intersect([(1, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]


port = st.integers(min_value=1, max_value=65535)
span = st.tuples(port, st.integers(min_value=0, max_value=300)).map(
    lambda t: "%d-%d" % (t[0], min(65535, t[0] + t[1]))
)
specs = st.lists(st.one_of(port, span, port.map(str)), max_size=30)


def as_set(ranges):
    return {p for lo, hi in ranges for p in range(lo, hi + 1)}


def spec_set(spec):
    out = set()
    for item in spec:
        lo, _sep, hi = str(item).partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@given(specs)
def test_ranges_cover_exactly_the_input_sorted_and_merged(spec):
    ranges = ports.parse_ports(spec)
    assert as_set(ranges) == spec_set(spec)
    for (lo1, hi1), (lo2, hi2) in zip(ranges, ranges[1:]):
        assert hi1 + 1 < lo2  # disjoint and not adjacent: nothing left to merge


@given(specs)
def test_complement_is_disjoint_and_fills_the_port_space(spec):
    ranges = ports.parse_ports(spec)
    rest = ports.complement(ranges)
    assert not as_set(ranges) & as_set(rest)
    assert len(as_set(ranges)) + len(as_set(rest)) == 65535


@given(specs)
def test_multiport_groups_round_trip(spec):
    ranges = ports.parse_ports(spec)
    groups = ports.multiport_groups(ranges)
    back = []
    for group in groups:
        slots = sum(2 if ":" in part else 1 for part in group.split(","))
        assert slots <= ports.MULTIPORT_SLOTS
        back.extend(group.split(","))
    assert ports.parse_ports(back) == ranges
