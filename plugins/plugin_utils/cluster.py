# -*- coding: utf-8 -*-
# Copyright: (c) 2026, clusterguard.portworx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster, read in the controller's process: one client, every read at once.

Connection settings follow kubernetes.core's: the role's variables first, then
the ``K8S_AUTH_*`` environment, then the default kubeconfig (or the in-cluster
service account). Secrets never leave this module except inside a kubeconfig
file of mode 0600 that the role hands to kubernetes.core by path and removes
at the end, so no task argument and no message carries them."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

SECRET = "********"
ENV = {"kubeconfig": "K8S_AUTH_KUBECONFIG", "context": "K8S_AUTH_CONTEXT", "host": "K8S_AUTH_HOST",
       "api_key": "K8S_AUTH_API_KEY", "validate_certs": "K8S_AUTH_VERIFY_SSL", "ca_cert": "K8S_AUTH_SSL_CA_CERT"}
TIMEOUT = 30
# The connection settings both roles take, each as <role>_<name>.
CONNECTION = ("kubeconfig", "context", "host", "api_key", "validate_certs")


class ClusterError(RuntimeError):
    """The cluster cannot be reached or read; the message holds no secret."""


def _kubernetes():
    """The kubernetes package's client, config and ApiException, imported on first use: a run
    that never reads the cluster (most host_firewall runs) does not pay for the import, about
    0.2 s of the controller's CPU."""
    try:
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
    except ImportError:
        raise ClusterError("the Python package 'kubernetes' is missing on the controller: pip install kubernetes") from None
    return client, config, ApiException


def settings(given, environ=None):
    """Connection settings: what the role was given, else the K8S_AUTH_* environment."""
    environ = os.environ if environ is None else environ
    out = {}
    for key, env in ENV.items():
        value = given.get(key)
        if value in (None, "") and environ.get(env) not in (None, ""):
            value = environ[env]
            if key == "validate_certs":
                value = str(value).lower() not in ("false", "no", "0", "off")
        out[key] = value
    return out


def split_host(host):
    """(URL without credentials, username, password) of an API server URL."""
    if not host:
        return host, None, None
    parts = urlsplit(host)
    if parts.username is None and parts.password is None:
        return host, None, None
    netloc = parts.hostname + (":%d" % parts.port if parts.port else "")
    if ":" in (parts.hostname or ""):
        netloc = "[%s]" % parts.hostname + (":%d" % parts.port if parts.port else "")
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            unquote(parts.username or ""), unquote(parts.password or ""))


def url_error(variable, value):
    """Why ``value`` of ``variable`` is not an API server URL, without its credentials; or None."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or "\n" in value:
        return "%s: %r is not an API server URL such as https://10.0.0.1:6443" % (variable, split_host(value)[0])
    return None


class Redactor:
    """Removes every secret of the connection from a text."""

    def __init__(self, conf):
        self.secrets = [s for s in conf if s]

    def __call__(self, text):
        text = str(text)
        for secret in self.secrets:
            text = text.replace(secret, SECRET)
        return text


def configuration(conf):
    """A kubernetes client Configuration from the settings; (configuration, redactor)."""
    k8s_client, k8s_config, _api_exception = _kubernetes()
    host, user, password = split_host(conf.get("host"))
    secrets = [conf.get("api_key"), password, user and password and "%s:%s" % (user, password)]
    redact = Redactor(secrets)
    cfg = k8s_client.Configuration()
    before = set(_client_temp_files().values())
    try:
        if conf.get("kubeconfig") or not host or os.path.exists(os.path.expanduser("~/.kube/config")):
            path = os.path.expanduser(conf["kubeconfig"]) if conf.get("kubeconfig") else None
            try:
                k8s_config.load_kube_config(config_file=path, context=conf.get("context") or None,
                                            client_configuration=cfg, persist_config=False)
            except k8s_config.ConfigException:
                if conf.get("kubeconfig") or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                    if not host:
                        raise
                else:
                    k8s_config.load_incluster_config(client_configuration=cfg)
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        forget_files(set(_client_temp_files().values()) - before)
        raise ClusterError("cannot load the kubeconfig %s: %s" % (
            conf.get("kubeconfig") or "~/.kube/config", redact(_first_line(exc)))) from None
    except Exception as exc:  # a file that is no YAML, or YAML of another shape
        forget_files(set(_client_temp_files().values()) - before)
        raise ClusterError("cannot load the kubeconfig %s: it is not a kubeconfig (%s)" % (
            conf.get("kubeconfig") or "~/.kube/config", redact(_first_line(exc)))) from None
    # The client writes inline certificates and keys of the kubeconfig to files of its own, which
    # it removes only when the interpreter exits; an Ansible worker never does. Their contents are
    # kept in memory (for write_kubeconfig) and the files go when the Reader closes.
    cfg.clusterguard_files = sorted(set(_client_temp_files().values()) - before)
    cfg.clusterguard_data = {}
    for attribute in ("cert_file", "key_file", "ssl_ca_cert"):
        if getattr(cfg, attribute, None):
            with open(getattr(cfg, attribute), "rb") as handle:
                cfg.clusterguard_data[attribute] = base64.b64encode(handle.read()).decode()
    if host:
        cfg.host = host
    if conf.get("api_key"):
        _set_authorization(cfg, "Bearer %s" % conf["api_key"])
    if user and not conf.get("api_key"):
        cfg.username, cfg.password = user, password
        _set_authorization(cfg, cfg.get_basic_auth_token())
    if conf.get("ca_cert"):
        cfg.ssl_ca_cert = conf["ca_cert"]
    if conf.get("validate_certs") is not None:
        cfg.verify_ssl = bool(conf["validate_certs"])
    if not cfg.verify_ssl:
        try:  # the user turned verification off; urllib3 would warn on every request
            import urllib3
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        except ImportError:  # pragma: no cover
            pass
    token = authorization(cfg)
    redact.secrets.extend([token, token.split(" ", 1)[-1]] if token else [])
    return cfg, redact


def _first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _client_temp_files():
    """{content key: path} of the files the kubernetes client wrote for inline kubeconfig data."""
    try:
        from kubernetes.config import kube_config
    except ImportError:  # pragma: no cover
        return {}
    return getattr(kube_config, "_temp_files", {})


def forget_files(paths):
    """Remove files the kubernetes client wrote, and drop them from its cache (which would
    otherwise hand the removed path to the next load of the same kubeconfig)."""
    cache = _client_temp_files()
    for key, path in list(cache.items()):
        if path in paths:
            del cache[key]
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass


def _set_authorization(cfg, value):
    # The key differs between generations of the kubernetes package: "authorization"
    # (up to 3x) and "BearerToken" (openapi-generator 7); each reads its own.
    cfg.api_key = {"authorization": value, "BearerToken": value}
    cfg.api_key_prefix = {}


def authorization(cfg):
    """The Authorization header the configuration sends, or ''."""
    for setting in cfg.auth_settings().values():
        if setting.get("in") == "header" and setting.get("key", "").lower() == "authorization" and setting.get("value"):
            return setting["value"]
    return ""


def _b64_file(path):
    with open(path, "rb") as handle:
        return base64.b64encode(handle.read()).decode()


def _data(cfg, attribute):
    kept = getattr(cfg, "clusterguard_data", {}) or {}
    return kept.get(attribute) or _b64_file(getattr(cfg, attribute))


def write_kubeconfig(cfg, directory=None, watch_pid=None):
    """A kubeconfig of mode 0600 holding exactly this configuration, for kubernetes.core.

    With ``watch_pid`` (the ansible-playbook process), a watcher process removes the file as
    soon as that process is gone, however it ended (Ctrl-C, SIGTERM, a kill): the role removes
    it at its end, and the watcher when the role never gets there."""
    cluster = {"server": cfg.host}
    if not cfg.verify_ssl:
        cluster["insecure-skip-tls-verify"] = True
    elif cfg.ssl_ca_cert:
        cluster["certificate-authority-data"] = _data(cfg, "ssl_ca_cert")
    if getattr(cfg, "proxy", None):
        cluster["proxy-url"] = cfg.proxy
    if getattr(cfg, "tls_server_name", None):
        cluster["tls-server-name"] = cfg.tls_server_name
    user = {}
    auth = authorization(cfg)
    if auth and auth.startswith("Bearer "):
        user["token"] = auth[len("Bearer "):]
    elif auth and auth.startswith("Basic "):
        user["username"], user["password"] = base64.b64decode(auth[len("Basic "):]).decode().split(":", 1)
    if cfg.cert_file and cfg.key_file:
        user["client-certificate-data"] = _data(cfg, "cert_file")
        user["client-key-data"] = _data(cfg, "key_file")
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "clusterguard",
           "clusters": [{"name": "clusterguard", "cluster": cluster}],
           "users": [{"name": "clusterguard", "user": user}],
           "contexts": [{"name": "clusterguard", "context": {"cluster": "clusterguard", "user": "clusterguard"}}]}
    handle, path = tempfile.mkstemp(prefix="clusterguard-kubeconfig-", suffix=".yaml", dir=directory)
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, json.dumps(doc).encode())
    finally:
        os.close(handle)
    if watch_pid:
        watch(path, watch_pid)
    return path


def watch(path, pid):
    """Remove ``path`` once process ``pid`` has ended (or the file is gone already): a
    detached grandchild that polls, so that it outlives the Ansible worker that starts it."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:  # the child: detach, start the watcher, and leave at once
        os.setsid()
        if os.fork():
            os._exit(0)
        # no descriptor of the worker stays open in the watcher (Ansible's result pipes among them)
        os.closerange(0, min(os.sysconf("SC_OPEN_MAX"), 65536))
        import time

        while os.path.exists(path):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.5)
        try:
            os.remove(path)
        except OSError:
            pass
    finally:
        os._exit(0)


def path(group_version, plural, namespace=None):
    """The API path of a list: ("v1", "namespaces"), ("apps/v1", "daemonsets"), ..."""
    base = "/api/v1" if group_version == "v1" else "/apis/%s" % group_version
    return "%s/namespaces/%s/%s" % (base, namespace, plural) if namespace else "%s/%s" % (base, plural)


class Reader:
    """Reads lists from the API server with one client, several at a time."""

    def __init__(self, conf):
        self.cfg, self.redact = configuration(conf)
        k8s_client, _k8s_config, self.api_exception = _kubernetes()
        self.api = k8s_client.ApiClient(self.cfg)

    def get(self, path, selector=None, missing_ok=False):
        """The items of one list, or None when it is missing (404; ``missing_ok`` True) or
        when its status is one of ``missing_ok`` (a tuple such as (403, 404)). Uses the
        client's REST layer, which every version of the kubernetes package has, with the URL and headers built here."""
        url = self.cfg.host.rstrip("/") + path + ("?" + urlencode({"labelSelector": selector}) if selector else "")
        headers = {"Accept": "application/json"}
        if self.cfg.refresh_api_key_hook:
            self.cfg.refresh_api_key_hook(self.cfg)
        auth = authorization(self.cfg)
        if auth:
            headers["Authorization"] = auth
        try:
            resp = self.api.rest_client.request("GET", url, headers=headers, _request_timeout=TIMEOUT)
            status, data = resp.status, getattr(resp, "data", None)
            if data is None:
                data = resp.read()
        except Exception as exc:  # urllib3 errors (refused, TLS, timeouts), or an older client's ApiException
            if not isinstance(exc, self.api_exception):
                raise ClusterError("cannot reach the API server at %s: %s" % (
                    self.redact(self.cfg.host), self.redact(_short(exc)))) from None
            status, data = exc.status, exc.body  # older clients raise for every status >= 400
        if missing_ok and status in ((404,) if missing_ok is True else tuple(missing_ok)):
            return None
        try:
            body = json.loads(data)
        except (TypeError, ValueError):
            body = {}
        if status >= 400:
            raise ClusterError("GET %s: %s %s" % (path, status, self.redact(body.get("message") or data)))
        return body.get("items") or []

    def read(self, requests):
        """{key: items} for {key: (path, selector, missing_ok)}, read at the same time."""
        with ThreadPoolExecutor(max_workers=min(8, len(requests) or 1)) as pool:
            futures = {key: pool.submit(self.get, *req) for key, req in requests.items()}
            return {key: fut.result() for key, fut in futures.items()}

    def close(self):
        try:
            self.api.close()
        except Exception:  # pragma: no cover - best effort
            pass
        forget_files(getattr(self.cfg, "clusterguard_files", []))


def _short(exc):
    text = str(exc)
    for marker in ("Caused by", "NewConnectionError", "SSLError"):
        if marker in text:
            text = text[text.index(marker):]
            break
    return text.strip()[:400]
