#!/usr/bin/env bash
# The lab's NetworkPolicy engine: kube-router's network-policy controller (the one k3s
# embeds) in every worker's namespace, and pods that are network namespaces behind the
# workers, with their Pod objects, so that policies are enforced on real packets.
#
#   engine.sh build   build kube-router from the Go module proxy (once per machine)
#   engine.sh up      build (cached), start it on every worker, make the pods
#   engine.sh down    stop it, remove its rules, the pods and their objects
#   engine.sh status
#
# Lab only: kube-router v2.1.0 has reported security flaws; the roles never install it.
# Settings (environment) as workers.sh and controlplane.sh: LAB_NAME, LAB_NET, LAB_DIR,
# LAB_WORKERS, LAB_API_PORT; LAB_POD_NET (default 10.244): worker i's pods are in
# LAB_POD_NET.i.0/24, pod j at .(10+j). Per worker, seven pods:
#   p1  lab-apps        app=demo                a user namespace
#   p2  lab-other       app=demo                a user namespace the tests leave unselected
#   p3  kube-system     k8s-app=kube-dns        not on the exempt list
#   p4  kube-system     component=stork         exempt (the document's list)
#   p5  kube-system     name=portworx-operator  exempt: the operator dials the SDK port (9020)
#   p6  kube-system     name=px-plugin-proxy    exempt: it forwards to the REST gateway (9021)
#   p7  lab-monitoring  app=prometheus          a user namespace; scrapes 9001 and 9019 when allowed
# Each pod runs the probe listener (TCP accept, UDP echo) on 9001 and 8080.
# kube-router syncs when pods, namespaces or policies change; its periodic sync is set
# to 24h, because each sync rewrites the whole filter table (iptables-restore without
# --noflush), which would race with the host_firewall tests' before/after snapshots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=${LAB_NAME:-cgpx}
dir=${LAB_DIR:-$repo/.lab/$name}
net=${LAB_NET:-10.231.0}
workers=${LAB_WORKERS:-3}
api_port=${LAB_API_PORT:-16443}
pod_net=${LAB_POD_NET:-10.244}
python=${LAB_PYTHON:-$repo/.venv/bin/python}
engine="$dir/engine"
version=v2.1.0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/clusterguard/kube-router/$version
POD_KINDS=("lab-apps app=demo" "lab-other app=demo" "kube-system k8s-app=kube-dns" "kube-system component=stork"
           "kube-system name=portworx-operator" "kube-system name=px-plugin-proxy" "lab-monitoring app=prometheus")

# shellcheck source=tests/lab/pidfile.sh
. "$here/pidfile.sh"
router_alive() { pid_alive "$engine/kube-router-w$1.pid" "$engine/kubeconfig"; }  # worker index

binary() {  # kube-router from the Go module proxy, built once per machine
  if [[ ! -x $cache/kube-router ]]; then
    local go
    go=$("$repo/scripts/go.sh")
    echo ">> building kube-router $version (once; cached in $cache)" >&2
    (cd "$(mktemp -d)" && GOBIN="$cache" GOFLAGS=-mod=mod "$go" install \
      "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$version" >&2)
  fi
  echo "$cache/kube-router"
}

pods_json() {
  local first=1
  printf '['
  for i in $(seq 1 "$workers"); do
    for j in $(seq 1 ${#POD_KINDS[@]}); do
      read -r ns label <<<"${POD_KINDS[$((j - 1))]}"
      ((first)) || printf ','
      first=0
      printf '{"name":"w%s-p%s","namespace":"%s","labels":{"%s":"%s"},"node":"%s-w%s","ip":"%s.%s.%s","host_ip":"%s.%s"}' \
        "$i" "$j" "$ns" "${label%%=*}" "${label#*=}" "$name" "$i" "$pod_net" "$i" "$((10 + j))" "$net" "$((10 + i))"
    done
  done
  printf ']'
}

up_pod() {  # worker index, pod index
  local i=$1 j=$2 wns="${name}-w$1" pns="${name}-w$1-p$2" veth="${name}w$1p$2" ip="$pod_net.$1.$((10 + $2))"
  ip netns list | grep -qw "^$pns" || ip netns add "$pns"
  if ! ip -n "$wns" link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$pns"
    ip link set "$veth" netns "$wns"
  fi
  ip -n "$pns" link set lo up
  ip -n "$pns" link set eth0 up
  ip -n "$pns" addr replace "$ip/32" dev eth0
  ip -n "$pns" route replace "$pod_net.$i.1/32" dev eth0
  ip -n "$pns" route replace default via "$pod_net.$i.1" dev eth0
  ip -n "$wns" link set "$veth" up
  ip -n "$wns" addr replace "$pod_net.$i.1/32" dev "$veth"
  ip -n "$wns" route replace "$ip/32" dev "$veth"
  if ! pid_alive "$engine/$pns.listener.pid" "$here/listener.py"; then
    ip netns exec "$pns" setsid python3 "$here/listener.py" 9001 8080 </dev/null >/dev/null 2>&1 &
    echo $! > "$engine/$pns.listener.pid"
  fi
}

up() {
  [[ -f $dir/kubeconfig ]] || { echo "engine.sh: $dir/kubeconfig is missing: start the control plane first" >&2; exit 1; }
  local bin
  bin=$(binary)
  mkdir -p "$engine"
  # The API server listens on loopback; the workers reach it on the bridge address.
  if ! pid_alive "$engine/forward.pid" "$here/forward.py $net.1 $api_port"; then
    setsid "$python" "$here/forward.py" "$net.1" "$api_port" 127.0.0.1 "$api_port" </dev/null >"$engine/forward.log" 2>&1 &
    echo $! > "$engine/forward.pid"
  fi
  sed "s#https://127.0.0.1:$api_port#https://$net.1:$api_port#" "$dir/kubeconfig" > "$engine/kubeconfig"
  chmod 600 "$engine/kubeconfig"
  for i in $(seq 1 "$workers"); do
    ip netns exec "${name}-w$i" sysctl -qw net.ipv4.ip_forward=1
    for j in $(seq 1 ${#POD_KINDS[@]}); do up_pod "$i" "$j"; done
    for k in $(seq 1 "$workers"); do
      ((k == i)) || ip -n "${name}-w$i" route replace "$pod_net.$k.0/24" via "$net.$((10 + k))"
    done
  done
  "$python" "$here/pods.py" "$dir/kubeconfig" up "$(pods_json)"
  for i in $(seq 1 "$workers"); do
    local pidfile="$engine/kube-router-w$i.pid"
    router_alive "$i" && continue
    ip netns exec "${name}-w$i" setsid "$bin" --kubeconfig "$engine/kubeconfig" \
      --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
      --hostname-override "${name}-w$i" --service-cluster-ip-range 10.96.0.0/16 \
      --health-port 0 --metrics-port 0 --iptables-sync-period 24h --v 1 \
      </dev/null >"$engine/kube-router-w$i.log" 2>&1 &
    echo $! > "$pidfile"
  done
  # Ready when every worker holds a firewall chain for each of its pods.
  for _try in $(seq 1 120); do
    local ready=0
    for i in $(seq 1 "$workers"); do
      router_alive "$i" || { echo "engine.sh: kube-router on w$i exited:" >&2; tail -20 "$engine/kube-router-w$i.log" >&2; exit 1; }
      n=$(ip netns exec "${name}-w$i" iptables -S 2>/dev/null | grep -c '^-N KUBE-POD-FW-' || true)
      ((n >= ${#POD_KINDS[@]})) && ready=$((ready + 1))
    done
    if ((ready == workers)); then
      echo "engine: kube-router $version on $workers workers, $((workers * ${#POD_KINDS[@]})) pods in $pod_net.0.0/16"
      return 0
    fi
    sleep 0.5
  done
  echo "engine.sh: kube-router did not program the pods within 60s; see $engine/kube-router-w*.log" >&2
  exit 1
}

down() {
  for i in $(seq 1 200); do
    local wns="${name}-w$i" pidfile="$engine/kube-router-w$i.pid"
    if router_alive "$i"; then pid_stop "$pidfile" "$engine/kubeconfig"; sleep 0.2; fi
    rm -f "$pidfile"
    ip netns list | grep -qw "^$wns" || { [[ $i -gt $workers ]] && break; continue; }
    # kube-router --cleanup-config panics in v2.1.0 halfway, so its rules go here: every KUBE-
    # chain and rule of the filter table (the lab runs no kube-proxy), then its ipsets.
    for fam in iptables ip6tables; do
      ip netns exec "$wns" sh -c "$fam-save -t filter | grep -v 'KUBE-' | $fam-restore -T filter" 2>/dev/null || true
    done
    ip netns exec "$wns" ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router|TMP-)' \
      | while read -r set; do ip netns exec "$wns" ipset destroy "$set" 2>/dev/null || true; done || true
  done
  for pns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-w[0-9]+-p[0-9]+$" || true); do
    ip netns pids "$pns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$pns" 2>/dev/null || true
  done
  if [[ -f $dir/kubeconfig ]] && curl -sk --max-time 2 "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; then
    "$python" "$here/pods.py" "$dir/kubeconfig" down "$(pods_json)" || true
  fi
  pid_stop "$engine/forward.pid" "$here/forward.py $net.1 $api_port"
  rm -rf "$engine"
  echo "engine stopped"
}

status() {
  for i in $(seq 1 "$workers"); do
    if router_alive "$i"; then echo "kube-router on w$i running"; else echo "kube-router on w$i stopped"; fi
  done
  ip netns list | awk '{print $1}' | grep -E "^${name}-w[0-9]+-p[0-9]+$" || echo "no pods"
}

case "${1:-}" in
  build) binary >/dev/null ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: engine.sh build|up|down|status" >&2; exit 2 ;;
esac
