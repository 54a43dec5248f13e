"""Open TCP connections from the current network namespace and report each result.

Usage: probe.py [--timeout S] HOST:PORT ...   (IPv6 as [addr]:port; udp/HOST:PORT for UDP)
Prints one JSON object per line: {"target": ..., "result": "open"|"refused"|"timeout"}.
UDP is "open" when the lab listener echoes the datagram back.
Only lab addresses are ever given as targets."""

import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def probe(target, timeout):
    udp = target.startswith("udp/")
    host, _sep, port = target[4 if udp else 0:].rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, int(port)))
        if udp:
            sock.send(b"clusterguard-probe")
            sock.recv(64)
        result = "open"
    except ConnectionRefusedError:
        result = "refused"
    except (socket.timeout, TimeoutError):
        result = "timeout"
    except OSError as exc:
        result = "error: %s" % exc.strerror
    finally:
        sock.close()
    return {"target": target, "result": result}


def main(argv):
    timeout = 1.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    with ThreadPoolExecutor(max_workers=64) as pool:
        for row in pool.map(lambda t: probe(t, timeout), argv):
            print(json.dumps(row))


if __name__ == "__main__":
    main(sys.argv[1:])
