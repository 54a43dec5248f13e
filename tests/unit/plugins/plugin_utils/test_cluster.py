"""plugin_utils/cluster.py: connection settings, secrets kept out of texts, and the
temporary kubeconfig handed to kubernetes.core. The reads themselves run against the
lab API server in tests/integration."""

import os

import pytest
import yaml

from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster


def test_settings_fall_back_to_the_k8s_auth_environment():
    env = {"K8S_AUTH_KUBECONFIG": "/k", "K8S_AUTH_VERIFY_SSL": "no", "K8S_AUTH_API_KEY": "tok"}
    got = cluster.settings({"kubeconfig": None, "context": "c", "api_key": ""}, env)
    assert got == {"kubeconfig": "/k", "context": "c", "host": None, "api_key": "tok", "validate_certs": False,
                   "ca_cert": None}
    assert cluster.settings({"kubeconfig": "/mine"}, env)["kubeconfig"] == "/mine"


@pytest.mark.parametrize("url, expected", [
    ("https://10.0.0.1:6443", ("https://10.0.0.1:6443", None, None)),
    ("https://admin:p%40ss@10.0.0.1:6443/x", ("https://10.0.0.1:6443/x", "admin", "p@ss")),
    ("https://u:p@[fd00::1]:6443", ("https://[fd00::1]:6443", "u", "p")),
])
def test_split_host(url, expected):
    assert cluster.split_host(url) == expected


def test_redactor_removes_every_secret():
    redact = cluster.Redactor(["tok123", None, "pw"])
    assert redact("Bearer tok123 failed for pw") == "Bearer ******** failed for ********"


def test_configuration_and_the_temporary_kubeconfig(tmp_path):
    cfg, redact = cluster.configuration({"host": "https://admin:pw@127.0.0.1:1", "api_key": "tok123",
                                         "validate_certs": False, "kubeconfig": None, "context": None})
    assert cfg.host == "https://127.0.0.1:1" and not cfg.verify_ssl
    assert cluster.authorization(cfg) == "Bearer tok123"
    assert redact("tok123 pw") == "******** ********"
    path = cluster.write_kubeconfig(cfg, str(tmp_path))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    doc = yaml.safe_load(open(path))
    assert doc["clusters"][0]["cluster"] == {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}
    assert doc["users"][0]["user"] == {"token": "tok123"}


def test_basic_credentials_from_the_url_when_there_is_no_token(tmp_path):
    cfg, _redact = cluster.configuration({"host": "https://admin:pw@127.0.0.1:1", "validate_certs": False,
                                          "kubeconfig": None, "context": None, "api_key": None})
    doc = yaml.safe_load(open(cluster.write_kubeconfig(cfg, str(tmp_path))))
    assert doc["users"][0]["user"] == {"username": "admin", "password": "pw"}


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(cluster.ClusterError, match="cannot load the kubeconfig .*nope"):
        cluster.configuration({"kubeconfig": str(tmp_path / "nope"), "host": None, "api_key": None,
                               "validate_certs": None, "context": None})


def test_path():
    assert cluster.path("v1", "namespaces") == "/api/v1/namespaces"
    assert cluster.path("discovery.k8s.io/v1", "endpointslices", "default") == \
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
