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


def test_udp_answer_and_port_unreachable_reached_the_host(capsys):
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    port = echo.getsockname()[1]
    import threading

    def answer():
        data, peer = echo.recvfrom(512)
        echo.sendto(data, peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    free.bind(("127.0.0.1", 0))
    closed = free.getsockname()[1]
    free.close()
    result = run_module({"targets": [{"address": "127.0.0.1", "port": port, "protocol": "udp"},
                                     {"address": "127.0.0.1", "port": closed, "protocol": "udp"}], "timeout": 1}, capsys)
    echo.close()
    first, second = result["results"]
    assert (first["outcome"], first["reached"], first["protocol"]) == ("open", True, "udp")
    assert (second["outcome"], second["reached"]) == ("refused", True)  # ICMP port unreachable came back


def test_udp_without_an_answer_counts_as_dropped(capsys):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    result = run_module({"targets": [{"address": "127.0.0.1", "port": silent.getsockname()[1], "protocol": "udp"}],
                         "timeout": 0.3}, capsys)
    silent.close()
    assert (result["results"][0]["outcome"], result["results"][0]["reached"]) == ("dropped", False)


def test_a_protocol_other_than_tcp_or_udp_is_refused(capsys):
    result = run_module({"targets": [{"address": "127.0.0.1", "port": 1, "protocol": "sctp"}]}, capsys)
    assert result["failed"] is True and "a protocol, tcp or udp" in result["msg"]


@pytest.mark.parametrize("code", ["ENETUNREACH", "EHOSTUNREACH", "EPERM", "EACCES"])
def test_a_probe_that_never_left_is_an_error_not_dropped(code, monkeypatch):
    """No route, unreachable, or refused by a local rule: no packet met the target's firewall."""
    import errno

    def refuse(self, address):
        raise OSError(getattr(errno, code), "simulated %s" % code)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    outcome, _source, _seconds, error = tcp_probe.probe("192.0.2.1", 9001, 1.0)
    assert outcome == "error" and code in error


def test_only_a_timeout_is_dropped(monkeypatch):
    def silent(self, address):
        raise socket.timeout("timed out")

    monkeypatch.setattr(socket.socket, "connect", silent)
    assert tcp_probe.probe("192.0.2.1", 9001, 1.0)[0] == "dropped"
