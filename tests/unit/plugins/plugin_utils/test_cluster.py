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


def test_the_kubernetes_package_is_imported_only_to_read_and_its_absence_is_named(monkeypatch):
    """Importing the module (every host_firewall run does) does not import kubernetes; reading
    the cluster without it fails with what to install."""
    import subprocess
    import sys
    code = ("import sys; from ansible_collections.clusterguard.portworx.plugins.plugin_utils import cluster; "
            "print('kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(cluster.ClusterError, match="'kubernetes' is missing on the controller: pip install kubernetes"):
        cluster.configuration({"kubeconfig": "/nowhere"})


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


CERT, KEY = b"-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n", b"secret-key-material-42"


def cert_kubeconfig(tmp_path, **cluster_extra):
    import base64

    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": dict(
               {"server": "https://10.0.0.1:6443", "insecure-skip-tls-verify": True}, **cluster_extra)}],
           "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(CERT).decode(),
                                            "client-key-data": base64.b64encode(KEY).decode()}}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_the_clients_certificate_and_key_files_go_when_the_reader_closes(tmp_path):
    """The kubernetes client writes inline keys to files it removes only at interpreter exit."""
    path = cert_kubeconfig(tmp_path)
    for _run in range(2):  # the second load of the same kubeconfig must not get the removed paths back
        reader = cluster.Reader({"kubeconfig": path})
        files = list(reader.cfg.clusterguard_files)
        assert len(files) == 2 and all(os.path.exists(f) for f in files)
        assert open(reader.cfg.key_file, "rb").read() == KEY
        reader.close()
        assert not [f for f in files if os.path.exists(f)]
    # what kubernetes.core gets still holds the key, from memory
    written = cluster.write_kubeconfig(reader.cfg, directory=str(tmp_path))
    user = yaml.safe_load(open(written))["users"][0]["user"]
    import base64
    assert base64.b64decode(user["client-key-data"]) == KEY
    assert oct(os.stat(written).st_mode & 0o777) == "0o600"


def test_the_temporary_kubeconfig_keeps_the_proxy_and_the_server_name(tmp_path):
    path = cert_kubeconfig(tmp_path, **{"proxy-url": "http://proxy.example:3128", "tls-server-name": "api.internal"})
    reader = cluster.Reader({"kubeconfig": path})
    reader.close()
    written = yaml.safe_load(open(cluster.write_kubeconfig(reader.cfg, directory=str(tmp_path))))
    assert written["clusters"][0]["cluster"]["proxy-url"] == "http://proxy.example:3128"
    assert written["clusters"][0]["cluster"]["tls-server-name"] == "api.internal"


def test_the_watcher_removes_the_kubeconfig_when_the_play_is_gone(tmp_path):
    import subprocess
    import time

    play = subprocess.Popen(["sleep", "30"])
    path = tmp_path / "clusterguard-kubeconfig-x.yaml"
    path.write_text("token: abc")
    cluster.watch(str(path), play.pid)
    time.sleep(1)
    assert path.exists()  # the play still runs
    play.kill()
    play.wait()
    for _i in range(40):
        if not path.exists():
            break
        time.sleep(0.1)
    assert not path.exists()


@pytest.mark.parametrize("text", ["a: [unclosed", "just a string", "- a list\n- of things\n"])
def test_a_malformed_kubeconfig_is_named_without_a_raw_parser_error(tmp_path, text):
    path = tmp_path / "broken"
    path.write_text(text)
    with pytest.raises(cluster.ClusterError) as info:
        cluster.Reader({"kubeconfig": str(path)})
    assert str(path) in str(info.value) and "Traceback" not in str(info.value)
