# shellcheck shell=bash disable=SC2154  # name, net, v6, bridge, dir, workers, script: set by the caller
# What workers.sh and booted.sh share, sourced by both: the lab's bridge (refused when another
# lab holds its subnets), a namespace's link on it, and the workers part of the inventory.
# The caller sets name, net, v6, bridge, dir and workers; `script` names it in messages.

# Two labs on one subnet would answer each other's probes: a check that a port is
# closed on one lab's worker could be answered open by the other lab's worker.
lab_clash() {
  local other
  other=$(ip -o addr show to "$net.1/24" | awk -v b="$bridge" '$2 != b {print $2}' | head -1)
  [[ -z $other ]] && other=$(ip -o -6 addr show to "${v6}1/64" | awk -v b="$bridge" '$2 != b {print $2}' | head -1)
  [[ -z $other ]] && return 0
  echo "$script: LAB_NET '$net' (subnets $net.0/24, ${v6}/64) is already used by link $other;" \
    "give this lab another third octet" >&2
  exit 2
}

lab_bridge_up() {
  lab_clash
  ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
  ip addr replace "$net.1/24" dev "$bridge"
  ip -6 addr replace "${v6}1/64" dev "$bridge" nodad
  ip link set "$bridge" up
}

# The namespace of lab host $1 (w1, out, ...) with its eth0 on the bridge; addresses are the caller's.
lab_link_up() {
  local ns="${name}-$1" veth="${name}h$1"
  ip netns list | grep -qw "^$ns" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$bridge" up
  fi
  ip -n "$ns" link set lo up
}

# Lab host $1 at index $2 on the lab's subnets, its link up.
lab_address() {
  local ns="${name}-$1"
  ip -n "$ns" link set eth0 up
  ip -n "$ns" addr replace "$net.$2/24" dev eth0
  ip -n "$ns" -6 addr replace "${v6}$2/64" dev eth0 nodad
}

# The inventory from its first line to the last worker; $@ are more lines of all.vars.
lab_inventory_workers() {
  local line i
  echo "# Written by tests/lab/$script for lab '$name'; rewritten on every 'up'."
  echo "all:"
  echo "  vars:"
  echo "    ansible_user: root"
  echo "    ansible_python_interpreter: /usr/bin/python3"
  echo "    ansible_ssh_private_key_file: $dir/ssh/id_ed25519"
  echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
  echo "    clusterguard_lab_name: $name"
  for line in "$@"; do echo "    $line"; done
  echo "  children:"
  echo "    workers:"
  echo "      hosts:"
  for i in $(seq 1 "$workers"); do
    echo "        ${name}-w$i:"
    echo "          ansible_host: $net.$((10 + i))"
    echo "          node_ipv6: \"${v6}$((10 + i))\""
    echo "          lab_netns: ${name}-w$i"
  done
}
