#!/usr/bin/env bash
# Build kube-apiserver and etcd for the lab from the Go module proxy.
# Binaries are cached under ${CLUSTERGUARD_CACHE:-~/.cache/clusterguard}/controlplane/<hash>,
# where the hash covers go.mod, go.sum and the mains: a change of pin rebuilds,
# anything else reuses. Prints the directory that holds the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CLUSTERGUARD_CACHE:-$HOME/.cache/clusterguard}/controlplane
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/*/main.go "$here/build.sh" | sha256sum | cut -c1-16)
out="$cache/$(cat "$here/KUBE_VERSION")-$key"
if [[ -x "$out/kube-apiserver" && -x "$out/etcd" ]]; then
  echo "$out"; exit 0
fi
go=$("$here/../../../scripts/go.sh") || { echo "build.sh: run scripts/deps.sh, which installs a Go that fits" >&2; exit 1; }
mkdir -p "$out.tmp"
echo ">> building kube-apiserver $(cat "$here/KUBE_VERSION") and etcd from the Go module proxy (first time: several minutes on 2 cores)" >&2
cd "$here"
for cmd in etcd kube-apiserver; do
  start=$SECONDS
  echo ">>   go build ./cmd/$cmd" >&2
  CGO_ENABLED=0 "$go" build -trimpath -ldflags='-s -w' -o "$out.tmp/$cmd" "./cmd/$cmd"
  echo ">>   $cmd built in $((SECONDS - start))s" >&2
done
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
