#!/usr/bin/env bash
# Booted lab workers: Debian 12 systems that boot systemd in containers (systemd-nspawn), each in
# its own network namespace on a lab bridge, so the boot unit, the restore at boot and firewalld
# run as on a real worker. This machine's PID 1 is not systemd: no machined, no machinectl.
#
#   booted.sh up        build the rootfs (cached), boot the workers, write the inventory
#   booted.sh down      stop them and remove everything this lab made (cgroups included)
#   booted.sh reboot W  reboot worker W (w1, w2, ...) as a kernel would: empty tables, link down
#   booted.sh run W CMD run a command inside worker W (nsenter into its PID 1)
#   booted.sh status
#
# Settings (environment): LAB_NAME (default cgpb), LAB_NET (10.231.6), LAB_WORKERS (2), LAB_DIR.
# A reboot empties the worker's netfilter tables and ipsets and takes its link down before the
# container starts again, as a kernel starts with none; systemd-networkd inside brings the link
# up, after network-pre.target, which our boot unit comes before.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=${LAB_NAME:-cgpb}
workers=${LAB_WORKERS:-2}
net=${LAB_NET:-10.231.6}
dir=${LAB_DIR:-$repo/.lab/$name}
v6="fd42:${net##*.}::"
bridge="${name}-br"
script=booted.sh
# shellcheck source=tests/lab/net.sh
. "$here/net.sh"
# shellcheck source=tests/lab/pidfile.sh
. "$here/pidfile.sh"
launcher_alive() { pid_alive "$dir/run/$1.launcher.pid" "__launch $1 $dir/roots/$1/root"; }  # host
cache=${CLUSTERGUARD_CACHE:-$HOME/.cache/clusterguard}/rootfs
# what a worker has: systemd, sshd, Python for Ansible, both iptables back-ends' tools, ipset, nft, firewalld
packages=systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,iptables,nftables,ipset,python3,iproute2,firewalld
rootfs="$cache/bookworm-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"

[[ ${#name} -le 6 ]] || { echo "booted.sh: LAB_NAME '$name' is longer than 6 characters" >&2; exit 2; }

need() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  if ((${#missing[@]})); then
    echo "booted.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

build_rootfs() {
  [[ -f $rootfs/.complete ]] && return
  mkdir -p "$cache"
  rm -rf "$rootfs.tmp"
  echo "booted.sh: debootstrap of Debian 12 into $rootfs (once, about a minute)" >&2
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs.tmp" http://deb.debian.org/debian \
    > "$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # networkd configures the link from files each worker gets; sshd takes keys only
  ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs.tmp/etc/systemd/system/multi-user.target.wants/"
  mkdir -p "$rootfs.tmp/etc/systemd/system/sockets.target.wants"
  ln -sf /lib/systemd/system/systemd-networkd.socket "$rootfs.tmp/etc/systemd/system/sockets.target.wants/"
  printf 'PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' \
    > "$rootfs.tmp/etc/ssh/sshd_config.d/lab.conf"
  touch "$rootfs.tmp/.complete"
  mv "$rootfs.tmp" "$rootfs"
}

key() {
  mkdir -p "$dir/ssh"
  [[ -f $dir/ssh/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/id_ed25519"
}

pid1() {  # the container's PID 1 (systemd), child of the running systemd-nspawn
  local launcher nspawn
  launcher=$(cat "$dir/run/$1.launcher.pid" 2>/dev/null) || return 1
  nspawn=$(pgrep -P "$launcher" -x systemd-nspawn | head -1) || return 1
  pgrep -P "$nspawn" | head -1
}

empty_kernel() {  # what a worker holds after a kernel boots: no rules, no sets, its link down
  local ns="${name}-$1"
  # the link first: a shutdown takes the network down before the kernel's tables go
  ip -n "$ns" link set eth0 down
  ip -n "$ns" addr flush dev eth0
  # shellcheck disable=SC2016  # expanded by the shell inside the namespace
  ip netns exec "$ns" sh -c 'for t in iptables ip6tables iptables-legacy ip6tables-legacy; do
      command -v $t >/dev/null || continue
      for tb in filter nat mangle raw; do $t -w -t $tb -F 2>/dev/null; $t -w -t $tb -X 2>/dev/null; done
      $t -w -P INPUT ACCEPT 2>/dev/null; done
    nft flush ruleset 2>/dev/null; ipset destroy 2>/dev/null; true'
}

launcher() {  # the worker's init loop: boot, and boot again while the container asks for a reboot
  local host=$1 root=$2
  for h in systemd unified; do
    mkdir -p "/sys/fs/cgroup/$h/clusterguard/$name-$host"
    echo $$ > "/sys/fs/cgroup/$h/clusterguard/$name-$host/cgroup.procs"
  done
  while true; do
    empty_kernel "$host"
    echo "boot $(date +%s.%N)" >> "$dir/run/$host.boots"
    rc=0
    systemd-nspawn -D "$root" -M "$name-$host" --boot --register=no --keep-unit \
      --network-namespace-path="/run/netns/$name-$host" --capability=CAP_NET_ADMIN \
      --console=passive --link-journal=no || rc=$?
    echo "exit $rc $(date +%s.%N)" >> "$dir/run/$host.boots"
    [[ $rc -eq 133 ]] || break
  done
}

up_host() {
  local host=$1 idx=$2 ns="${name}-$1" w="$dir/roots/$1"
  lab_link_up "$host"  # its addresses come from systemd-networkd inside, at each boot
  launcher_alive "$host" && return
  mkdir -p "$w/upper" "$w/work" "$w/root"
  mountpoint -q "$w/root" || mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$w/upper,workdir=$w/work" "$w/root"
  echo "$ns" > "$w/root/etc/hostname"
  tr -d '-' < /proc/sys/kernel/random/uuid > "$w/root/etc/machine-id"
  mkdir -p "$w/root/etc/systemd/network" "$w/root/root/.ssh"
  printf '[Match]\nName=eth0\n\n[Network]\nAddress=%s.%d/24\nAddress=%s%d/64\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n' \
    "$net" "$idx" "$v6" "$idx" > "$w/root/etc/systemd/network/10-eth0.network"
  cp "$dir/ssh/id_ed25519.pub" "$w/root/root/.ssh/authorized_keys"
  chmod 700 "$w/root/root/.ssh"; chmod 600 "$w/root/root/.ssh/authorized_keys"
  # the probes' listener: in the worker's network namespace, so the worker's tables judge it
  if ! pid_alive "$dir/run/$host.listener.pid" "$here/listener.py"; then
    ip netns exec "$ns" setsid "${LAB_PYTHON:-$repo/.venv/bin/python}" "$here/listener.py" 9001 9002 9023 9024 \
      >/dev/null 2>&1 < /dev/null &
    echo $! > "$dir/run/$host.listener.pid"
  fi
  setsid "$0" __launch "$host" "$w/root" > "$dir/run/$host.log" 2>&1 < /dev/null &
  echo $! > "$dir/run/$host.launcher.pid"
}

wait_ssh() {  # host address
  local i
  for i in $(seq 1 120); do
    if ip netns exec "${name}-out" timeout 1 bash -c "echo > /dev/tcp/$2/22" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "booted.sh: sshd of $1 does not answer; see $dir/run/$1.log" >&2
  exit 1
}

write_inventory() {
  # shellcheck disable=SC2119  # no vars beyond the shared ones
  lab_inventory_workers > "$dir/inventory.yml"
}

up() {
  need
  build_rootfs
  mkdir -p "$dir/run" "$dir/roots"
  key
  lab_bridge_up
  lab_link_up out  # the outsider: probes from here
  lab_address out 250
  local start=$SECONDS
  for i in $(seq 1 "$workers"); do up_host "w$i" $((10 + i)); done
  for i in $(seq 1 "$workers"); do wait_ssh "w$i" "$net.$((10 + i))"; done
  write_inventory
  echo "booted lab '$name': $workers workers booted ($net.11-$net.$((10 + workers))) in $((SECONDS - start)) s," \
    "outsider $net.250, inventory $dir/inventory.yml"
}

down() {
  for pidfile in "$dir"/run/*.launcher.pid; do
    [[ -f $pidfile ]] || continue
    local host pid
    host=$(basename "$pidfile" .launcher.pid)
    pid=$(pid1 "$host" || true)
    # the loop ends: no boot after this poweroff
    if launcher_alive "$host"; then kill "$(<"$pidfile")" 2>/dev/null || true; fi
    if [[ -n $pid ]]; then kill -s SIGRTMIN+4 "$pid" 2>/dev/null || true; fi  # systemd: orderly poweroff
    for _ in $(seq 1 100); do pgrep -f "systemd-nspawn -D $dir/roots/$host/root" >/dev/null || break; sleep 0.1; done
    pkill -9 -f "systemd-nspawn -D $dir/roots/$host/root" 2>/dev/null || true
    rm -f "$pidfile"
  done
  for pidfile in "$dir"/run/*.listener.pid; do
    pid_stop "$pidfile" "$here/listener.py"
  done
  for root in "$dir"/roots/*/root; do
    mountpoint -q "$root" 2>/dev/null && umount "$root"
  done
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-(w[0-9]+|out)$" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip link del "${name}h${ns#"${name}"-}" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  for h in systemd unified; do
    for cg in "/sys/fs/cgroup/$h/clusterguard/$name"-*; do
      if [[ -d $cg ]]; then rmdir "$cg" 2>/dev/null || true; fi
    done
    rmdir "/sys/fs/cgroup/$h/clusterguard" 2>/dev/null || true  # when no other lab uses it
  done
  rm -rf "$dir"
  echo "booted lab '$name' removed"
}

run_in() {  # worker command...
  local host=$1; shift
  local pid
  pid=$(pid1 "$host") || { echo "booted.sh: $host is not running" >&2; exit 1; }
  nsenter -t "$pid" -a "$@"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reboot) run_in "$2" systemctl reboot ;;
  run) host=$2; shift 2; run_in "$host" "$@" ;;
  status) for f in "$dir"/run/*.launcher.pid; do [[ -f $f ]] && echo "$(basename "$f" .launcher.pid): pid1 $(pid1 "$(basename "$f" .launcher.pid)" || echo -)"; done ;;
  __launch) launcher "$2" "$3" ;;
  *) echo "usage: booted.sh up|down|reboot W|run W CMD...|status" >&2; exit 2 ;;
esac
