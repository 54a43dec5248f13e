"""Run the boot-time restore script of port_firewall inside a lab host, as the
systemd unit would at boot (the lab has no systemd).

Usage: boot_restore.py NETNS DIR CHAIN [--args "v4,v6 9001:9023 9002"] [--without ipset,ip6tables-restore,...]

The script is the one the module installs (module_utils/firewall.py); --args are
the unit's FAMILIES TCP UDP (the lab's defaults unless given). With --without, those
commands are hidden from the script's PATH, as on a host where they are missing. Prints the script's output; exits with its exit code."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.clusterguard.portworx.plugins.module_utils import firewall as fw  # noqa: E402

IP = shutil.which("ip")
COMMANDS = ("iptables", "iptables-restore", "ip6tables", "ip6tables-restore", "ipset", "nft",
            "iptables-nft", "iptables-nft-restore", "ip6tables-nft", "ip6tables-nft-restore",
            "iptables-legacy", "iptables-legacy-restore", "ip6tables-legacy", "ip6tables-legacy-restore")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("netns")
    parser.add_argument("dir")
    parser.add_argument("chain")
    parser.add_argument("--without", default="")
    parser.add_argument("--args", default="v4,v6 9001:9023 9002")
    args = parser.parse_args()
    hidden = set(filter(None, args.without.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "clusterguard-firewall-restore")
        with open(script, "w") as handle:
            handle.write(fw.restore_script())
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        for name in COMMANDS:
            if name not in hidden and shutil.which(name):
                os.symlink(shutil.which(name), os.path.join(bindir, name))
        env = dict(os.environ, PATH="%s:/usr/bin:/bin" % bindir)
        proc = subprocess.run([IP, "netns", "exec", args.netns, "sh", script, args.dir, args.chain] + args.args.split(),
                              env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout + proc.stderr)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
