# sshd: the sshd-config writer for both hosts; this host's keys, client files, start and check.
# shellcheck shell=bash

ssh_port() { recorded_port ssh; }

ensure_ssh_keys() {
  mkdir -p "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  [[ -f $SSH_DIR/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C sandbox-host -f "$SSH_DIR/ssh_host_ed25519_key"
  [[ -f $SSH_DIR/client_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C sandbox-client -f "$SSH_DIR/client_key"
  cp "$SSH_DIR/client_key.pub" "$SSH_DIR/authorized_keys"
}

write_ssh_client_files() { # port
  local port=$1
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" >"$SSH_DIR/known_hosts"
  cat >"$SSH_DIR/ssh_config" <<EOF
# ssh -F $SSH_DIR/ssh_config sandbox [CMD]
Host sandbox sbx-target
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $SSH_DIR/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $SSH_DIR/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
EOF
}

# The sshd config of a sandbox host (this machine, or the second host), written to
# SSH-DIR/sshd_config: listens on ADDRESS:PORT with the host key SSH-DIR/ssh_host_ed25519_key,
# lets root in with the sandbox's client key only ($SSH_DIR/authorized_keys, shared by both
# hosts), and SetEnv points every session at the engine on DOCKER-SOCK and at $DOCKER_CFG
# (the compose v2 plugin). NOTE, when given, is a comment line written above SetEnv.
write_sshd_config() { # ssh-dir address port pidfile docker-sock [note]
  local dir=$1 address=$2 port=$3 pidfile=$4 sock=$5 note=${6:-}
  {
    cat <<EOF
Port $port
ListenAddress $address
HostKey $dir/ssh_host_ed25519_key
PidFile $pidfile
AuthorizedKeysFile $SSH_DIR/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
    if [[ -n $note ]]; then printf '# %s\n' "$note"; fi
    cat <<EOF
SetEnv DOCKER_HOST=unix://$sock DOCKER_CONFIG=$DOCKER_CFG
AcceptEnv LANG LC_*
# Several "hosts" of a fleet test share one sshd: their handshakes arrive at once.
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel VERBOSE
EOF
  } >"$dir/sshd_config"
}

ssh_login_works() { # port
  ssh -F "$SSH_DIR/ssh_config" -o ConnectTimeout=3 -p "$1" sandbox true
}

start_sshd() {
  local state port pid config=$SSH_DIR/sshd_config
  ensure_ssh_keys
  state=$(daemon_state "$SSHD_PID" "$config")
  port=$(ssh_port || true)
  if [[ $state == running ]] && [[ -n $port ]]; then
    write_ssh_client_files "$port"
    step "sshd (pid $(<"$SSHD_PID"))"
    ssh_login_works "$port" || die "sshd (pid $(<"$SSHD_PID")) runs on port $port but login fails; see $LOGS/sshd.log, or run: sandbox.sh down && sandbox.sh up"
    ok "already running on 127.0.0.1:$port"
    return
  fi
  report_leftover_pidfile sshd "$state" "$SSHD_PID"
  rm -f "$SSHD_PID"
  port=$(choose_port ssh "$DEFAULT_SSH_PORT" SANDBOX_SSH_PORT)
  write_sshd_config "$SSH_DIR" 127.0.0.1 "$port" "$SSHD_PID" "$DOCKER_SOCK" \
    "Every session talks to the sandbox engine and finds the compose v2 plugin."
  mkdir -p /run/sshd # privilege separation dir; outside $SBX, left in place (recipe P11)
  /usr/sbin/sshd -t -f "$config" || die "sshd rejects $config (see above)"
  write_ssh_client_files "$port"
  record_port ssh "$port"
  step "starting sshd on 127.0.0.1:$port"
  setsid /usr/sbin/sshd -D -f "$config" -E "$LOGS/sshd.log" </dev/null >/dev/null 2>&1 9>&- &
  pid=$!
  if ! wait_until 20 ssh_login_works "$port"; then
    tail -n 20 "$LOGS/sshd.log" >&2 || true
    die "no ssh login on 127.0.0.1:$port within 20 s; log: $LOGS/sshd.log"
  fi
  [[ -s $SSHD_PID ]] || echo "$pid" >"$SSHD_PID"
  ok "pid $(<"$SSHD_PID")"
}

check_ssh_session() {
  local out
  step "checking an ssh session reaches the sandbox engine"
  out=$(ssh -F "$SSH_DIR/ssh_config" sandbox 'docker info --format "{{.DockerRootDir}}" && docker compose version --short && docker-compose version --short') ||
    die "ssh session could not run docker; see $LOGS/sshd.log"
  [[ $(head -n1 <<<"$out") == "$DOCKER_DATA" ]] || die "ssh session talks to another engine: $out"
  ok "compose $(sed -n 2p <<<"$out") and $(sed -n 3p <<<"$out")"
}

# The sessions the listener forked (one monitor per connection, and its privilege-separated
# child), found by walking the process tree from the listener: only ours, never by name.
sshd_session_pids() { # listener-pid
  local -A children=()
  local stat pid ppid queue=("$1") next
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}; pid=${pid%/stat}
    ppid=$(proc_stat_field "$pid" 2) || continue
    children[$ppid]+=" $pid"
  done
  while ((${#queue[@]})); do
    next=${queue[0]}; queue=("${queue[@]:1}")
    for pid in ${children[$next]:-}; do
      [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sshd* ]] || continue
      echo "$pid"
      queue+=("$pid")
    done
  done
}

# Stops the listener and drops every live session at once (SIGKILL, as a cut network would:
# the clients see their connections close, the commands they ran lose their pipes).
stop_sshd_and_sessions() {
  local listener sessions=()
  if pid_alive_and_ours "$SSHD_PID" "$SSH_DIR/sshd_config"; then
    listener=$(<"$SSHD_PID")
    mapfile -t sessions < <(sshd_session_pids "$listener")
  fi
  stop_daemon sshd "$SSHD_PID" "$SSH_DIR/sshd_config" 10
  if ((${#sessions[@]})); then
    step "dropping ${#sessions[@]} live sshd session process(es)"
    kill -KILL "${sessions[@]}" 2>/dev/null || true
    ok
  fi
}
