"""modules/tcp_probe.py: real TCP connects on loopback (a listener, a closed port) and
its argument checks. Dropped probes are tested on the lab, where a firewall drops them."""

import json
import socket

import pytest
from unit_compat import patch_module_args

from ansible_collections.clusterguard.portworx.plugins.modules import tcp_probe


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            tcp_probe.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_open_and_refused_keep_the_callers_keys(listener, capsys):
    closed = closed_port()
    result = run_module({"targets": [{"address": "127.0.0.1", "port": listener, "host": "a"},
                                     {"address": "127.0.0.1", "port": closed, "host": "b"}], "timeout": 1}, capsys)
    first, second = result["results"]
    assert (first["host"], first["outcome"], first["reached"], first["source"]) == ("a", "open", True, "127.0.0.1")
    assert (second["host"], second["outcome"], second["reached"]) == ("b", "refused", True)
    assert result["changed"] is False


@pytest.mark.parametrize("args, message", [
    ({"targets": [{"address": "localhost", "port": 1}]}, "targets[0]"),
    ({"targets": [{"address": "127.0.0.1", "port": 70000}]}, "1 to 65535"),
    ({"targets": [{"address": "127.0.0.1"}]}, "needs an IP address and a port"),
    ({"targets": [], "timeout": 0}, "timeout: 0.0 must be more than 0"),
    ({"targets": [], "parallel": 0}, "parallel: 0 must be at least 1"),
])
def test_bad_arguments_are_refused(args, message, capsys):
    result = run_module(args, capsys)
    assert result["failed"] is True and message in result["msg"]
