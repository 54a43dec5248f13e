"""Probe guarded ports in a tight loop while a worker reboots, from the current network namespace.

Usage: reboot_watch.py SSH_HOST:PORT [--timeout S] [--limit S] HOST:PORT ...

Round after round, every target gets a TCP connect (timeout 0.2 s by default) until the SSH
port has been seen closed (the worker went down) and then answers again (it is up), or until
--limit seconds. Prints one JSON object: the rounds, each target's results counted, the first
"open" of each target (seconds from the start), when SSH went away and came back."""

import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from probe import probe


def main(argv):
    ssh, argv = argv[0], argv[1:]
    timeout, limit = 0.2, 120.0
    while argv and argv[0].startswith("--"):
        if argv[0] == "--timeout":
            timeout = float(argv[1])
        elif argv[0] == "--limit":
            limit = float(argv[1])
        argv = argv[2:]
    start = time.monotonic()
    counts = {t: {} for t in argv}
    first_open = {}
    ssh_gone = ssh_back = None
    rounds = 0
    with ThreadPoolExecutor(max_workers=len(argv) + 1) as pool:
        while time.monotonic() - start < limit:
            rounds += 1
            results = list(pool.map(lambda t: probe(t, timeout), [ssh] + argv))
            now = round(time.monotonic() - start, 3)
            for row in results[1:]:
                counts[row["target"]][row["result"]] = counts[row["target"]].get(row["result"], 0) + 1
                if row["result"] == "open" and row["target"] not in first_open:
                    first_open[row["target"]] = now
            up = results[0]["result"] == "open"
            if not up and ssh_gone is None:
                ssh_gone = now
            if up and ssh_gone is not None:
                ssh_back = now
                break
    print(json.dumps({"rounds": rounds, "counts": counts, "first_open": first_open, "ssh_gone": ssh_gone,
                      "ssh_back": ssh_back, "seconds": round(time.monotonic() - start, 3)}))


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main(sys.argv[1:])
