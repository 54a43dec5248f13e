#!/usr/bin/env bash
# Re-pin the lab control plane to another Kubernetes release.
#   tests/lab/controlplane/pin.sh v1.37.2
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
# with local paths; a consumer must replace each with the published v0.X.Y.
# etcd is pinned to whatever that release's go.mod requires.
set -euo pipefail
cd "$(dirname "$0")"
kube=${1:?usage: pin.sh vX.Y.Z}
staging=v0.${kube#v1.}
modfile=$(go mod download -json "k8s.io/kubernetes@${kube}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
etcd=$(awk '$1=="go.etcd.io/etcd/client/v3"{print $2; exit}' "$modfile")
gover=$(awk '$1=="go"{print $2; exit}' "$modfile")
rm -f go.mod go.sum
go mod init clusterguard.local/controlplane >/dev/null 2>&1
go mod edit -go="$gover" -require="k8s.io/kubernetes@${kube}" -require="go.etcd.io/etcd/server/v3@${etcd}"
while read -r mod; do
  go mod edit -replace="${mod}=${mod}@${staging}"
done < <(awk '/^\tk8s.io\/[a-z-]+ v0.0.0$/{print $1}' "$modfile")
echo "${kube}" > KUBE_VERSION
go mod tidy
echo "pinned k8s.io/kubernetes ${kube}, staging ${staging}, etcd ${etcd}, go ${gover}"
