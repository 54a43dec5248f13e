"""Register a Node object for every lab worker, with its InternalIP(s).

No kubelet runs in the lab, so the nodes are written the way a kubelet
would report them: metadata plus status.addresses. Usage:
    register_nodes.py KUBECONFIG INVENTORY"""

import sys

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException


def main(kubeconfig, inventory_path):
    with open(inventory_path) as handle:
        inventory = yaml.safe_load(handle)
    workers = inventory["all"]["children"]["workers"]["hosts"]
    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    for name, hostvars in workers.items():
        addresses = [{"type": "InternalIP", "address": hostvars["ansible_host"]}]
        if hostvars.get("node_ipv6"):
            addresses.append({"type": "InternalIP", "address": hostvars["node_ipv6"]})
        addresses.append({"type": "Hostname", "address": name})
        body = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      "node-role.kubernetes.io/worker": ""}}}
        try:
            api.create_node(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        # Replace, not patch: a strategic merge keys addresses by type, and a
        # dual-stack node has two InternalIPs.
        node = api.read_node_status(name)
        node.status.addresses = addresses
        api.replace_node_status(name, node)
    print("registered %d nodes: %s" % (len(workers), ", ".join(workers)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
