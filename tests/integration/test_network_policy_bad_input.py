"""The bad-input matrix of network_policy, run through the role in render mode and
against the lab API server.

Every case must fail (rc 2), name the variable and the bad value, show no Python
traceback, change no object on the cluster (every NetworkPolicy and Namespace
keeps its resourceVersion) and write no file."""

import os

import pytest

from conftest import run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
BOTH, LAB, RENDER = ("lab", "render"), ("lab",), ("render",)

# (id, extra vars, modes, words the error must hold)
CASES = [
    ("state-typo", {"network_policy_state": "presnt"}, BOTH, ["network_policy_state", "presnt"]),
    ("mode-strict", {"network_policy_mode": "strict"}, BOTH, ["network_policy_mode", "strict"]),
    ("ports-renamed", {"network_policy_ports": ["9001-9022"]}, BOTH,
     ["network_policy_ports", "replaced in 3.0.0", "portworx_start_port"]),
    ("pxns-renamed", {"network_policy_portworx_namespace": "px"}, BOTH,
     ["network_policy_portworx_namespace", "replaced in 3.0.0", "portworx_namespace"]),
    ("source-renamed", {"network_policy_node_source": "cluster"}, BOTH,
     ["network_policy_node_source", "replaced in 3.0.0", "portworx_node_source"]),
    ("extra-ports-string", {"portworx_extra_ports": "9024"}, BOTH, ["portworx_extra_ports", "'9024'", "list"]),
    ("extra-ports-typo", {"portworx_extra_ports": ["90x1"]}, BOTH, ["portworx_extra_ports", "90x1"]),
    ("extra-ports-zero", {"portworx_extra_ports": ["0"]}, BOTH, ["portworx_extra_ports", "'0'"]),
    ("extra-ports-high", {"portworx_extra_ports": [70000]}, BOTH, ["portworx_extra_ports", "70000"]),
    ("start-port-high", {"portworx_start_port": 65600}, BOTH, ["portworx_start_port", "65600"]),
    ("px-namespace", {"portworx_namespace": "Portworx"}, BOTH, ["portworx_namespace", "Portworx"]),
    ("px-source-render", {"portworx_source": "storagecluster"}, RENDER, ["portworx_source", "storagecluster"]),
    ("metrics-twice", {"network_policy_metrics_access": [{"namespace": "m"}, {"namespace": "m"}]}, BOTH,
     ["network_policy_metrics_access", "'m'", "listed twice"]),
    ("metrics-no-namespace", {"network_policy_metrics_access": [{"pods": "app=prometheus"}]}, BOTH,
     ["network_policy_metrics_access", "app=prometheus"]),
    ("source-dns", {"portworx_node_source": "dns"}, BOTH, ["portworx_node_source", "dns"]),
    ("source-list-empty", {"portworx_node_source": "list"}, BOTH, ["portworx_node_source", "'list'"]),
    ("nodes-world", {"portworx_node_source": "list", "portworx_node_addresses": ["0.0.0.0/0"]}, BOTH,
     ["portworx_node_addresses", "0.0.0.0/0"]),
    ("nodes-mapped", {"portworx_node_source": "list", "portworx_node_addresses": ["::ffff:10.231.0.11"]},
     BOTH, ["portworx_node_addresses", "::ffff:10.231.0.11", "IPv4-mapped"]),
    ("nodes-wide", {"portworx_node_source": "list", "portworx_node_addresses": ["10.0.0.0/8"]}, BOTH,
     ["portworx_node_addresses", "10.0.0.0/8"]),
    ("nodes-hostbits", {"portworx_node_source": "list", "portworx_node_addresses": ["10.231.0.11/24"]},
     BOTH, ["portworx_node_addresses", "10.231.0.11/24", "host bits"]),
    ("nodes-string", {"portworx_node_source": "list", "portworx_node_addresses": "10.231.0.11"}, BOTH,
     ["portworx_node_addresses", "'10.231.0.11'"]),
    ("addrvars-not-ip", {"portworx_node_address_vars": ["lab_netns"]}, BOTH, ["lab_netns", "cgpx-w1"]),
    ("addrvars-empty", {"portworx_node_address_vars": []}, BOTH, ["portworx_node_address_vars", "[]"]),
    ("group-missing", {"portworx_workers_group": "nosuchgroup"}, BOTH, ["portworx_workers_group", "nosuchgroup"]),
    ("cidr-mode", {"network_policy_node_cidr_mode": "wide"}, BOTH, ["network_policy_node_cidr_mode", "wide"]),
    ("prefix-4", {"network_policy_node_subnet_prefix": 4}, BOTH, ["network_policy_node_subnet_prefix", "4", "8-32"]),
    ("prefix-word", {"network_policy_node_subnet_prefix": "sixteen"}, BOTH, ["network_policy_node_subnet_prefix", "sixteen"]),
    ("pod-cidr-33", {"network_policy_pod_cidrs": ["10.244.0.0/33"]}, BOTH, ["network_policy_pod_cidrs", "10.244.0.0/33"]),
    ("svc-cidr-mapped", {"network_policy_service_cidrs": ["::ffff:10.96.0.0/120"]}, BOTH,
     ["network_policy_service_cidrs", "::ffff:10.96.0.0/120"]),
    ("subnet-overlap", {"network_policy_node_cidr_mode": "subnet", "network_policy_pod_cidrs": ["10.231.128.0/17"],
                        "network_policy_service_cidrs": ["10.96.0.0/16"]}, BOTH,
     ["network_policy_node_subnet_prefix", "10.231.0.0/16", "overlaps 10.231.128.0/17"]),
    ("ns-string", {"network_policy_namespaces": "default"}, BOTH, ["network_policy_namespaces", "'default'", "list"]),
    ("ns-newline", {"network_policy_namespaces": ["default\n"]}, BOTH, ["network_policy_namespaces", "'default\\n'"]),
    ("ns-upper", {"network_policy_namespaces": ["Team-A"]}, BOTH, ["network_policy_namespaces", "Team-A"]),
    ("ns-long", {"network_policy_namespaces": ["n" * 64]}, BOTH, ["network_policy_namespaces", "n" * 64]),
    ("exclude-underscore", {"network_policy_exclude_namespaces": ["bad_ns"]}, BOTH,
     ["network_policy_exclude_namespaces", "bad_ns"]),
    ("all-word", {"network_policy_all_namespaces": "maybe"}, BOTH, ["network_policy_all_namespaces", "maybe"]),
    ("selector-space", {"network_policy_namespace_selector": "team=a b"}, LAB,
     ["network_policy_namespace_selector", "team=a b"]),
    ("selector-nokey", {"network_policy_namespace_selector": "=x"}, LAB, ["network_policy_namespace_selector", "=x"]),
    ("system-ns-upper", {"network_policy_system_namespace": "Kube-System"}, BOTH,
     ["network_policy_system_namespace", "Kube-System"]),
    ("px-ns-newline", {"portworx_namespace": "px\n"}, BOTH, ["portworx_namespace", "px"]),
    ("exempt-values-string", {"network_policy_exempt_pods": [{"key": "component", "values": "stork"}]}, BOTH,
     ["network_policy_exempt_pods", "'component'", "'stork'", "list"]),
    ("exempt-values-int", {"network_policy_exempt_pods": [{"key": "component", "values": [1]}]}, BOTH,
     ["network_policy_exempt_pods", "1 is not a string"]),
    ("exempt-key-space", {"network_policy_exempt_pods": [{"key": "bad key", "values": ["x"]}]}, BOTH,
     ["network_policy_exempt_pods", "bad key"]),
    ("exempt-value-64", {"network_policy_exempt_pods": [{"key": "name", "values": ["v" * 64]}]}, BOTH,
     ["network_policy_exempt_pods", "v" * 64]),
    ("exempt-no-values", {"network_policy_exempt_pods": [{"key": "name"}]}, BOTH, ["network_policy_exempt_pods", "'name'"]),
    ("exempt-extra-key", {"network_policy_exempt_pods": [{"key": "name", "values": ["x"], "op": "In"}]}, BOTH,
     ["network_policy_exempt_pods", "'op'"]),
    ("exempt-string-item", {"network_policy_exempt_pods": ["component=stork"]}, BOTH,
     ["network_policy_exempt_pods", "component=stork"]),
    ("seed-port", {"network_policy_seed_allow_ports": ["80x"]}, BOTH, ["network_policy_seed_allow_ports", "80x"]),
    ("block-name", {"network_policy_block_name": "Block_9001"}, BOTH, ["network_policy_block_name", "Block_9001"]),
    ("names-equal", {"network_policy_api_name": "block-9001-for-non-system-users"}, BOTH,
     ["network_policy_api_name", "block-9001-for-non-system-users"]),
    ("api-port-0", {"network_policy_api_port": 0}, BOTH, ["network_policy_api_port", "0"]),
    ("api-port-high", {"network_policy_api_port": 70000}, BOTH, ["network_policy_api_port", "70000"]),
    ("api-port-word", {"network_policy_api_port": "https"}, BOTH, ["network_policy_api_port", "https"]),
    ("psa-level", {"network_policy_pod_security": "strict"}, BOTH, ["network_policy_pod_security", "strict"]),
    ("psa-mode", {"network_policy_pod_security_modes": ["enforce", "block"]}, BOTH,
     ["network_policy_pod_security_modes", "block"]),
    ("psa-no-mode", {"network_policy_pod_security": "baseline", "network_policy_pod_security_modes": []}, BOTH,
     ["network_policy_pod_security_modes", "[]"]),
    ("cni-word", {"network_policy_check_cni": "sometimes"}, BOTH, ["network_policy_check_cni", "sometimes"]),
    ("render-all", {"network_policy_all_namespaces": True}, RENDER, ["network_policy_render_dir", "network_policy_all_namespaces"]),
    ("render-cluster", {"portworx_node_source": "cluster"}, RENDER, ["portworx_node_source", "'cluster'"]),
    ("render-subnet", {"network_policy_node_cidr_mode": "subnet"}, RENDER,
     ["network_policy_node_cidr_mode", "'subnet'", "network_policy_pod_cidrs"]),
    ("field-manager", {"network_policy_field_manager": ""}, BOTH, ["network_policy_field_manager", "''"]),
    ("instance-space", {"network_policy_instance": "bad instance"}, BOTH, ["network_policy_instance", "bad instance"]),
    ("instance-empty", {"network_policy_instance": ""}, BOTH, ["network_policy_instance", "''"]),
    ("host-ftp", {"network_policy_host": "ftp://10.0.0.1"}, LAB, ["network_policy_host", "ftp://10.0.0.1"]),
    ("certs-word", {"network_policy_validate_certs": "perhaps"}, LAB, ["network_policy_validate_certs", "perhaps"]),
    ("slice-word", {"network_policy_api_from_endpointslice": "nah"}, BOTH, ["network_policy_api_from_endpointslice", "nah"]),
]


def test_the_matrix_has_at_least_fifty_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)
    assert sum(len(c[2]) for c in CASES) >= 100


def cluster_state(api):
    from kubernetes import client
    pols = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
    nss = client.CoreV1Api(api).list_namespace().items
    return (sorted((p.metadata.namespace, p.metadata.name, p.metadata.resource_version) for p in pols),
            sorted((n.metadata.name, n.metadata.resource_version) for n in nss))


@pytest.fixture(scope="module")
def guarded(kubeconfig, inventory):
    """Start from the lab with our policies applied, so that a half-applied run would show."""
    run_playbook(PLAY, inventory, {"network_policy_kubeconfig": kubeconfig, "network_policy_namespaces": ["default"]})


PARAMS = [(c, mode) for c in CASES for mode in c[2]]


@pytest.mark.parametrize("case, mode", PARAMS, ids=["%s-%s" % (c[0], m) for c, m in PARAMS])
def test_bad_input_is_refused_before_anything_changes(case, mode, api, kubeconfig, inventory, guarded, tmp_path):
    name, extra, _modes, expected = case
    render_dir = str(tmp_path / "manifests")
    base = {"network_policy_namespaces": ["default"], "portworx_node_address_vars": ["ansible_host", "node_ipv6"]}
    base.update({"network_policy_render_dir": render_dir} if mode == "render" else {"network_policy_kubeconfig": kubeconfig})
    base.update(extra)
    before = cluster_state(api)
    out = run_playbook(PLAY, inventory, base, expect_rc=2)
    error = out[out.index("fatal: "):] if "fatal: " in out else out
    error = error.split("argument_spec_data:")[0]
    assert "Traceback" not in out, out[-3000:]
    for word in expected:
        assert word in error, (word, error[-3000:])
    assert cluster_state(api) == before
    assert not os.path.exists(render_dir)
