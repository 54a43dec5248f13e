#!/usr/bin/env bash
# The lab's Kubernetes control plane: etcd and kube-apiserver on loopback.
#
#   controlplane.sh up      build (cached) and start, wait for /readyz, write the kubeconfig
#   controlplane.sh down    stop both and remove their data
#   controlplane.sh status
#
# Settings (environment): LAB_DIR (default <repo>/.lab/cgpx), LAB_API_PORT (16443),
# LAB_ETCD_PORT (12379), LAB_NET (10.231.0: the API server advertises LAB_NET.1, the
# lab bridge, as a real control-plane node would advertise its own address).
# There is no controller-manager, scheduler or kubelet: objects are stored and
# validated, nothing runs them, and namespaces never finish deleting.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${LAB_DIR:-$repo/.lab/${LAB_NAME:-cgpx}}
api_port=${LAB_API_PORT:-16443}
etcd_port=${LAB_ETCD_PORT:-12379}
net=${LAB_NET:-10.231.0}
cp_dir="$dir/controlplane"
python=${LAB_PYTHON:-$repo/.venv/bin/python}

# shellcheck source=tests/lab/pidfile.sh
. "$here/pidfile.sh"
running() { pid_alive "$cp_dir/$1.pid" "$cp_dir/"; }  # both command lines hold paths in cp_dir

certs() {
  local pki="$cp_dir/pki"
  [[ -f $pki/ca.crt && -f $pki/apiserver.crt && -f $pki/sa.key ]] && return
  mkdir -p "$pki"
  # RFC 5280 extensions, as kubeadm's certificates carry them: Python 3.13 verifies strictly
  # (VERIFY_X509_STRICT) and refuses a CA without keyUsage.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=clusterguard-lab-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  {
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
    printf 'extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n'
    printf 'subjectAltName=IP:127.0.0.1,IP:%s.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' "$net"
  } > "$pki/san.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/san.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  # Static token of the lab admin (group system:masters) and of a user with no rights,
  # which the tests use to check the "unauthorised" error path.
  printf '%s,lab-admin,1,"system:masters"\n%s,lab-nobody,2\n' \
    "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" > "$pki/tokens.csv"
}

kubeconfig() {
  local token nobody
  token=$(sed -n '1s/,.*//p' "$cp_dir/pki/tokens.csv")
  nobody=$(sed -n '2s/,.*//p' "$cp_dir/pki/tokens.csv")
  cat > "$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority: $cp_dir/pki/ca.crt
users:
  - name: lab-admin
    user:
      token: $token
  - name: lab-nobody
    user:
      token: $nobody
contexts:
  - name: lab
    context: {cluster: lab, user: lab-admin}
  - name: lab-nobody
    context: {cluster: lab, user: lab-nobody}
current-context: lab
KC
  chmod 600 "$dir/kubeconfig"
}

up() {
  command -v openssl >/dev/null || { echo "controlplane.sh: openssl is missing (make deps)" >&2; exit 1; }
  local bin
  bin=$("$here/controlplane/build.sh")
  mkdir -p "$cp_dir"
  certs
  if ! running etcd; then
    "$bin/etcd" --name lab --data-dir "$cp_dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
      --initial-cluster "lab=http://127.0.0.1:$((etcd_port + 1))" \
      --unsafe-no-fsync --log-level warn >"$cp_dir/etcd.log" 2>&1 &
    echo $! > "$cp_dir/etcd.pid"
  fi
  if ! running kube-apiserver; then
    "$bin/kube-apiserver" \
      --etcd-servers "http://127.0.0.1:$etcd_port" \
      --bind-address 127.0.0.1 --secure-port "$api_port" --advertise-address "$net.1" \
      --tls-cert-file "$cp_dir/pki/apiserver.crt" --tls-private-key-file "$cp_dir/pki/apiserver.key" \
      --client-ca-file "$cp_dir/pki/ca.crt" --token-auth-file "$cp_dir/pki/tokens.csv" \
      --authorization-mode RBAC \
      --service-account-issuer https://kubernetes.default.svc \
      --service-account-key-file "$cp_dir/pki/sa.pub" --service-account-signing-key-file "$cp_dir/pki/sa.key" \
      --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
      --disable-admission-plugins ServiceAccount \
      >"$cp_dir/kube-apiserver.log" 2>&1 &
    echo $! > "$cp_dir/kube-apiserver.pid"
  fi
  kubeconfig
  local token
  token=$(sed -n '1s/,.*//p' "$cp_dir/pki/tokens.csv")
  for i in $(seq 1 120); do
    if curl -sf --cacert "$cp_dir/pki/ca.crt" -H "Authorization: Bearer $token" \
        "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; then
      echo "kube-apiserver ready on https://127.0.0.1:$api_port after ${i}x0.5s; kubeconfig: $dir/kubeconfig"
      [[ -f $dir/inventory.yml ]] && "$python" "$here/register_nodes.py" "$dir/kubeconfig" "$dir/inventory.yml"
      "$here/install_crds.sh" "$dir/kubeconfig"
      # The Portworx of the lab, as the operator's users describe it (start port 9001, 3.1.0)
      "$python" "$here/storagecluster.py" "$dir/kubeconfig" up
      return 0
    fi
    running kube-apiserver || { echo "controlplane.sh: kube-apiserver exited; last log lines:" >&2; tail -20 "$cp_dir/kube-apiserver.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "controlplane.sh: kube-apiserver not ready after 60s; see $cp_dir/kube-apiserver.log" >&2
  exit 1
}

down() {
  for svc in kube-apiserver etcd; do
    if running "$svc"; then
      kill "$(cat "$cp_dir/$svc.pid")"
      for _ in $(seq 1 50); do running "$svc" || break; sleep 0.1; done
    fi
    rm -f "$cp_dir/$svc.pid"
  done
  rm -rf "$cp_dir" "$dir/kubeconfig"
  echo "control plane stopped"
}

status() {
  for svc in etcd kube-apiserver; do
    if running "$svc"; then echo "$svc running (pid $(cat "$cp_dir/$svc.pid"))"; else echo "$svc stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: controlplane.sh up|down|status" >&2; exit 2 ;;
esac
