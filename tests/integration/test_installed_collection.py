"""The collection as a user gets it: built with ansible-galaxy, installed into a
temporary path, and every filter called through ansible-playbook."""

import json
import os
import subprocess
import sys
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0644"
        content: "{{ results | to_json }}"
      vars:
        results:
          node_cidrs: "{{ ['10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.0', 'fd00::1'] | clusterguard.portworx.node_cidrs }}"
          node_subnet: "{{ ['10.20.1.5', '10.20.3.7'] | clusterguard.portworx.node_subnet(16) }}"
          cidr_overlaps: "{{ ['10.0.0.0/16'] | clusterguard.portworx.cidr_overlaps(['10.0.128.0/17']) }}"
          host_addresses: "{{ ['localhost'] | clusterguard.portworx.host_addresses(hostvars, ['node_ip']) }}"
          port_ranges: "{{ '9001:9022' | clusterguard.portworx.port_ranges('iptables') }}"
          port_complement: "{{ '9001-9022' | clusterguard.portworx.port_complement('strings') }}"
          port_conflicts: "{{ '1-1024' | clusterguard.portworx.port_conflicts([22]) }}"
          network_policies: "{{ ['10.0.0.1'] | clusterguard.portworx.network_policies(['team-a']) | length }}"
          namespace_selection: "{{ ['a', 'b'] | clusterguard.portworx.namespace_selection(names=['a', 'c']) }}"
          stale_objects: "{{ [{'metadata': {'name': 'x', 'namespace': 'a'}}] | clusterguard.portworx.stale_objects([]) | length }}"
          pod_security_labels: "{{ 'team-a' | clusterguard.portworx.pod_security_labels('baseline') }}"
"""


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_build_install_and_call_every_filter(tmp_path):
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path)])
    tarball = next(tmp_path.glob("clusterguard-portworx-*.tar.gz"))
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert not [n for n in names if n.startswith((".venv", ".lab", ".collections", ".git/")) or "__pycache__" in n]
    assert "roles/host_firewall/meta/argument_specs.yml" in names
    install = tmp_path / "collections"
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(install), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(install),
         "--no-deps", "--force"], env=env, cwd=str(tmp_path))
    assert (install / "ansible_collections" / "clusterguard" / "portworx" / "plugins" / "filter").is_dir()
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n      node_ip: 192.0.2.9\n")
    out = tmp_path / "out.json"
    run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inv.yml"), str(tmp_path / "play.yml"),
         "-e", "out=%s" % out], env=env, cwd=str(tmp_path))
    got = json.loads(out.read_text())
    assert got["node_cidrs"] == ["10.0.0.0/30", "fd00::1/128"]
    assert got["node_subnet"] == "10.20.0.0/16"
    assert got["cidr_overlaps"] == [{"cidr": "10.0.0.0/16", "other": "10.0.128.0/17"}]
    assert got["host_addresses"] == ["192.0.2.9"]
    assert got["port_ranges"] == ["9001:9022"]
    assert got["port_complement"] == ["1-9000", "9023-65535"]
    assert got["port_conflicts"] == ["22"]
    assert int(got["network_policies"]) == 3
    assert got["namespace_selection"] == {"selected": ["a"], "missing": ["c"]}
    assert int(got["stale_objects"]) == 1
    assert got["pod_security_labels"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    # ansible-doc shows every filter, the module and both roles from the installed copy
    listing = run([os.path.join(BIN, "ansible-doc"), "-t", "filter", "-l", "clusterguard.portworx"], env=env)
    for name in got:
        assert "clusterguard.portworx.%s " % name in listing
    for role in ("host_firewall", "network_policy"):
        doc = run([os.path.join(BIN, "ansible-doc"), "-t", "role", "clusterguard.portworx.%s" % role], env=env)
        assert "%s_state" % role in doc and "portworx_start_port" in doc
    for module in ("port_firewall", "host_firewall_plan"):
        doc = run([os.path.join(BIN, "ansible-doc"), "clusterguard.portworx.%s" % module], env=env)
        assert "clusterguard.portworx.%s" % module in doc and "EXAMPLES" in doc
    # the site playbook runs by its collection name once installed
    (tmp_path / "site-inv.yml").write_text("all:\n  children:\n    workers:\n      hosts:\n        192.0.2.11:\n")
    out = run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "site-inv.yml"), "clusterguard.portworx.site",
               "--syntax-check"], env=env, cwd=str(tmp_path))
    # the playbook resolved is the installed copy, not the checkout
    assert "playbook: %s" % (install / "ansible_collections" / "clusterguard" / "portworx" / "playbooks" / "site.yml") in out, out
    out = run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "site-inv.yml"), "clusterguard.portworx.site",
               "--list-tasks"], env=env, cwd=str(tmp_path))
    assert "Guard the Portworx ports where the host differs" in out and "Apply the policies the cluster does not hold as wanted" in out
