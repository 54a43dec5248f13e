"""plugin_utils/spec.py: every entry point refuses wrong types and null, naming the variable,
for options of every role (what the verify role and the plan plugins read too)."""

import os

import pytest
import yaml

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import spec

HOST = spec.load_options("host_firewall")
NETPOL = spec.load_options("network_policy")


@pytest.mark.parametrize("options, name, value, words", [
    (HOST, "host_firewall_ipv6", [], "host_firewall_ipv6: [] must be true or false"),
    (HOST, "host_firewall_ipv6", {"a": 1}, "must be true or false"),
    (HOST, "host_firewall_extra_sources", None, "host_firewall_extra_sources: None (null) is not a list"),
    (HOST, "host_firewall_state", None, "host_firewall_state: None (null) is not a string; leave it unset for the "
                                        "default 'present'"),
    (NETPOL, "network_policy_state", None, "network_policy_state: None (null)"),
    (NETPOL, "network_policy_namespaces", "team-a", "must be a list"),
    (NETPOL, "network_policy_cluster_priority", "high", "must be a whole number"),
    (NETPOL, "network_policy_all_namespaces", 2.5, "must be true or false"),
])
def test_wrong_types_and_null_are_refused_by_name(options, name, value, words):
    _values, errors = spec.resolve(options, {name: value})
    assert [e for e in errors if words in e], errors


def test_null_stays_allowed_where_unset_is_the_default():
    values, errors = spec.resolve(NETPOL, {"network_policy_kubeconfig": None, "network_policy_context": None})
    assert not errors and values["network_policy_kubeconfig"] is None


@pytest.mark.parametrize("role", ["host_firewall", "network_policy", "verify"])
def test_options_are_read_as_pyyaml_safe_load_reads_them_with_libyaml_where_pyyaml_has_it(role):
    with open(os.path.join(spec.ROLES_DIR, role, "meta", "argument_specs.yml")) as handle:
        assert spec.load_options(role) == yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    # every plan reads these files; PyYAML's own parser took 13 to 21 ms for each
    assert spec._SAFE_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)
