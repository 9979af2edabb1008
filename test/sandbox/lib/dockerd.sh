# The sandbox's own dockerd: start it, ping it, clear what a crashed one left behind.
# shellcheck shell=bash

dockerd_answers() { # [socket]
  curl -sf --max-time 2 --unix-socket "${1:-$DOCKER_SOCK}" http://docker/_ping >/dev/null
}

start_dockerd() {
  local state pid
  state=$(daemon_state "$DOCKERD_PID" "$DOCKERD_CONFIG")
  if [[ $state == running ]]; then
    step "dockerd (pid $(<"$DOCKERD_PID"))"
    wait_until 30 dockerd_answers || die "dockerd (pid $(<"$DOCKERD_PID")) runs but does not answer on $DOCKER_SOCK; see $LOGS/dockerd.log, or run: sandbox.sh down && sandbox.sh up"
    ok "already running"
    return
  fi
  report_leftover_pidfile dockerd "$state" "$DOCKERD_PID"
  rm -f "$DOCKERD_PID" "$DOCKER_SOCK"
  stop_orphaned_containerd "$DOCKER_EXEC"
  unmount_leftovers "$DOCKER_DATA" "$DOCKER_EXEC"
  mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC" "$LOGS" "$DOCKER_CFG"
  # An empty config file of our own, so /etc/docker/daemon.json can never leak in.
  [[ -f $DOCKERD_CONFIG ]] || echo '{}' >"$DOCKERD_CONFIG"
  step "starting dockerd"
  # 9>&- : the daemons must not inherit the sandbox lock.
  setsid dockerd --config-file "$DOCKERD_CONFIG" \
    --storage-driver=overlay2 --iptables=false --ip-masq=false --bridge=none \
    --data-root "$DOCKER_DATA" --exec-root "$DOCKER_EXEC" \
    --pidfile "$DOCKERD_PID" -H "unix://$DOCKER_SOCK" \
    </dev/null >>"$LOGS/dockerd.log" 2>&1 9>&- &
  pid=$!
  if ! wait_until 60 dockerd_answers; then
    tail -n 20 "$LOGS/dockerd.log" >&2 || true
    kill -TERM "$pid" 2>/dev/null || true
    die "dockerd did not answer within 60 s; log: $LOGS/dockerd.log"
  fi
  [[ -s $DOCKERD_PID ]] || echo "$pid" >"$DOCKERD_PID"
  ok "pid $(<"$DOCKERD_PID")"
}

# After a crash of dockerd (SIGKILL), its containerd and the container shims outlive it,
# and the containers keep serving. They are recognised by our exec root in their command
# line: the sandbox started them. A container's init is the shim's child; killing it ends
# the container's whole PID namespace, so a restarted dockerd starts from a clean slate.
stop_orphaned_containerd() { # exec-root
  local exec_root=$1 pid cmd child
  local pidfile=$exec_root/containerd/containerd.pid
  local shim_marker="-address $exec_root/containerd/containerd.sock"
  for cmd in /proc/[0-9]*/cmdline; do
    pid=${cmd#/proc/}; pid=${pid%/cmdline}
    tr '\0' ' ' 2>/dev/null <"$cmd" | grep -q -- "^[^ ]*containerd-shim[^ ]* .*$shim_marker" || continue
    note "stopping a container shim left by a dead dockerd (pid $pid) and its container"
    for child in /proc/[0-9]*; do
      child=${child#/proc/}
      if [[ $(proc_stat_field "$child" 2) == "$pid" ]]; then kill -KILL "$child" 2>/dev/null || true; fi
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  done
  if pid_alive_and_ours "$pidfile" "$exec_root/containerd"; then
    note "stopping containerd left by a dead dockerd (pid $(<"$pidfile"))"
    kill -TERM "$(<"$pidfile")" 2>/dev/null || true
    wait_gone "$(<"$pidfile")" 10 || kill -KILL "$(<"$pidfile")" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- mounts

# dockerd can leave its netns and data-root bind mounts behind (SANDBOX-RECIPE P5).
unmount_leftovers() { # [folder...] (default: all of $SBX)
  local target root
  (($#)) || set -- "$SBX"
  for root in "$@"; do
    findmnt -rn -o TARGET | awk -v root="$root/" 'index($0, root) == 1'
  done | sort -ru |
    while read -r target; do
      umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null ||
        note "could not unmount $target"
    done
}
