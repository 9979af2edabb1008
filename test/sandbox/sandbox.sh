#!/usr/bin/env bash
# The sandbox: a real local deployment target on this machine.
#
#   sandbox.sh up [--second-host]
#                            start dockerd, registry and sshd, build compose v2 and the demo
#                            images, write .sandbox/target.json (idempotent); --second-host
#                            (or SANDBOX_SECOND_HOST=1) also starts a second host in a network
#                            namespace, described in .sandbox/target-t2.json
#   sandbox.sh down          stop the compose projects and the daemons it started (keeps
#                            images and caches, so the next `up` is warm)
#   sandbox.sh status [--json]
#                            each part running/dead/stale; exit 1 if anything is down
#   sandbox.sh ssh [CMD...]  a shell (or CMD) on the sandbox host
#
# All state lives under $SANDBOX_DIR (default: <repo>/.sandbox). Every daemon is stopped
# by the PID recorded when the sandbox started it, never by name. See README.md here.
# shellcheck source-path=SCRIPTDIR # the libraries in lib/, wherever shellcheck runs from
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
SBX=${SANDBOX_DIR:-$REPO/.sandbox}
mkdir -p "$SBX"
SBX=$(cd "$SBX" && pwd)

readonly COMPOSE_V2_VERSION=v2.40.3
readonly DEFAULT_REGISTRY_PORT=5000
readonly DEFAULT_SSH_PORT=2302
readonly BACKEND_PORT=18080
readonly FRONTEND_PORT=18081
readonly RELEASES=(v1 v2 v3 v4 v5)
# What each release does wrong (see app/backend/api.sh).
declare -A BEHAVIOUR_OF=([v1]=healthy [v2]=broken-auth [v3]=flaky [v4]=slow [v5]=crash)

# Layout under $SBX.
LOGS=$SBX/logs
DOCKER_SOCK=$SBX/docker.sock
DOCKERD_PID=$SBX/dockerd.pid
DOCKERD_CONFIG=$SBX/daemon.json
DOCKER_DATA=$SBX/docker
DOCKER_EXEC=$SBX/exec
DOCKER_CFG=$SBX/dockercfg
COMPOSE_PLUGIN=$DOCKER_CFG/cli-plugins/docker-compose
REGISTRY_DIR=$SBX/registry
REGISTRY_PID=$REGISTRY_DIR/registry.pid
SSH_DIR=$SBX/ssh
SSHD_PID=$SSH_DIR/sshd.pid
PORTS_FILE=$SBX/ports.env
APP_DIR=$SBX/host/opt/awareness
TARGET_JSON=$SBX/target.json
LOCK_FILE=$SBX/.lock

export DOCKER_HOST=unix://$DOCKER_SOCK
export DOCKER_CONFIG=$DOCKER_CFG
# The classic builder: BuildKit needs buildx (absent) or a bridge network (we have none).
export DOCKER_BUILDKIT=0
export DOCKER_CLI_HINTS=false

# ---------------------------------------------------------------- output helpers

STEP_STARTED=$EPOCHREALTIME
STEP_OPEN=false
step() { # message: prints "sandbox: <message> ... "; ok (or die) closes the line
  STEP_STARTED=$EPOCHREALTIME
  STEP_OPEN=true
  printf 'sandbox: %s ... ' "$*" >&2
}
elapsed() { awk -v a="$STEP_STARTED" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
ok() {
  printf 'ok%s (%s s)\n' "${1:+, $1}" "$(elapsed)" >&2
  STEP_OPEN=false
}
note() { printf 'sandbox: %s\n' "$*" >&2; }
die() {
  if $STEP_OPEN; then printf 'FAILED\n' >&2; fi
  printf 'sandbox: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- prerequisites

require_packages() {
  local missing=() cmd
  # command -> Debian package that provides it
  local -A needs=(
    [dockerd]=docker.io [containerd]=containerd [docker-registry]=docker-registry
    [docker-compose]=docker-compose [/usr/sbin/sshd]=openssh-server [ssh]=openssh-client
    [ssh-keygen]=openssh-client [curl]=curl [jq]=jq [ss]=iproute2 [findmnt]=util-linux
    [flock]=util-linux [docker]=docker.io
  )
  for cmd in "${!needs[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
  done
  # The base image needs a statically linked busybox; the dynamic `busybox` package won't do.
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    missing+=(busybox-static)
  fi
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    die "missing Debian package(s): ${missing[*]}. Install them with: apt-get update && apt-get install -y ${missing[*]}"
  fi
}

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "compose v2 must be built from source and 'go' (>= 1.24) is not on PATH. Install Go from https://go.dev/dl/ (or apt-get install -y golang-1.24-go if your release has it), then rerun."
}

# ---------------------------------------------------------------- processes

# Field N of /proc/PID/stat counted after the command name, which may contain spaces:
# 1 = state, 2 = parent pid.
proc_stat_field() { # pid n
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  awk -v n="$2" '{ print $n }' <<<"$stat"
}

process_alive() { # pid: exists and is not a zombie
  local state
  state=$(proc_stat_field "$1" 1) || return 1
  [[ -n $state && $state != Z ]]
}

# The process recorded in PIDFILE is alive (not a zombie) and its command line contains
# MARKER (a path under $SBX), so a recycled PID is never taken for ours.
pid_alive_and_ours() { # pidfile marker
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && process_alive "$pid" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# running | dead (pidfile left, process gone) | stale (pidfile names a live process that is
# not ours: a recycled PID) | stopped (no pidfile)
daemon_state() { # pidfile marker
  local pid
  if pid_alive_and_ours "$1" "$2"; then echo running
  elif [[ -e $1 ]]; then
    pid=$(<"$1")
    if [[ $pid =~ ^[0-9]+$ ]] && process_alive "$pid"; then
      echo stale
    else
      echo dead
    fi
  else echo stopped
  fi
}

report_leftover_pidfile() { # name state pidfile
  case $2 in
    dead) note "$1: died earlier (pid $(<"$3") is gone); removing its pidfile and starting it again" ;;
    stale) note "$1: pidfile $3 names pid $(<"$3"), a process that is not ours; ignoring it and starting a new $1" ;;
  esac
  return 0
}

pid_of() { [[ -s $1 ]] && cat "$1" || echo null; }

wait_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    process_alive "$1" || return 0 # a zombie has exited; whoever adopted it reaps it later
    sleep 0.1
  done
  return 1
}

# SIGTERM the recorded process if it is ours, wait, SIGKILL as a last resort.
stop_daemon() { # name pidfile marker grace-seconds
  local name=$1 pidfile=$2 marker=$3 grace=$4 pid
  case $(daemon_state "$pidfile" "$marker") in
    stopped) return 0 ;;
    dead)
      note "$name: died earlier (pidfile $pidfile, no process); removing the pidfile"
      rm -f "$pidfile"
      return 0 ;;
    stale)
      note "$name: pidfile $pidfile names pid $(<"$pidfile"), which is not ours (recycled); removing the pidfile, leaving that process alone"
      rm -f "$pidfile"
      return 0 ;;
  esac
  pid=$(<"$pidfile")
  step "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$grace"; then
    printf 'still alive after %s s, sending SIGKILL ... ' "$grace" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "$name (pid $pid) survives SIGKILL"
  fi
  rm -f "$pidfile"
  ok
}

# ---------------------------------------------------------------- ports

port_listener() { # port -> "pid=123 (name)" or "" when free
  local line
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n1) || true
  [[ -z $line ]] && return 0
  if [[ $line =~ \"([^\"]+)\",pid=([0-9]+) ]]; then
    echo "pid ${BASH_REMATCH[2]} (${BASH_REMATCH[1]})"
  else
    echo "an unknown process"
  fi
}

recorded_port() { # key
  [[ -f $PORTS_FILE ]] && sed -n "s/^$1=\([0-9]\+\)$/\1/p" "$PORTS_FILE" | tail -n1
}

record_port() { # key port
  touch "$PORTS_FILE"
  sed -i "/^$1=/d" "$PORTS_FILE"
  echo "$1=$2" >>"$PORTS_FILE"
}

# Picks a free port for a daemon we are about to start: an explicit override must be free
# (else a clear error); otherwise the default, the last port used, or the next free one.
choose_port() { # key default override-env-name
  local key=$1 default=$2 env_name=$3 override candidate who
  override=${!env_name:-}
  if [[ -n $override ]]; then
    if ! [[ $override =~ ^[0-9]+$ ]] || ((override < 1 || override > 65535)); then
      die "$env_name=$override is not a port number"
    fi
    who=$(port_listener "$override")
    [[ -z $who ]] ||
      die "port $override (from $env_name) on 127.0.0.1 is in use by $who. Stop that process, or unset $env_name to let the sandbox pick a free port."
    echo "$override"
    return
  fi
  for candidate in "$default" $(recorded_port "$key") $(seq $((default + 1)) $((default + 50))); do
    if [[ -z $(port_listener "$candidate") ]]; then
      [[ $candidate != "$default" ]] &&
        note "$key: port $default is in use by $(port_listener "$default"); using $candidate" 
      echo "$candidate"
      return
    fi
  done
  die "no free port in $default-$((default + 50)) for $key; free port $default (in use by $(port_listener "$default")) or set $env_name"
}

wait_until() { # seconds command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
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

# ---------------------------------------------------------------- dockerd

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

# ---------------------------------------------------------------- registry

registry_port() { recorded_port registry; }
registry_answers() { curl -sf --max-time 2 "http://127.0.0.1:$1/v2/" >/dev/null; }

start_registry() {
  local state port pid config=$REGISTRY_DIR/config.yml
  state=$(daemon_state "$REGISTRY_PID" "$config")
  port=$(registry_port || true)
  if [[ $state == running ]] && [[ -n $port ]] && registry_answers "$port"; then
    step "registry (pid $(<"$REGISTRY_PID"))"
    ok "already running on 127.0.0.1:$port"
    return
  fi
  [[ $state == running ]] && stop_daemon registry "$REGISTRY_PID" "$config" 5
  report_leftover_pidfile registry "$state" "$REGISTRY_PID"
  rm -f "$REGISTRY_PID"
  port=$(choose_port registry "$DEFAULT_REGISTRY_PORT" SANDBOX_REGISTRY_PORT)
  mkdir -p "$REGISTRY_DIR/data"
  # Our own config: Debian's default turns on htpasswd auth and listens on all interfaces.
  cat >"$config" <<EOF
version: 0.1
log:
  level: info
  fields: {service: registry}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: $REGISTRY_DIR/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
  headers: {X-Content-Type-Options: [nosniff]}
EOF
  step "starting registry on 127.0.0.1:$port"
  # docker-registry writes no pidfile: $! is its PID because, in a script without job
  # control, setsid is not a group leader and execs without forking (recipe P7).
  setsid docker-registry serve "$config" </dev/null >>"$LOGS/registry.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$REGISTRY_PID"
  record_port registry "$port"
  if ! wait_until 20 registry_answers "$port"; then
    tail -n 20 "$LOGS/registry.log" >&2 || true
    die "registry did not answer on 127.0.0.1:$port within 20 s; log: $LOGS/registry.log"
  fi
  pid_alive_and_ours "$REGISTRY_PID" "$config" || die "registry pid $pid is not the registry process (setsid forked?)"
  ok "pid $pid"
}

# ---------------------------------------------------------------- sshd

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
  cat >"$config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $SSH_DIR/ssh_host_ed25519_key
PidFile $SSHD_PID
AuthorizedKeysFile $SSH_DIR/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
# Every session talks to the sandbox engine and finds the compose v2 plugin.
SetEnv DOCKER_HOST=unix://$DOCKER_SOCK DOCKER_CONFIG=$DOCKER_CFG
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel VERBOSE
EOF
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

# ---------------------------------------------------------------- compose

compose_source_stamp() {
  cat "$SCRIPT_DIR/compose-v2/go.mod" "$SCRIPT_DIR/compose-v2/go.sum" | sha256sum | cut -c1-16
}

# The built plugin is kept in .tools/ (keyed by the wrapper module's go.mod + go.sum), so
# a fresh .sandbox, or a second one in $SANDBOX_DIR, installs it without building again.
ensure_compose_v2() {
  local stamp_file=$COMPOSE_PLUGIN.stamp stamp built tmp
  stamp=$(compose_source_stamp)
  built=$REPO/.tools/compose-v2/docker-compose-$COMPOSE_V2_VERSION-$stamp
  step "compose $COMPOSE_V2_VERSION plugin"
  if [[ -x $COMPOSE_PLUGIN && -f $stamp_file && $(<"$stamp_file") == "$stamp" ]]; then
    [[ -x $built ]] || { mkdir -p "$(dirname "$built")" && cp -f "$COMPOSE_PLUGIN" "$built"; }
    ok "already installed"
    return
  fi
  mkdir -p "$(dirname "$COMPOSE_PLUGIN")" "$(dirname "$built")"
  if [[ ! -x $built ]]; then
    require_go
    printf 'building from the Go module proxy (about 2-5 min the first time; log %s) ... ' "$LOGS/compose-build.log" >&2
    tmp=$built.tmp.$$
    if ! (cd "$SCRIPT_DIR/compose-v2" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
      -o "$tmp" github.com/docker/compose/v2/cmd) >"$LOGS/compose-build.log" 2>&1; then
      rm -f "$tmp"
      printf 'FAILED\n' >&2
      STEP_OPEN=false
      tail -n 20 "$LOGS/compose-build.log" >&2
      die "building compose v2 failed; log: $LOGS/compose-build.log"
    fi
    mv -f "$tmp" "$built"
  fi
  # A hard link when .tools and the sandbox share a file system, else a copy.
  ln -f "$built" "$COMPOSE_PLUGIN" 2>/dev/null || cp -f "$built" "$COMPOSE_PLUGIN"
  echo "$stamp" >"$stamp_file"
  ok "installed"
}

# ---------------------------------------------------------------- images

base_image_ref() { echo "awareness-sandbox/busybox-base:$(dpkg-query -W -f='${Version}' busybox-static | tr -c 'A-Za-z0-9_.\n-' '_')"; }

ensure_base_image() {
  local ref rootfs applet
  ref=$(base_image_ref)
  step "base image $ref"
  if docker image inspect "$ref" >/dev/null 2>&1; then
    ok "present"
    return
  fi
  # A busybox-static root filesystem; `docker import` gives a base image without internet.
  rootfs=$SBX/images/rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,etc,tmp,www,app}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -cf "$SBX/images/rootfs.tar" .
  docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' "$SBX/images/rootfs.tar" "$ref" >>"$LOGS/images.log" 2>&1 ||
    die "docker import failed; log: $LOGS/images.log"
  rm -rf "$rootfs" "$SBX/images/rootfs.tar"
  ok "imported"
}

# Digest of a tag as the registry serves it (the same digest `docker push` prints).
registry_digest() { # port repo tag
  curl -sfI --max-time 5 \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

# The local image behind REF was already pushed when its RepoDigests holds the digest
# the registry serves for that tag.
already_pushed() { # ref port repo tag
  local digest
  digest=$(registry_digest "$2" "$3" "$4") || return 1
  [[ -n $digest ]] || return 1
  docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$1" 2>/dev/null |
    grep -qxF "127.0.0.1:$2/$3@$digest"
}

build_and_push_images() {
  local port base release service repo ref built=0 pushed=0
  port=$(registry_port)
  base=$(base_image_ref)
  step "building demo images (${#RELEASES[@]} releases x backend, frontend)"
  for release in "${RELEASES[@]}"; do
    for service in backend frontend; do
      repo=awareness-$service
      ref=127.0.0.1:$port/$repo:$release
      # The classic builder's layer cache makes an unchanged rebuild a no-op (same image ID).
      docker build -q \
        --build-arg "BASE_IMAGE=$base" --build-arg "APP_VERSION=$release" \
        --build-arg "BEHAVIOUR=${BEHAVIOUR_OF[$release]}" \
        -t "$ref" "$SCRIPT_DIR/app/$service" >>"$LOGS/images.log" 2>&1 ||
        die "docker build of $ref failed; log: $LOGS/images.log"
      built=$((built + 1))
      if ! already_pushed "$ref" "$port" "$repo" "$release"; then
        docker push "$ref" >>"$LOGS/images.log" 2>&1 || die "docker push $ref failed; log: $LOGS/images.log"
        pushed=$((pushed + 1))
      fi
    done
  done
  ok "$built built, $pushed pushed"
}

# ---------------------------------------------------------------- target.json

write_target_description() {
  local rport sport releases='{}' tags='{}' release service repo digest
  rport=$(registry_port)
  sport=$(ssh_port)
  step "writing $TARGET_JSON"
  for release in "${RELEASES[@]}"; do
    for service in backend frontend; do
      repo=awareness-$service
      digest=$(registry_digest "$rport" "$repo" "$release")
      [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "registry has no digest for $repo:$release"
      releases=$(jq -c --arg r "$release" --arg s "$service" --arg v "127.0.0.1:$rport/$repo@$digest" \
        '.[$r][$s] = $v' <<<"$releases")
      tags=$(jq -c --arg r "$release" --arg s "$service" --arg v "127.0.0.1:$rport/$repo:$release" \
        '.[$r][$s] = $v' <<<"$tags")
    done
  done
  mkdir -p "$APP_DIR"
  jq -n \
    --arg sshPort "$sport" \
    --arg key "$SSH_DIR/client_key" \
    --arg hostKey "$(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" \
    --arg knownHosts "$SSH_DIR/known_hosts" \
    --arg dockerHost "unix://$DOCKER_SOCK" \
    --arg dockerConfig "$DOCKER_CFG" \
    --arg registry "127.0.0.1:$rport" \
    --arg appDir "$APP_DIR" \
    --argjson backendPort "$BACKEND_PORT" \
    --argjson frontendPort "$FRONTEND_PORT" \
    --argjson releases "$releases" \
    --argjson tags "$tags" \
    '{
      ssh: {host: "127.0.0.1", port: ($sshPort | tonumber), user: "root",
            privateKeyPath: $key, hostPublicKey: $hostKey, knownHostsPath: $knownHosts},
      dockerHost: $dockerHost, dockerConfig: $dockerConfig, registry: $registry,
      appDir: $appDir,
      composeCommands: ["docker compose", "docker-compose"],
      app: {baseUrl: "http://127.0.0.1:\($backendPort)",
            ports: {backend: $backendPort, frontend: $frontendPort}},
      releases: $releases, tags: $tags
    }' >"$TARGET_JSON.tmp"
  mv -f "$TARGET_JSON.tmp" "$TARGET_JSON"
  printf 'DOCKER_HOST=unix://%s\nDOCKER_CONFIG=%s\n' "$DOCKER_SOCK" "$DOCKER_CFG" >"$SBX/env"
  ok
}

check_ssh_session() {
  local out
  step "checking an ssh session reaches the sandbox engine"
  out=$(ssh -F "$SSH_DIR/ssh_config" sandbox 'docker info --format "{{.DockerRootDir}}" && docker compose version --short && docker-compose version --short') ||
    die "ssh session could not run docker; see $LOGS/sshd.log"
  [[ $(head -n1 <<<"$out") == "$DOCKER_DATA" ]] || die "ssh session talks to another engine: $out"
  ok "compose $(sed -n 2p <<<"$out") and $(sed -n 3p <<<"$out")"
}

# A listener belongs to the sandbox when one of its ancestors runs under our exec root
# (a container started by our dockerd's containerd shim).
started_by_sandbox() { # pid
  local pid=$1
  for _ in 1 2 3 4 5 6 7 8; do
    [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$DOCKER_EXEC" && return 0
    pid=$(proc_stat_field "$pid" 2) || return 1
  done
  return 1
}

# The app's ports are bound by the deployed containers, not by the sandbox; someone else
# holding them would make every deployment fail, so say so early.
warn_foreign_app_ports() {
  local port line pid
  for port in "$BACKEND_PORT" "$FRONTEND_PORT"; do
    line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n1) || true
    [[ -n $line ]] || continue
    pid=$([[ $line =~ pid=([0-9]+) ]] && echo "${BASH_REMATCH[1]}") || true
    started_by_sandbox "$pid" && continue
    note "warning: app port $port is in use by $(port_listener "$port"), not by a sandbox container; deployments to the sandbox cannot bind it until that process stops"
  done
}

# ---------------------------------------------------------------- commands

take_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 900 9 || die "another sandbox.sh holds $LOCK_FILE for more than 15 min"
}

cmd_up() {
  local started=$EPOCHREALTIME second_host=${SANDBOX_SECOND_HOST:-0}
  case ${1:-} in
    --second-host) second_host=1 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
  esac
  require_packages
  ((EUID == 0)) || die "up needs root: it starts dockerd, and sshd for root logins (run it with sudo)"
  take_lock
  mkdir -p "$LOGS"
  start_dockerd
  start_registry
  start_sshd
  ensure_compose_v2
  ensure_base_image
  build_and_push_images
  write_target_description
  check_ssh_session
  warn_foreign_app_ports
  if [[ $second_host == 1 ]]; then
    start_second_host
  elif second_host_present; then
    note "second host: left as it is (start or refresh it with: sandbox.sh up --second-host)"
  fi
  STEP_STARTED=$started
  note "up in $(elapsed) s; target: $TARGET_JSON (env for humans: $SBX/env)"
}

# Compose projects on the sandbox engine, with the working dir and files that made them.
compose_projects() {
  docker ps -a --filter label=com.docker.compose.project \
    --format '{{.Label "com.docker.compose.project"}}' 2>/dev/null | sort -u
}

stop_compose_projects() { # [docker-socket]
  local project sock=${1:-$DOCKER_SOCK}
  local DOCKER_HOST=unix://$sock
  dockerd_answers "$sock" || return 0
  for project in $(compose_projects); do
    step "docker compose -p $project down on ${sock#"$SBX"/} (volumes kept)"
    if [[ -x $COMPOSE_PLUGIN ]]; then
      # compose v2 finds the project's containers by label, no compose file needed.
      docker compose -p "$project" down --remove-orphans >>"$LOGS/down.log" 2>&1 ||
        die "docker compose -p $project down failed; log: $LOGS/down.log"
    else
      docker ps -aq --filter "label=com.docker.compose.project=$project" |
        xargs -r docker rm -f >>"$LOGS/down.log" 2>&1
    fi
    ok
  done
}

cmd_down() {
  local started=$EPOCHREALTIME
  take_lock
  mkdir -p "$LOGS"
  stop_second_host
  if [[ $(daemon_state "$DOCKERD_PID" "$DOCKERD_CONFIG") == running ]]; then
    stop_compose_projects "$DOCKER_SOCK"
  fi
  stop_daemon sshd "$SSHD_PID" "$SSH_DIR/sshd_config" 10
  stop_daemon registry "$REGISTRY_PID" "$REGISTRY_DIR/config.yml" 10
  stop_daemon dockerd "$DOCKERD_PID" "$DOCKERD_CONFIG" 30
  stop_orphaned_containerd "$DOCKER_EXEC"
  unmount_leftovers
  rm -f "$DOCKER_SOCK" "$DOCKERD_PID" "$REGISTRY_PID" "$SSHD_PID"
  STEP_STARTED=$started
  note "down in $(elapsed) s (images, keys and caches kept in $SBX)"
}

# One status record per part: name state pid endpoint detail
collect_status() {
  local state port
  state=$(daemon_state "$DOCKERD_PID" "$DOCKERD_CONFIG")
  if [[ $state == running ]] && ! dockerd_answers; then state=unresponsive; fi
  jq -nc --arg s "$state" --arg p "$(pid_of "$DOCKERD_PID")" --arg e "unix://$DOCKER_SOCK" \
    '{name: "dockerd", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'

  port=$(registry_port || true)
  state=$(daemon_state "$REGISTRY_PID" "$REGISTRY_DIR/config.yml")
  if [[ $state == running ]] && ! registry_answers "$port"; then state=unresponsive; fi
  jq -nc --arg s "$state" --arg p "$(pid_of "$REGISTRY_PID")" --arg e "127.0.0.1:${port:-?}" \
    '{name: "registry", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'

  port=$(ssh_port || true)
  state=$(daemon_state "$SSHD_PID" "$SSH_DIR/sshd_config")
  if [[ $state == running && -z $(port_listener "$port") ]]; then state=unresponsive; fi
  jq -nc --arg s "$state" --arg p "$(pid_of "$SSHD_PID")" --arg e "127.0.0.1:${port:-?}" \
    '{name: "sshd", state: $s, pid: ($p | tonumber? // null), endpoint: $e}'

  if [[ -x $COMPOSE_PLUGIN ]]; then state=present; else state=missing; fi
  jq -nc --arg s "$state" --arg e "$COMPOSE_PLUGIN" '{name: "compose-v2", state: $s, pid: null, endpoint: $e}'

  if [[ -f $TARGET_JSON ]]; then state=present; else state=missing; fi
  jq -nc --arg s "$state" --arg e "$TARGET_JSON" '{name: "target.json", state: $s, pid: null, endpoint: $e}'
  collect_second_host_status
}

cmd_status() {
  local json=false records
  [[ ${1:-} == --json ]] && json=true
  records=$(collect_status | jq -sc .)
  if $json; then
    jq '{parts: ., healthy: (all(.[]; .state == "running" or .state == "present"))}' <<<"$records"
  else
    jq -r '.[] | [.name, .state, (if .pid then "pid \(.pid)" else "-" end), .endpoint] | @tsv' <<<"$records" |
      column -t -s $'\t'
  fi
  jq -e 'all(.[]; .state == "running" or .state == "present")' <<<"$records" >/dev/null || {
    $json || note "some parts are down; run: bash test/sandbox/sandbox.sh up"
    return 1
  }
}

cmd_ssh() {
  [[ -f $SSH_DIR/ssh_config ]] || die "no ssh config yet; run: sandbox.sh up"
  exec ssh -F "$SSH_DIR/ssh_config" sandbox "$@"
}

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# shellcheck source=lib/second-host.sh
source "$SCRIPT_DIR/lib/second-host.sh"

main() {
  local command=${1:-}
  shift || true
  case $command in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status "$@" ;;
    ssh) cmd_ssh "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
