"""The README as a user follows it: its install commands, verbatim, from a fresh clone (all but
the one that needs Galaxy), with none of the lab's settings; and its first inventory and playbook
against the lab, through the safe first run, the render, the run, a re-run and the undo."""

import os
import re
import shutil
import subprocess
import sys

import yaml

from conftest import LAB_NAME, ROOT, run_playbook
from hostfw import netns, snapshot

BIN = os.path.dirname(sys.executable)


def readme_block(marker):
    """The fenced block that follows ``<!-- marker -->`` in the README."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    match = re.search(r"<!-- %s -->\n```[a-z]*\n(.*?)```" % re.escape(marker), text, re.S)
    assert match, "README has no block marked %s" % marker
    return match.group(1)


def readme_command(start):
    """The arguments of the README's ansible-playbook command that starts with ``start`` after ``-i inventory.yml``."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ansible-playbook -i inventory.yml " + start):
            return line.split("#")[0].split()[1:]
    raise AssertionError("the README has no command ansible-playbook -i inventory.yml %s" % start)


def user_env(home):
    """What a user's shell has: our venv's commands, a home of its own, none of the lab's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "CLUSTERGUARD_REQUIRE_LAB"}
    env.update(HOME=str(home), PATH=BIN + os.pathsep + env.get("PATH", ""))
    return env


def test_install_commands_work_verbatim_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", ROOT, str(clone)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = user_env(home)
    assert not (clone / "ansible.cfg").exists(), "the checkout must not carry an ansible.cfg that changes a user's commands"
    changed = subprocess.run([os.path.join(BIN, "ansible-config"), "dump", "--only-changed"], cwd=str(clone), env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "COLLECTIONS_PATHS" not in changed and "HOST_KEY_CHECKING" not in changed, changed
    commands = [line for line in readme_block("install-commands").splitlines() if line.strip()]
    assert commands[-1] == "ansible-galaxy collection install -r meta/requirements.yml"  # Galaxy: not reachable here
    for command in commands[:-1]:
        proc = subprocess.run(["bash", "-c", command], cwd=str(clone), env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (command, proc.stdout[-2000:], proc.stderr[-2000:])
    installed = home / ".ansible" / "collections" / "ansible_collections" / "clusterguard" / "portworx"
    assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()
    assert not (installed / "tests").exists() and not (installed / "ansible.cfg").exists()
    doc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "role", "clusterguard.portworx.host_firewall"],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, check=True).stdout
    assert "portworx_start_port" in doc and "host_firewall_state" in doc


def lab_inventory(tmp_path, inventory, kubeconfig):
    """The README's inventory with the lab's workers and connection in place of its examples."""
    readme = yaml.safe_load(readme_block("minimal-inventory"))
    with open(inventory) as handle:
        lab = yaml.safe_load(handle)["all"]
    workers = lab["children"]["workers"]["hosts"]
    assert len(readme["all"]["children"]["workers"]["hosts"]) == len(workers)
    readme["all"]["children"]["workers"]["hosts"] = {name: {"ansible_host": hv["ansible_host"]}
                                                     for name, hv in workers.items()}
    for key in ("ansible_ssh_private_key_file", "ansible_ssh_common_args", "ansible_python_interpreter"):
        readme["all"]["vars"][key] = lab["vars"][key]
    readme["all"]["vars"]["ansible_user"] = "root"
    readme["all"]["vars"]["network_policy_kubeconfig"] = kubeconfig
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(readme))
    return path


def run_user(args, cwd, env, expect=0):
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook")] + args, cwd=str(cwd), env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == expect, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout


def test_the_first_inventory_and_playbook_on_the_lab(tmp_path, inventory, kubeconfig, api):
    run_playbook("tests/integration/playbooks/host_firewall.yml", inventory, {"host_firewall_state": "absent"})
    lab_inventory(tmp_path, inventory, kubeconfig)  # tmp_path/inventory.yml, the file the README's commands name
    (tmp_path / "hardening.yml").write_text(readme_block("minimal-playbook"))
    home = tmp_path / "home"
    home.mkdir()
    env = user_env(home)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".collections")  # installed, as the README's install does
    try:
        before = snapshot()
        check = readme_command("hardening.yml --check")
        assert check == ["-i", "inventory.yml", "hardening.yml", "--check", "--diff"]
        run_user(check, tmp_path, env)
        assert snapshot() == before, "the check run changed a host"
        render = readme_command("clusterguard.portworx.site --tags network_policy")
        assert render == ["-i", "inventory.yml", "clusterguard.portworx.site", "--tags", "network_policy", "-e",
                          "network_policy_render_dir=manifests/", "-e", "network_policy_all_namespaces=false"]
        run_user(render, tmp_path, env)
        assert sorted(os.listdir(tmp_path / "manifests"))[:2] == ["networkpolicy_default_allow-api.yaml",
                                                                  "networkpolicy_default_block-9001-for-non-system-users.yaml"]
        assert snapshot() == before, "the render run changed a host"
        run_user(["-i", "inventory.yml", "hardening.yml"], tmp_path, env)
        assert "CLUSTERGUARD-PX" in netns("w1", "iptables", "-S", "INPUT", check=True).stdout
        again = run_user(["-i", "inventory.yml", "hardening.yml"], tmp_path, env)
        assert all(re.search(r"%s\s+: ok=\d+\s+changed=0" % h, again) for h in (LAB_NAME + "-w1", LAB_NAME + "-w2", "localhost")), again
        undo = readme_command("hardening.yml -e host_firewall_state=absent")
        assert undo == ["-i", "inventory.yml", "hardening.yml", "-e", "host_firewall_state=absent", "-e",
                        "network_policy_state=absent"]
        run_user(undo, tmp_path, env)
        assert "CLUSTERGUARD-PX" not in netns("w1", "iptables-save", check=True).stdout
        from kubernetes import client
        ours = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces(
            label_selector="app.kubernetes.io/managed-by=clusterguard.portworx,clusterguard.portworx/instance=default").items
        assert ours == []
    finally:
        shutil.rmtree(tmp_path / "manifests", ignore_errors=True)
