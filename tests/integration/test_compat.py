"""The whole job on the lab with the ansible-core that runs this pytest. The matrix
(scripts/compat.sh) runs it once per ansible-core version: converge, a re-run with
changed=0, state: absent, and no deprecation warning from our code."""

import os
import re
import subprocess
import sys

from kubernetes import client

from conftest import run_playbook
from hostfw import netns

SITE = "playbooks/site.yml"
ENV = {"ANSIBLE_DEPRECATION_WARNINGS": "true"}


def settings(kubeconfig, **more):
    out = {"portworx_node_address_vars": ["ansible_host", "node_ipv6"],
           "network_policy_all_namespaces": True, "network_policy_kubeconfig": kubeconfig,
           "verify_probe_group": "outsiders"}
    out.update(more)
    return out


def recap(output):
    return dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M))


def deprecations(output):
    """The first line of each deprecation warning of a run. None is expected, from our code or from
    the kubernetes.core of the matrix: no version printed one when this was written."""
    return re.findall(r"\[DEPRECATION WARNING\]:[^\n]*", output)


def ours(api):
    return client.NetworkingV1Api(api).list_network_policy_for_all_namespaces(
        label_selector="app.kubernetes.io/managed-by=clusterguard.portworx").items


def test_converge_rerun_and_remove(inventory, kubeconfig, api, tmp_path):
    version = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"], capture_output=True, text=True, check=False).stdout
    extra = settings(kubeconfig, verify_report_dir=str(tmp_path))
    first = run_playbook(SITE, inventory, extra, env=ENV)
    second = run_playbook(SITE, inventory, extra, env=ENV)
    assert recap(second) and set(recap(second).values()) == {"0"}, second[-3000:]
    assert (tmp_path / "junit.xml").exists()
    assert ours(api)
    gone = run_playbook(SITE, inventory, settings(kubeconfig, host_firewall_state="absent",
                                                  network_policy_state="absent"), env=ENV)
    assert ours(api) == []
    for worker in ("w1", "w2", "w3"):
        assert "CLUSTERGUARD" not in netns(worker, "iptables-save", check=True).stdout
        assert "CLUSTERGUARD" not in netns(worker, "ip6tables-save", check=True).stdout
    for output in (first, second, gone):
        assert deprecations(output) == [], (version.splitlines()[0], deprecations(output))
        assert "does not support Ansible version" not in output


def test_the_deprecation_check_finds_a_warning():
    """The check above must be able to fail: it finds a warning among other output."""
    output = ("TASK [x] ***\nok: [w1]\n[DEPRECATION WARNING]: Importing 'to_bytes' is deprecated.\n"
              "This feature will be removed in version 2.24.\nPLAY RECAP ***\n")
    assert deprecations(output) == ["[DEPRECATION WARNING]: Importing 'to_bytes' is deprecated."]
    assert deprecations("PLAY RECAP ***\nw1 : ok=3 changed=0\n") == []
