"""AWX / Automation Platform job slicing on the lab: each slice's inventory holds only
some of the workers. With portworx_node_source: cluster every slice allows every
Node of the cluster, so the workers keep reaching each other's Portworx ports while the
outsider is dropped; with the inventory as the source a slice cuts the others off, and
the role says so by name. The slices that converge run on both back-ends. Real SSH, real
iptables and nftables, real TCP, the real API server."""

import threading

import pytest
import yaml

from conftest import run_playbook
from hostfw import LAB_NAME, WORKERS, guarded_by, probe

PLAY = "tests/integration/playbooks/host_firewall.yml"
# the slices that converge run on both back-ends: the guard differs, what slicing must keep does not
BACKENDS = ("iptables", "nftables")
ADDRESSES = {w: ("10.231.0.%d" % (10 + i), "[fd42::%d]" % (10 + i)) for i, w in enumerate(WORKERS, 1)}


def slices(inventory, tmp_path):
    """Two inventories, as job slicing makes them: w1 in one, w2 and w3 in the other."""
    lab = yaml.safe_load(open(inventory))
    out = []
    for index, members in enumerate((["w1"], ["w2", "w3"])):
        part = yaml.safe_load(open(inventory))
        workers = lab["all"]["children"]["workers"]["hosts"]
        part["all"]["children"]["workers"]["hosts"] = {
            "%s-%s" % (LAB_NAME, w): workers["%s-%s" % (LAB_NAME, w)] for w in members}
        path = tmp_path / ("slice%d.yml" % index)
        path.write_text(yaml.safe_dump(part))
        out.append(str(path))
    return out


def mesh():
    """{(source, target): result} of every worker to every other worker's 9001, and the outsider to all."""
    out = {}
    for source in WORKERS + ("out",):
        targets = ["%s:9001" % a for t in WORKERS if t != source for a in ADDRESSES[t]]
        for target, result in probe(source, *targets).items():
            out[(source, target)] = result
    return out


def assert_mesh_open_outsider_dropped():
    found = mesh()
    cut = {k: v for k, v in found.items() if k[0] != "out" and v == "timeout"}
    assert cut == {}, "workers cut off from each other: %s" % cut
    let_in = {k: v for k, v in found.items() if k[0] == "out" and v != "timeout"}
    assert let_in == {}, "the outsider reaches: %s" % let_in


def test_slices_with_the_inventory_as_source_cut_each_other_off_and_are_warned(inventory, kubeconfig, tmp_path, clean):
    first, second = slices(inventory, tmp_path)
    extra = {"host_firewall_kubeconfig": kubeconfig}
    out = run_playbook(PLAY, first, extra)
    assert "cluster Nodes %s-w2 (10.231.0.12, fd42::12), %s-w3" % (LAB_NAME, LAB_NAME) in out.replace("\n", " ")
    assert "portworx_node_source: cluster" in out
    run_playbook(PLAY, second, extra)
    found = mesh()
    assert found[("w2", "10.231.0.11:9001")] == "timeout"  # the storage outage this option prevents
    assert found[("w1", "10.231.0.12:9001")] == "timeout"


@pytest.mark.parametrize("backend", BACKENDS)
def test_slices_one_after_the_other_with_the_cluster_as_source(backend, inventory, kubeconfig, tmp_path, clean):
    extra = {"portworx_node_source": "cluster", "host_firewall_kubeconfig": kubeconfig, "host_firewall_backend": backend}
    for part in slices(inventory, tmp_path):
        run_playbook(PLAY, part, extra)
    assert guarded_by(backend)
    assert_mesh_open_outsider_dropped()


@pytest.mark.parametrize("backend", BACKENDS)
def test_slices_at_the_same_time_with_the_cluster_as_source(backend, inventory, kubeconfig, tmp_path, clean):
    extra = {"portworx_node_source": "cluster", "host_firewall_kubeconfig": kubeconfig, "host_firewall_backend": backend}
    outputs, errors = {}, []

    def run(part):
        try:
            outputs[part] = run_playbook(PLAY, part, extra)
        except AssertionError as exc:  # a failed run: reported below, with its output
            errors.append(str(exc))

    threads = [threading.Thread(target=run, args=(part,)) for part in slices(inventory, tmp_path)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(outputs) == 2
    assert guarded_by(backend)
    assert_mesh_open_outsider_dropped()


def test_node_source_cluster_that_cannot_be_read_changes_nothing(inventory, tmp_path, clean):
    out = run_playbook(PLAY, inventory, {"portworx_node_source": "cluster",
                                         "host_firewall_kubeconfig": str(tmp_path / "missing")}, expect_rc=2)
    assert "portworx_node_source: 'cluster', but the cluster cannot be read" in out
    assert "changed=0" in out


def test_node_source_list(inventory, tmp_path, clean):
    listed = [a.strip("[]") for w in ("w1", "w2") for a in ADDRESSES[w]]
    run_playbook(PLAY, inventory, {"portworx_node_source": "list", "portworx_node_addresses": listed})
    found = mesh()
    assert found[("w3", "10.231.0.11:9001")] == "timeout"  # w3 is not listed
    assert found[("w2", "10.231.0.11:9001")] != "timeout"
