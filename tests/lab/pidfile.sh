# shellcheck shell=bash
# Pid files of the lab's daemons, sourced by workers.sh, booted.sh, controlplane.sh and engine.sh.
# This machine's pid_max is 32768 and make test starts hundreds of processes a second, so the pid
# of a daemon that died (a test kills a worker's sshd and listener) comes round within minutes.
# A pid file is believed only while the process under that pid has the command line the caller
# names: a path or a script that only that daemon's command line holds.

pid_alive() {  # pidfile word: the pid file's process runs and its command line holds word
  local pid cmdline stat state ppid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline") || return 1
  [[ $cmdline == *"$2"* ]] && return 0
  # A child this script has just started still shows the script's own command line until it has run
  # exec, which on a loaded machine can take a while: it counts as running, unless it is a zombie.
  read -r stat 2>/dev/null < "/proc/$pid/stat" || return 1
  read -r state ppid _ <<<"${stat##*) }"  # after the command name: state, parent pid, ...
  [[ $state != Z && $ppid == "$$" ]]
}

pid_stop() {  # pidfile word: SIGTERM to the pid file's process when pid_alive, then the file goes
  if pid_alive "$1" "$2"; then kill "$(<"$1")" 2>/dev/null || true; fi
  rm -f "$1"
}
