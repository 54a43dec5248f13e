#!/usr/bin/env bash
# Lab workers: network namespaces on a bridge, each with its own sshd.
#
#   workers.sh up        create (or complete) the lab and write its inventory
#   workers.sh down      remove everything this lab made
#   workers.sh status    list the lab's hosts
#
# Settings (environment):
#   LAB_NAME     prefix of every namespace, link and file (default cgpx; at most 6 chars)
#   LAB_WORKERS  number of workers (default 3)
#   LAB_NET      first three octets of the lab's IPv4 /24 (default 10.231.0); the IPv6
#                subnet is fd42:<third octet>::/64, so labs that run side by side differ
#                in the third octet (up refuses a subnet another bridge already holds)
#   LAB_DIR      state directory (default <repo>/.lab/<LAB_NAME>)
#   LAB_INVENTORY  where to write the inventory (default $LAB_DIR/inventory.yml)
#   LAB_PORTS    ports every host listens on for probes, TCP and UDP (default: around both
#                Portworx ranges, plus 6443 and 10250 as the API server and the kubelet)
#
# Hosts get no default route: the lab subnet reaches this machine and nothing else.
# Each namespace binds /etc/netns/<ns>/clusterguard over /etc/clusterguard, so the
# firewall role's persisted rules stay apart per host, and each host's sshd sees a root
# home of its own ($LAB_DIR/home/<host>) instead of this machine's /root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=${LAB_NAME:-cgpx}
workers=${LAB_WORKERS:-3}
net=${LAB_NET:-10.231.0}
dir=${LAB_DIR:-$repo/.lab/$name}
inventory=${LAB_INVENTORY:-$dir/inventory.yml}
ports=${LAB_PORTS:-6443 8999 9000 9001 9002 9011 9019 9020 9021 9022 9023 9024 10250 17000 17001 17002 17016 17017 17020 17021 17022 17023}
v6="fd42:${net##*.}::"
bridge="${name}-br"
script=workers.sh
# shellcheck source=tests/lab/net.sh
. "$here/net.sh"
# shellcheck source=tests/lab/pidfile.sh
. "$here/pidfile.sh"

[[ ${#name} -le 6 ]] || { echo "workers.sh: LAB_NAME '$name' is longer than 6 characters" >&2; exit 2; }
[[ $workers =~ ^[0-9]+$ && $workers -ge 1 && $workers -le 200 ]] || { echo "workers.sh: LAB_WORKERS '$workers' must be 1-200" >&2; exit 2; }
[[ $net =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "workers.sh: LAB_NET '$net' must be three octets such as 10.231.0" >&2; exit 2; }

hosts() {  # name index: workers w1..wN get .11.., the outsider .250
  for i in $(seq 1 "$workers"); do echo "w$i $((10 + i))"; done
  echo "out 250"
}

need() {
  local missing=()
  for cmd in ip sshd ssh-keygen iptables ipset python3; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  if ((${#missing[@]})); then
    echo "workers.sh: missing ${missing[*]}; run 'make deps' (apt: iproute2 openssh-server iptables ipset)" >&2
    exit 1
  fi
}

up_host() {
  local host=$1 idx=$2 ns="${name}-$1"
  lab_link_up "$host"
  lab_address "$host" "$idx"
  mkdir -p "/etc/netns/$ns/clusterguard" "$dir/run" "$dir/home/$host"
  # sshd of this host, with a root home of the host's own (Debian's default dot files) bound over /root
  # in its mount namespace: this machine's root runs pyenv's init from its .bashrc, which bash reads for
  # every command sshd starts (about 90 ms of CPU each); a worker host has no such thing
  cp -n /usr/share/base-files/dot.bashrc "$dir/home/$host/.bashrc" 2>/dev/null || true
  cp -n /usr/share/base-files/dot.profile "$dir/home/$host/.profile" 2>/dev/null || true
  if ! pid_alive "$dir/run/$host.sshd.pid" "$dir/sshd_config"; then
    # ip netns exec gives the command a mount namespace of its own (a slave of this machine's), so
    # the bind stays with this host's sshd and what it starts
    # shellcheck disable=SC2016  # $1-$3 are the inner shell's arguments
    ip netns exec "$ns" sh -c 'mount --bind "$1" /root && exec /usr/sbin/sshd -f "$2" -o "PidFile=$3"' \
      sshd "$dir/home/$host" "$dir/sshd_config" "$dir/run/$host.sshd.pid"
  fi
  # probe listener of this host
  if ! pid_alive "$dir/run/$host.listener.pid" "$here/listener.py"; then
    # shellcheck disable=SC2086
    ip netns exec "$ns" setsid python3 "$here/listener.py" $ports </dev/null >/dev/null 2>&1 &
    echo $! > "$dir/run/$host.listener.pid"
  fi
}

write_config() {
  mkdir -p "$dir/ssh" /run/sshd /etc/clusterguard
  [[ -f $dir/ssh/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C "clusterguard-lab" -f "$dir/ssh/id_ed25519"
  [[ -f $dir/ssh/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/host_ed25519"
  cp "$dir/ssh/id_ed25519.pub" "$dir/ssh/authorized_keys"
  cat > "$dir/sshd_config" <<CFG
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $dir/ssh/host_ed25519
AuthorizedKeysFile $dir/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp internal-sftp
CFG
}

write_inventory() {
  mkdir -p "$(dirname "$inventory")"
  {
    lab_inventory_workers "lab_kubeconfig: $dir/kubeconfig"
    echo "    controller:"
    echo "      hosts:"
    echo "        localhost:"
    echo "          ansible_connection: local"
    echo "          ansible_python_interpreter: \"{{ ansible_playbook_python }}\""
    echo "    outsiders:"
    echo "      hosts:"
    echo "        ${name}-out:"
    echo "          ansible_host: $net.250"
    echo "          node_ipv6: \"${v6}250\""
    echo "          lab_netns: ${name}-out"
  } > "$inventory.tmp"
  mv "$inventory.tmp" "$inventory"
}

wait_ssh() {
  local host idx
  while read -r host idx; do
    for _ in $(seq 1 50); do
      if ip netns exec "${name}-$host" python3 -c "import socket; socket.create_connection(('127.0.0.1', 22), 1).close()" 2>/dev/null; then
        continue 2
      fi
      sleep 0.1
    done
    echo "workers.sh: sshd of $host does not answer" >&2; exit 1
  done < <(hosts)
}

up() {
  need
  write_config
  lab_bridge_up
  # workers beyond LAB_WORKERS from an earlier, larger lab go away
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-w[0-9]+$" || true); do
    i=${ns#"${name}"-w}
    ((i > workers)) && down_host "w$i"
  done
  while read -r host idx; do up_host "$host" "$idx"; done < <(hosts)
  wait_ssh
  write_inventory
  echo "lab '$name': $workers workers ($net.11-$net.$((10 + workers))), outsider $net.250, inventory $inventory"
}

down_host() {
  local host=$1 ns="${name}-$1"
  pid_stop "$dir/run/$host.sshd.pid" "$dir/sshd_config"
  pid_stop "$dir/run/$host.listener.pid" "$here/listener.py"
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip link del "${name}h$host" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns" "${dir:?}/home/$host"
}

down() {
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-(w[0-9]+|out)$" || true); do
    down_host "${ns#"${name}"-}"
  done
  ip link del "$bridge" 2>/dev/null || true
  rm -f "$inventory"
  rm -rf "$dir/run"
  # /etc/clusterguard is every lab's mount point: removing it would detach the bind
  # mounts of labs that still run, so it goes only with the last lab.
  if ! compgen -G "/etc/netns/*/clusterguard" >/dev/null; then rmdir /etc/clusterguard 2>/dev/null || true; fi
  echo "lab '$name' removed"
}

status() {
  ip netns list | awk '{print $1}' | grep -E "^${name}-" || echo "lab '$name' is not up"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: workers.sh up|down|status (see the header for settings)" >&2; exit 2 ;;
esac
