# The optional second target host ("t2"): its network namespace, registry, dockerd and sshd.
# shellcheck shell=bash
#
# Sourced by sandbox.sh; started by `sandbox.sh up --second-host`. It is a network namespace joined to this machine by a veth
# pair, with its own sshd (port 22 on its own address) and its own dockerd; a second
# registry process on the host end of the veth serves the same storage, so the same
# digests resolve there. Described in $SBX/target-t2.json, in target.json's shape.
# (Recipe: SANDBOX-RECIPE.md section 8.)

T2=$SBX/t2
# Names and the subnet derive from the sandbox folder, so two sandboxes never collide.
T2_ID=$(printf '%s' "$SBX" | sha256sum | cut -c1-6)
T2_NETNS=awareness-t2-$T2_ID
T2_VETH_HOST=awt2${T2_ID}h # interface names: at most 15 characters
T2_VETH_NS=awt2${T2_ID}n
T2_OCTET=$((16#${T2_ID:0:2} % 200 + 20))
T2_HOST_ADDR=10.203.$T2_OCTET.1 # this machine's end of the veth
T2_ADDR=10.203.$T2_OCTET.2      # the second host
T2_DOCKER_SOCK=$T2/docker.sock
T2_DOCKERD_PID=$T2/dockerd.pid
T2_DOCKERD_CONFIG=$T2/daemon.json
T2_DATA=$T2/docker
T2_EXEC=$T2/exec
T2_REGISTRY_CONFIG=$T2/registry.yml
T2_REGISTRY_PID=$T2/registry.pid
T2_LO_REGISTRY_CONFIG=$T2/registry-lo.yml
T2_LO_REGISTRY_PID=$T2/registry-lo.pid
T2_SSH_DIR=$T2/ssh
T2_SSHD_PID=$T2_SSH_DIR/sshd.pid
T2_APP_DIR=$T2/host/opt/awareness
T2_TARGET_JSON=$SBX/target-t2.json

second_host_present() {
  [[ -e /run/netns/$T2_NETNS || -e $T2_DOCKERD_PID || -e $T2_SSHD_PID || -e $T2_REGISTRY_PID || -e $T2_LO_REGISTRY_PID ]]
}

t2_daemons_running() {
  [[ $(daemon_state "$T2_DOCKERD_PID" "$T2_DOCKERD_CONFIG") == running ||
    $(daemon_state "$T2_SSHD_PID" "$T2_SSH_DIR/sshd_config") == running ]]
}

t2_network_ok() {
  [[ -e /run/netns/$T2_NETNS ]] &&
    ip -br addr show dev "$T2_VETH_HOST" 2>/dev/null | grep -qF "$T2_HOST_ADDR/24" &&
    ip -n "$T2_NETNS" -br addr show dev "$T2_VETH_NS" 2>/dev/null | grep -qF "$T2_ADDR/24"
}

ensure_t2_network() {
  step "second host: network namespace $T2_NETNS ($T2_ADDR)"
  if t2_network_ok; then
    ok "present"
    return
  fi
  if [[ -e /run/netns/$T2_NETNS ]]; then
    t2_daemons_running && die "namespace $T2_NETNS is half set up while its daemons run; run: sandbox.sh down && sandbox.sh up --second-host"
    ip netns del "$T2_NETNS"
  fi
  ip link del "$T2_VETH_HOST" 2>/dev/null || true
  if ip -br addr | grep -qF " $T2_HOST_ADDR/"; then
    die "address $T2_HOST_ADDR is already used by another interface ($(ip -br addr | grep -F " $T2_HOST_ADDR/" | cut -d' ' -f1)); remove it, or use another SANDBOX_DIR"
  fi
  ip netns add "$T2_NETNS"
  ip link add "$T2_VETH_HOST" type veth peer name "$T2_VETH_NS"
  ip link set "$T2_VETH_NS" netns "$T2_NETNS"
  ip addr add "$T2_HOST_ADDR/24" dev "$T2_VETH_HOST"
  ip link set "$T2_VETH_HOST" up
  ip -n "$T2_NETNS" addr add "$T2_ADDR/24" dev "$T2_VETH_NS"
  ip -n "$T2_NETNS" link set "$T2_VETH_NS" up
  ip -n "$T2_NETNS" link set lo up
  ok "created"
}

start_t2_registry() {
  local state port pid
  state=$(daemon_state "$T2_REGISTRY_PID" "$T2_REGISTRY_CONFIG")
  port=$(recorded_port registry-t2 || true)
  if [[ $state == running && -n $port ]] && curl -sf --max-time 2 "http://$T2_HOST_ADDR:$port/v2/" >/dev/null; then
    step "second host: registry (pid $(<"$T2_REGISTRY_PID"))"
    ok "already running on $T2_HOST_ADDR:$port"
    return
  fi
  [[ $state == running ]] && stop_daemon registry-t2 "$T2_REGISTRY_PID" "$T2_REGISTRY_CONFIG" 5
  report_leftover_pidfile registry-t2 "$state" "$T2_REGISTRY_PID"
  rm -f "$T2_REGISTRY_PID"
  port=$(choose_port registry-t2 18099 SANDBOX_T2_REGISTRY_PORT)
  mkdir -p "$T2"
  # Same storage as the main registry, so the same digests resolve under this address.
  cat >"$T2_REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  fields: {service: registry-t2}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: $REGISTRY_DIR/data}
http:
  addr: $T2_HOST_ADDR:$port
  headers: {X-Content-Type-Options: [nosniff]}
EOF
  step "second host: starting registry on $T2_HOST_ADDR:$port"
  setsid docker-registry serve "$T2_REGISTRY_CONFIG" </dev/null >>"$LOGS/registry-t2.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$T2_REGISTRY_PID"
  record_port registry-t2 "$port"
  wait_until 20 curl -sf --max-time 2 "http://$T2_HOST_ADDR:$port/v2/" ||
    die "registry-t2 did not answer on $T2_HOST_ADDR:$port; log: $LOGS/registry-t2.log"
  ok "pid $pid"
}

# The same storage again on the namespace's own 127.0.0.1, on the main registry's port: the
# release image refs (127.0.0.1:<port>/...@sha256:...) then resolve on both hosts, so one stack
# can name both hosts with one set of images (the multi-host tests).
t2_lo_registry_answers() { nsenter --net="/run/netns/$T2_NETNS" curl -sf --max-time 2 "http://127.0.0.1:$1/v2/" >/dev/null; }

start_t2_loopback_registry() {
  local state port pid
  port=$(registry_port) || die "the main registry has no recorded port"
  state=$(daemon_state "$T2_LO_REGISTRY_PID" "$T2_LO_REGISTRY_CONFIG")
  if [[ $state == running ]] && t2_lo_registry_answers "$port"; then
    step "second host: loopback registry (pid $(<"$T2_LO_REGISTRY_PID"))"
    ok "already running on 127.0.0.1:$port in $T2_NETNS"
    return
  fi
  [[ $state == running ]] && stop_daemon registry-t2-lo "$T2_LO_REGISTRY_PID" "$T2_LO_REGISTRY_CONFIG" 5
  report_leftover_pidfile registry-t2-lo "$state" "$T2_LO_REGISTRY_PID"
  rm -f "$T2_LO_REGISTRY_PID"
  cat >"$T2_LO_REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  fields: {service: registry-t2-lo}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: $REGISTRY_DIR/data}
http:
  addr: 127.0.0.1:$port
  headers: {X-Content-Type-Options: [nosniff]}
EOF
  step "second host: starting a loopback registry on 127.0.0.1:$port in $T2_NETNS"
  nsenter --net="/run/netns/$T2_NETNS" setsid docker-registry serve "$T2_LO_REGISTRY_CONFIG" </dev/null >>"$LOGS/registry-t2-lo.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$T2_LO_REGISTRY_PID"
  wait_until 20 t2_lo_registry_answers "$port" ||
    die "registry-t2-lo did not answer on 127.0.0.1:$port in $T2_NETNS; log: $LOGS/registry-t2-lo.log"
  ok "pid $pid"
}

start_t2_dockerd() {
  local state
  state=$(daemon_state "$T2_DOCKERD_PID" "$T2_DOCKERD_CONFIG")
  if [[ $state == running ]]; then
    step "second host: dockerd (pid $(<"$T2_DOCKERD_PID"))"
    wait_until 30 dockerd_answers "$T2_DOCKER_SOCK" || die "dockerd-t2 does not answer; run: sandbox.sh down && sandbox.sh up --second-host"
    ok "already running"
    return
  fi
  report_leftover_pidfile dockerd-t2 "$state" "$T2_DOCKERD_PID"
  rm -f "$T2_DOCKERD_PID" "$T2_DOCKER_SOCK"
  stop_orphaned_containerd "$T2_EXEC"
  unmount_leftovers "$T2_DATA" "$T2_EXEC"
  mkdir -p "$T2_DATA" "$T2_EXEC"
  [[ -f $T2_DOCKERD_CONFIG ]] || echo '{}' >"$T2_DOCKERD_CONFIG"
  step "second host: starting dockerd"
  # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts (P4).
  nsenter --net="/run/netns/$T2_NETNS" setsid dockerd --config-file "$T2_DOCKERD_CONFIG" \
    --storage-driver=overlay2 --iptables=false --ip-masq=false --bridge=none \
    --data-root "$T2_DATA" --exec-root "$T2_EXEC" \
    --pidfile "$T2_DOCKERD_PID" -H "unix://$T2_DOCKER_SOCK" \
    --insecure-registry "10.203.$T2_OCTET.0/24" \
    </dev/null >>"$LOGS/dockerd-t2.log" 2>&1 9>&- &
  if ! wait_until 60 dockerd_answers "$T2_DOCKER_SOCK"; then
    tail -n 20 "$LOGS/dockerd-t2.log" >&2 || true
    die "dockerd-t2 did not answer within 60 s; log: $LOGS/dockerd-t2.log"
  fi
  ok "pid $(<"$T2_DOCKERD_PID")"
}

start_t2_sshd() {
  local state config=$T2_SSH_DIR/sshd_config
  mkdir -p "$T2_SSH_DIR"
  chmod 700 "$T2_SSH_DIR"
  [[ -f $T2_SSH_DIR/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C sandbox-t2-host -f "$T2_SSH_DIR/ssh_host_ed25519_key"
  printf '%s %s\n' "$T2_ADDR" "$(cut -d' ' -f1,2 "$T2_SSH_DIR/ssh_host_ed25519_key.pub")" >"$T2_SSH_DIR/known_hosts"
  state=$(daemon_state "$T2_SSHD_PID" "$config")
  if [[ $state == running ]]; then
    step "second host: sshd (pid $(<"$T2_SSHD_PID"))"
    ok "already running on $T2_ADDR:22"
    return
  fi
  report_leftover_pidfile sshd-t2 "$state" "$T2_SSHD_PID"
  rm -f "$T2_SSHD_PID"
  write_sshd_config "$T2_SSH_DIR" "$T2_ADDR" 22 "$T2_SSHD_PID" "$T2_DOCKER_SOCK"
  /usr/sbin/sshd -t -f "$config" || die "sshd rejects $config (see above)"
  step "second host: starting sshd on $T2_ADDR:22"
  ip netns exec "$T2_NETNS" setsid /usr/sbin/sshd -D -f "$config" -E "$LOGS/sshd-t2.log" </dev/null >/dev/null 2>&1 9>&- &
  wait_until 20 t2_ssh true || die "no ssh login on $T2_ADDR:22 within 20 s; log: $LOGS/sshd-t2.log"
  ok "pid $(<"$T2_SSHD_PID")"
}

t2_ssh() {
  ssh -i "$SSH_DIR/client_key" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=3 \
    -o UserKnownHostsFile="$T2_SSH_DIR/known_hosts" -o StrictHostKeyChecking=yes -o LogLevel=ERROR \
    "root@$T2_ADDR" "$@"
}

write_t2_target_description() {
  local registry
  registry=$T2_HOST_ADDR:$(recorded_port registry-t2)
  step "second host: writing $T2_TARGET_JSON"
  mkdir -p "$T2_APP_DIR"
  # target.json's shape, re-pointed at the second host; image refs keep their digests.
  jq --arg addr "$T2_ADDR" --arg known "$T2_SSH_DIR/known_hosts" \
    --arg hostKey "$(cut -d' ' -f1,2 "$T2_SSH_DIR/ssh_host_ed25519_key.pub")" \
    --arg dockerHost "unix://$T2_DOCKER_SOCK" --arg registry "$registry" --arg appDir "$T2_APP_DIR" '
      def moved: sub("^[^/]+/"; $registry + "/");
      .ssh.host = $addr | .ssh.port = 22 | .ssh.hostPublicKey = $hostKey | .ssh.knownHostsPath = $known
      | .dockerHost = $dockerHost | .registry = $registry | .appDir = $appDir
      | .app.baseUrl = "http://\($addr):\(.app.ports.backend)"
      | .releases |= map_values(map_values(moved)) | .tags |= map_values(map_values(moved))
    ' "$TARGET_JSON" >"$T2_TARGET_JSON.tmp"
  mv -f "$T2_TARGET_JSON.tmp" "$T2_TARGET_JSON"
  ok
}

check_t2_session() {
  local root
  step "second host: checking an ssh session reaches its engine"
  root=$(t2_ssh 'docker info --format "{{.DockerRootDir}}"') || die "ssh to $T2_ADDR could not run docker"
  [[ $root == "$T2_DATA" ]] || die "ssh session on $T2_ADDR talks to another engine ($root)"
  ok
}

start_second_host() {
  command -v nsenter >/dev/null || die "missing Debian package: util-linux. Install it with: apt-get install -y util-linux"
  command -v ip >/dev/null || die "missing Debian package: iproute2. Install it with: apt-get install -y iproute2"
  ensure_t2_network
  start_t2_registry
  start_t2_loopback_registry
  start_t2_dockerd
  start_t2_sshd
  write_t2_target_description
  check_t2_session
}

stop_second_host() {
  second_host_present || return 0
  if [[ $(daemon_state "$T2_DOCKERD_PID" "$T2_DOCKERD_CONFIG") == running ]]; then
    stop_compose_projects "$T2_DOCKER_SOCK"
  fi
  stop_daemon sshd-t2 "$T2_SSHD_PID" "$T2_SSH_DIR/sshd_config" 10
  stop_daemon dockerd-t2 "$T2_DOCKERD_PID" "$T2_DOCKERD_CONFIG" 30
  stop_daemon registry-t2 "$T2_REGISTRY_PID" "$T2_REGISTRY_CONFIG" 10
  stop_daemon registry-t2-lo "$T2_LO_REGISTRY_PID" "$T2_LO_REGISTRY_CONFIG" 10
  stop_orphaned_containerd "$T2_EXEC"
  unmount_leftovers "$T2"
  rm -f "$T2_DOCKER_SOCK"
  if [[ -e /run/netns/$T2_NETNS ]]; then
    step "second host: removing network namespace $T2_NETNS"
    ip netns del "$T2_NETNS" # takes the veth pair with it
    ok
  fi
  ip link del "$T2_VETH_HOST" 2>/dev/null || true
}

# Status records for the second host, only when it exists.
collect_second_host_status() {
  local state port
  second_host_present || return 0
  if t2_network_ok; then state=present; else state=missing; fi
  jq -nc --arg s "$state" --arg e "$T2_NETNS $T2_ADDR" '{name: "t2-netns", state: $s, pid: null, endpoint: $e}'
  state=$(daemon_state "$T2_DOCKERD_PID" "$T2_DOCKERD_CONFIG")
  jq -nc --arg s "$state" --arg p "$(pid_of "$T2_DOCKERD_PID")" --arg e "unix://$T2_DOCKER_SOCK" \
    '{name: "t2-dockerd", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'
  port=$(recorded_port registry-t2 || true)
  state=$(daemon_state "$T2_REGISTRY_PID" "$T2_REGISTRY_CONFIG")
  jq -nc --arg s "$state" --arg p "$(pid_of "$T2_REGISTRY_PID")" --arg e "$T2_HOST_ADDR:${port:-?}" \
    '{name: "t2-registry", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'
  state=$(daemon_state "$T2_LO_REGISTRY_PID" "$T2_LO_REGISTRY_CONFIG")
  jq -nc --arg s "$state" --arg p "$(pid_of "$T2_LO_REGISTRY_PID")" --arg e "127.0.0.1:$(registry_port || echo '?') in $T2_NETNS" \
    '{name: "t2-registry-lo", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'
  state=$(daemon_state "$T2_SSHD_PID" "$T2_SSH_DIR/sshd_config")
  jq -nc --arg s "$state" --arg p "$(pid_of "$T2_SSHD_PID")" --arg e "$T2_ADDR:22" \
    '{name: "t2-sshd", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'
}
