"""No secret in any output: the token and credentials in the host URL, at -vvv,
in runs that succeed and runs that fail. And validate_certs: false is honoured."""

import os
import re

import pytest

from conftest import LAB, run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
HOST = "https://127.0.0.1:16443"


@pytest.fixture(scope="module")
def token(kubeconfig):
    with open(os.path.join(LAB, "controlplane", "pki", "tokens.csv")) as handle:
        return handle.readline().split(",")[0]


def run(inventory, extra, expect_rc=0):
    return run_playbook(PLAY, inventory, extra, expect_rc=expect_rc, args=["-vvv"])


def test_token_never_shows_in_a_run_that_succeeds(inventory, namespace, token):
    out = run(inventory, {"network_policy_host": HOST, "network_policy_api_key": token,
                          "network_policy_validate_certs": False, "network_policy_namespaces": [namespace]})
    assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]", out), out[-2000:]
    assert out.count(token) == 0
    assert "clusterguard-kubeconfig-" in out  # kubernetes.core got the credentials as a file path


def test_token_never_shows_in_a_run_that_fails(inventory, namespace, token):
    wrong = token[::-1]
    out = run(inventory, {"network_policy_host": HOST, "network_policy_api_key": wrong,
                          "network_policy_validate_certs": False, "network_policy_namespaces": [namespace]},
              expect_rc=2)
    assert "401" in out and "nothing was changed" in out
    assert out.count(wrong) == 0 and out.count(token) == 0


def test_credentials_in_the_host_url_never_show(inventory, namespace, token):
    out = run(inventory, {"network_policy_host": "https://admin:s3cr3t-pa55@127.0.0.1:16443",
                          "network_policy_api_key": token, "network_policy_validate_certs": False,
                          "network_policy_namespaces": [namespace]})
    assert out.count("s3cr3t-pa55") == 0 and out.count(token) == 0
    out = run(inventory, {"network_policy_host": "https://admin:s3cr3t-pa55@127.0.0.1:1",
                          "network_policy_api_key": token, "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "cannot reach the API server at https://127.0.0.1:1" in out
    assert out.count("s3cr3t-pa55") == 0 and out.count(token) == 0


def test_validate_certs_false_is_honoured(inventory, namespace, token):
    # Without a kubeconfig there is no CA for the lab's certificate: verification fails ...
    extra = {"network_policy_host": HOST, "network_policy_api_key": token, "network_policy_namespaces": [namespace]}
    out = run_playbook(PLAY, inventory, extra, expect_rc=2)
    assert "CERTIFICATE_VERIFY_FAILED" in out or "certificate verify failed" in out
    # ... and false turns it off, for the reads and for kubernetes.core alike
    extra["network_policy_validate_certs"] = False
    out = run_playbook(PLAY, inventory, extra)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0", out), out[-2000:]


def test_no_temporary_kubeconfig_is_left(inventory, namespace, token, tmp_path):
    before = {n for n in os.listdir("/tmp") if n.startswith("clusterguard-kubeconfig-")}
    run_playbook(PLAY, inventory, {"network_policy_host": HOST, "network_policy_api_key": token,
                                   "network_policy_validate_certs": False, "network_policy_namespaces": [namespace]})
    run_playbook(PLAY, inventory, {"network_policy_host": HOST, "network_policy_api_key": token,
                                   "network_policy_validate_certs": False, "network_policy_namespaces": [namespace],
                                   "network_policy_state": "absent"}, check=True)
    after = {n for n in os.listdir("/tmp") if n.startswith("clusterguard-kubeconfig-")}
    assert after == before


def test_token_never_shows_when_the_input_is_bad(inventory, namespace, token):
    out = run(inventory, {"network_policy_host": HOST, "network_policy_api_key": token, "network_policy_api_port": 0,
                          "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "network_policy_api_port" in out and out.count(token) == 0
    out = run(inventory, {"network_policy_api_key": [token], "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "network_policy_api_key" in out and out.count(token) == 0
