"""Write (or remove) a StorageCluster object in the lab, as the Portworx operator's users
write one; its kind comes from tests/lab/crds/storagecluster.yaml (install_crds.sh).
Nothing runs it: there is no operator in the lab.

Usage: storagecluster.py KUBECONFIG up [--namespace NS] [--name N] [--start-port P]
                                        [--image IMAGE] [--security]
       storagecluster.py KUBECONFIG down [--namespace NS] [--name N]"""

import argparse

from kubernetes import client, config
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "core.libopenstorage.org", "v1", "storageclusters"


def body(args):
    spec = {"image": args.image, "kvdb": {"internal": True}, "storage": {"useAll": True},
            "secretsProvider": "k8s", "stork": {"enabled": True}, "autopilot": {"enabled": True},
            "security": {"enabled": bool(args.security)}}
    if args.start_port:
        spec["startPort"] = args.start_port
    return {"apiVersion": "%s/%s" % (GROUP, VERSION), "kind": "StorageCluster",
            "metadata": {"name": args.name, "namespace": args.namespace,
                         "annotations": {"portworx.io/install-source": "clusterguard-lab"}},
            "spec": spec}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kubeconfig")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--namespace", default="portworx")
    parser.add_argument("--name", default="px-cluster")
    parser.add_argument("--start-port", type=int)
    parser.add_argument("--image", default="portworx/oci-monitor:3.1.0")
    parser.add_argument("--security", action="store_true")
    args = parser.parse_args()
    api = config.new_client_from_config(config_file=args.kubeconfig)
    objects = client.CustomObjectsApi(api)
    if args.action == "down":
        try:
            objects.delete_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, args.name)
        except ApiException as exc:
            if exc.status != 404:
                raise
        return
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": args.namespace}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    try:
        objects.create_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, body(args))
    except ApiException as exc:
        if exc.status != 409:
            raise
        current = objects.get_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, args.name)
        new = body(args)
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        objects.replace_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, args.name, new)
    print("StorageCluster %s/%s written" % (args.namespace, args.name))


if __name__ == "__main__":
    main()
