"""No secret in any output: the token and credentials in the host URL, at -vvv,
in runs that succeed and runs that fail. And validate_certs: false is honoured."""

import os
import re

import pytest

from conftest import LAB, LAB_API_PORT, run_playbook

PLAY = "tests/integration/playbooks/network_policy.yml"
HOST = "https://127.0.0.1:%d" % LAB_API_PORT


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
    out = run(inventory, {"network_policy_host": "https://admin:s3cr3t-pa55@127.0.0.1:%d" % LAB_API_PORT,
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
    # a TMPDIR of these runs' own: runs in other labs of the machine write their temporary kubeconfigs to /tmp
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    out = run_playbook(PLAY, inventory, {"network_policy_host": HOST, "network_policy_api_key": token,
                                         "network_policy_validate_certs": False, "network_policy_namespaces": [namespace]},
                       env=env)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]", out), out[-2000:]  # it applied, so it wrote one
    run_playbook(PLAY, inventory, {"network_policy_host": HOST, "network_policy_api_key": token,
                                   "network_policy_validate_certs": False, "network_policy_namespaces": [namespace],
                                   "network_policy_state": "absent"}, check=True, env=env)
    assert [n for n in os.listdir(str(tmp)) if n.startswith("clusterguard-kubeconfig-")] == []


def test_token_never_shows_when_the_input_is_bad(inventory, namespace, token):
    out = run(inventory, {"network_policy_host": HOST, "network_policy_api_key": token, "network_policy_api_port": 0,
                          "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "network_policy_api_port" in out and out.count(token) == 0
    out = run(inventory, {"network_policy_api_key": [token], "network_policy_namespaces": [namespace]}, expect_rc=2)
    assert "network_policy_api_key" in out and out.count(token) == 0


# -- credentials never at rest ---------------------------------------------------------------
@pytest.fixture(scope="module")
def cert_kubeconfig(kubeconfig, tmp_path_factory):
    """A kubeconfig with an inline client certificate and key, signed by the lab's CA (a
    member of system:masters), as many installers write them."""
    import base64
    import subprocess

    import yaml

    pki = os.path.join(LAB, "controlplane", "pki")
    work = tmp_path_factory.mktemp("client-cert")
    key, csr, crt = (str(work / n) for n in ("client.key", "client.csr", "client.crt"))
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
                    "/O=system:masters/CN=clusterguard-cert-test"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(pki, "ca.crt"), "-CAkey",
                    os.path.join(pki, "ca.key"), "-CAcreateserial", "-days", "1", "-out", crt], check=True,
                   capture_output=True)
    doc = yaml.safe_load(open(kubeconfig))
    user = {"client-certificate-data": base64.b64encode(open(crt, "rb").read()).decode(),
            "client-key-data": base64.b64encode(open(key, "rb").read()).decode()}
    doc["users"] = [{"name": "cert", "user": user}]
    for context in doc["contexts"]:
        context["context"]["user"] = "cert"
    path = work / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    os.chmod(str(path), 0o600)
    secret = open(key).read().split("\n")[1]  # a line of the key, as the PEM and the client's files hold it
    return str(path), secret, user["client-key-data"][20:60]


def holding(directory, needles):
    """Files under ``directory`` that hold any of ``needles``."""
    found = []
    for root, _dirs, names in os.walk(directory):
        for name in names:
            try:
                text = open(os.path.join(root, name), errors="replace").read()
            except OSError:
                continue
            if any(n in text for n in needles):
                found.append(os.path.join(root, name))
    return found


def test_no_key_certificate_or_token_is_left_after_any_run(inventory, namespace, cert_kubeconfig, tmp_path):
    """2.2.0 left the client key and certificate in $TMPDIR after every run (the kubernetes
    client removes them only at interpreter exit, which an Ansible worker never reaches)."""
    path, pem_line, b64 = cert_kubeconfig
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    settings = {"network_policy_kubeconfig": path, "network_policy_namespaces": [namespace]}
    run_playbook(PLAY, inventory, settings, env=env)  # applies
    run_playbook("playbooks/verify.yml", inventory, dict(settings, verify_report_dir=str(tmp_path / "r"),
                                                         portworx_node_address_vars=["ansible_host", "node_ipv6"]),
                 env=env, expect_rc=None)
    run_playbook(PLAY, inventory, dict(settings, network_policy_state="absent"), env=env)
    run_playbook(PLAY, inventory, dict(settings, network_policy_namespaces=["no such namespace!"]), env=env,
                 expect_rc=2)
    assert holding(str(tmp), [pem_line, b64]) == [], os.listdir(str(tmp))
    # what may stay is kubernetes.core's cache of the API's discovery, which holds no credential
    assert [n for n in os.listdir(str(tmp)) if not (n.startswith("k8srcp-") and n.endswith(".json"))] == []


@pytest.mark.parametrize("signal_name, after", [("SIGINT", 0.0), ("SIGINT", 0.8), ("SIGTERM", 0.2), ("SIGTERM", 1.5)])
def test_an_interrupted_run_leaves_no_credentials(signal_name, after, inventory, namespace, token, tmp_path):
    """Ctrl-C (SIGINT to the process group) or SIGTERM at several points of the apply, counted
    from the moment the temporary kubeconfig with the token exists: it goes all the same."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "lab", "ansible.cfg"))
    extra = {"network_policy_host": HOST, "network_policy_api_key": token, "network_policy_validate_certs": False,
             "network_policy_namespaces": [namespace, "default", "kube-public"], "network_policy_pod_security": "baseline"}
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                             os.path.join(ROOT, PLAY), "-e", json.dumps(extra)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    seen = False
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline and proc.poll() is None:
        seen = any(n.startswith("clusterguard-kubeconfig-") for n in os.listdir(str(tmp)))
        time.sleep(0.02)
    assert seen, "the run never wrote its temporary kubeconfig"
    time.sleep(after)
    if signal_name == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for _i in range(50):  # the watcher looks twice a second
        if not holding(str(tmp), [token]):
            break
        time.sleep(0.1)
    assert holding(str(tmp), [token]) == [], (seen, os.listdir(str(tmp)))
    run_playbook(PLAY, inventory, dict(extra, network_policy_state="absent"))
