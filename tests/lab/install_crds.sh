#!/usr/bin/env bash
# Install the CRDs the lab needs into the lab API server. The cluster-scoped policy CRDs
# come from the Go module zips of sigs.k8s.io/network-policy-api (no copies of upstream
# files here); the experimental channel of each, which holds every standard field plus the
# `nodes` peer:
#   ClusterNetworkPolicy           v0.3.0: policy.networking.k8s.io v1beta1 and v1alpha2
#   ClusterNetworkPolicy-v1alpha2  v0.2.0: v1alpha2 only (what Cilium 1.20's documentation installs)
#   ClusterNetworkPolicy-v1beta1   v0.3.0 with v1alpha2 no longer served: v1beta1 only
#   AdminNetworkPolicy             v0.1.7: v1alpha1
#   BaselineAdminNetworkPolicy     v0.1.7: v1alpha1 (verify reads it: the Baseline tier)
#   StorageCluster                 the Portworx operator's kind, from our own CRD (tests/lab/crds/)
# The real API server then validates our objects against the schemas, CEL rules included.
# A CRD whose stored versions the new one does not serve is deleted first (with its objects).
#   install_crds.sh KUBECONFIG [KIND ...]   (default: ClusterNetworkPolicy AdminNetworkPolicy BaselineAdminNetworkPolicy StorageCluster)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${LAB_PYTHON:-$repo/.venv/bin/python}
kubeconfig=$1
shift
if (($#)); then kinds=("$@"); else kinds=(ClusterNetworkPolicy AdminNetworkPolicy BaselineAdminNetworkPolicy StorageCluster); fi
go=$("$repo/scripts/go.sh")

module_dir() {  # module@version -> its directory in the module cache (downloaded once)
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod "$go" mod download -json "$1" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
}

cnp=config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml
files=()
for kind in "${kinds[@]}"; do
  case $kind in
    ClusterNetworkPolicy) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.3.0)/$cnp") ;;
    ClusterNetworkPolicy-v1alpha2) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.2.0)/$cnp") ;;
    ClusterNetworkPolicy-v1beta1) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.3.0)/$cnp=v1beta1") ;;
    AdminNetworkPolicy) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.1.7)/config/crd/experimental/policy.networking.k8s.io_adminnetworkpolicies.yaml") ;;
    BaselineAdminNetworkPolicy) files+=("$(module_dir sigs.k8s.io/network-policy-api@v0.1.7)/config/crd/experimental/policy.networking.k8s.io_baselineadminnetworkpolicies.yaml") ;;
    StorageCluster) files+=("$here/crds/storagecluster.yaml") ;;
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
for arg in sys.argv[2:]:
    path, _sep, only = arg.partition("=")  # FILE=VERSION: serve that version only
    with open(path) as handle:
        crd = yaml.safe_load(handle)
    if only:
        for version in crd["spec"]["versions"]:
            version["served"] = version["name"] == only
    name = crd["metadata"]["name"]
    names.append(name)
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        have = ext.read_custom_resource_definition(name)
        if set(have.status.stored_versions or []) - {v["name"] for v in crd["spec"]["versions"]}:
            ext.delete_custom_resource_definition(name)  # its objects go with it
            for _ in range(150):
                try:
                    ext.read_custom_resource_definition(name)
                except ApiException as gone:
                    if gone.status == 404:
                        break
                time.sleep(0.2)
            ext.create_custom_resource_definition(crd)
        else:
            crd["metadata"]["resourceVersion"] = have.metadata.resource_version
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
