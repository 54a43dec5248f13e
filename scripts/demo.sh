#!/usr/bin/env bash
# The main job on the built-in lab: before and after tables from real TCP probes
# around playbooks/site.yml. `make demo` brings the lab up first; safe to re-run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$repo/.collections" ANSIBLE_CONFIG="$repo/tests/lab/ansible.cfg"
inventory=inventories/lab/hosts.yml
kubeconfig=.lab/cgpx/kubeconfig
reach() { python tests/lab/reachability.py "$inventory" --ipv6 --ports 8999,9000,9001,9011,9022,9023,9024 "$@"; }
say() { echo; echo ">> $*"; }

say "the lab's Portworx, as its StorageCluster says (inventories/lab/group_vars: portworx_source: storagecluster)"
python tests/lab/storagecluster.py "$kubeconfig" up

say "user namespaces team-a and team-b on the lab cluster"
python tests/lab/show_policies.py "$kubeconfig" --ensure-namespaces team-a,team-b

say "resetting the lab to its state before the lockdown (site.yml with state absent)"
ansible-playbook playbooks/site.yml -e host_firewall_state=absent -e network_policy_state=absent >/dev/null

say "BEFORE: the outsider ($(awk '/outsiders:/{f=1} f&&/ansible_host/{print $2; exit}' "$inventory")) reaches the Portworx ports of every worker"
reach --title "BEFORE  (BLOCKED = dropped by the host firewall, REJECTED = rejected by kube-router)"

say "running: ansible-playbook playbooks/site.yml"
start=$SECONDS
ansible-playbook playbooks/site.yml
echo "site.yml took $((SECONDS - start))s"

say "AFTER: only loopback and the other workers reach 9001-9023 (9023: the TLS REST API); 8999, 9000 and 9024 are untouched."
echo "   The pod row is kube-router enforcing the NetworkPolicies on real packets."
reach --title "AFTER  (BLOCKED = dropped by the host firewall, REJECTED = rejected by kube-router)" --expect-guarded 9001-9023

say "policies now on the lab cluster (network_policy_scope: both, from inventories/lab/group_vars)"
python tests/lab/show_policies.py "$kubeconfig"

late="team-late-$(date +%H%M%S)"
say "a namespace created AFTER the run ($late): the ClusterNetworkPolicy covers it without a re-run."
echo "   What the policies decide, read from the API server and judged tier by tier (Admin tier, then"
echo "   NetworkPolicy) by the tests' evaluator. kube-router does not implement ClusterNetworkPolicy,"
echo "   so these rows are the API's meaning, not packets:"
python tests/lab/show_policies.py "$kubeconfig" --ensure-namespaces "$late"
python tests/lab/policy_table.py "$kubeconfig" team-a "$late"

say "a second run changes nothing on the workers (on the cluster it gives the namespace created after the"
echo "   first run its NetworkPolicies too: network_policy_scope both, all namespaces):"
ansible-playbook playbooks/site.yml | grep -E '^(cgpx|localhost)'

say "the evidence: the verify report that the last play of site.yml wrote (clusterguard-verify/report.md;"
echo "   report.json and junit.xml beside it)"
cat clusterguard-verify/report.md

say "the same report as a page, with the reachability matrix (self-contained, opens offline in any browser):"
echo "   file://$PWD/clusterguard-verify/report.html"

echo
echo "Tear the lab down with: make lab-down"
