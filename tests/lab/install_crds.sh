#!/usr/bin/env bash
# Install the cluster-scoped policy CRDs into the lab API server, taken from the Go
# module zips of sigs.k8s.io/network-policy-api (no copies of upstream files here):
#   v0.3.0: ClusterNetworkPolicy (policy.networking.k8s.io v1beta1 and v1alpha2)
#   v0.1.7: AdminNetworkPolicy (policy.networking.k8s.io v1alpha1)
# The experimental channel of each: it holds every standard field plus the `nodes` peer.
# The real API server then validates our objects against the schemas, CEL rules included.
#   install_crds.sh KUBECONFIG [ClusterNetworkPolicy|AdminNetworkPolicy ...]   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${LAB_PYTHON:-$repo/.venv/bin/python}
kubeconfig=$1
shift
if (($#)); then kinds=("$@"); else kinds=(ClusterNetworkPolicy AdminNetworkPolicy); fi
go=$("$repo/scripts/go.sh")

module_dir() {  # module@version -> its directory in the module cache (downloaded once)
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod "$go" mod download -json "$1" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
}

files=()
for kind in "${kinds[@]}"; do
  case $kind in
    ClusterNetworkPolicy) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.3.0)/config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml") ;;
    AdminNetworkPolicy) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.1.7)/config/crd/experimental/policy.networking.k8s.io_adminnetworkpolicies.yaml") ;;
    *) echo "install_crds.sh: unknown kind $kind" >&2; exit 2 ;;
  esac
done
"$python" - "$kubeconfig" "${files[@]}" <<'PY'
import sys
import time

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ext = client.ApiextensionsV1Api(config.new_client_from_config(config_file=sys.argv[1]))
names = []
for path in sys.argv[2:]:
    with open(path) as handle:
        crd = yaml.safe_load(handle)
    name = crd["metadata"]["name"]
    names.append(name)
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        crd["metadata"]["resourceVersion"] = ext.read_custom_resource_definition(name).metadata.resource_version
        ext.replace_custom_resource_definition(name, crd)
for _ in range(100):
    ready = [n for n in names if any(c.type == "Established" and c.status == "True"
                                     for c in ext.read_custom_resource_definition(n).status.conditions or [])]
    if len(ready) == len(names):
        break
    time.sleep(0.2)
else:
    sys.exit("CRDs not established: %s" % ", ".join(sorted(set(names) - set(ready))))
# The API server serves a new CRD's paths a moment after Established.
time.sleep(1)
print("CRDs installed: %s" % ", ".join(names))
PY
