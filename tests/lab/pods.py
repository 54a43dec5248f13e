"""Write the lab's Pod objects as a kubelet would report them, for pods that are
network namespaces (tests/lab/engine.sh makes those): spec.nodeName, and the status
(phase Running, podIP, hostIP) through the status subresource. Nothing runs them.

Usage: pods.py KUBECONFIG up|down POD_SPEC_JSON
POD_SPEC_JSON is a list of {name, namespace, labels, node, ip, host_ip}."""

import json
import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException

LAB_LABEL = {"clusterguard.portworx/lab-pod": "true"}


def up(core, pods):
    for namespace in sorted({p["namespace"] for p in pods}):
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except ApiException as exc:
            if exc.status != 409:
                raise
    for pod in pods:
        body = {"metadata": {"name": pod["name"], "labels": dict(pod["labels"], **LAB_LABEL)},
                "spec": {"nodeName": pod["node"], "containers": [{"name": "main", "image": "lab/none"}]}}
        try:
            core.create_namespaced_pod(pod["namespace"], body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        core.patch_namespaced_pod_status(pod["name"], pod["namespace"], {"status": {
            "phase": "Running", "podIP": pod["ip"], "podIPs": [{"ip": pod["ip"]}], "hostIP": pod["host_ip"],
            "hostIPs": [{"ip": pod["host_ip"]}], "startTime": now,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}})
    print("pods: %d Pod objects written" % len(pods))


def down(core, pods):
    for pod in pods:
        try:
            core.delete_namespaced_pod(pod["name"], pod["namespace"], grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                raise


def main(kubeconfig, action, spec):
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    pods = json.loads(spec)
    (up if action == "up" else down)(core, pods)


if __name__ == "__main__":
    main(*sys.argv[1:4])
