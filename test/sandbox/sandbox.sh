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
#   sandbox.sh stop|start|restart sshd|registry|dockerd
#                            one part alone, on the port it had (fault tests): stopping sshd
#                            also drops its live sessions; dockerd stops as on a daemon
#                            restart (containers come back by their restart policy)
#
# All state lives under $SANDBOX_DIR (default: <repo>/.sandbox). Every daemon is stopped
# by the PID recorded when the sandbox started it, never by name. See README.md here.
# shellcheck source-path=SCRIPTDIR # the libraries in lib/, wherever shellcheck runs from
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The parts, one library each (README.md here, "The script's files"); settings first.
# shellcheck source=lib/settings.sh
source "$SCRIPT_DIR/lib/settings.sh"
# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/dockerd.sh
source "$SCRIPT_DIR/lib/dockerd.sh"
# shellcheck source=lib/registry.sh
source "$SCRIPT_DIR/lib/registry.sh"
# shellcheck source=lib/sshd.sh
source "$SCRIPT_DIR/lib/sshd.sh"
# shellcheck source=lib/compose.sh
source "$SCRIPT_DIR/lib/compose.sh"
# shellcheck source=lib/images.sh
source "$SCRIPT_DIR/lib/images.sh"
# shellcheck source=lib/proxy.sh
source "$SCRIPT_DIR/lib/proxy.sh"
# shellcheck source=lib/target.sh
source "$SCRIPT_DIR/lib/target.sh"
# shellcheck source=lib/second-host.sh
source "$SCRIPT_DIR/lib/second-host.sh"

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
  ensure_proxy_image
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

# One part alone (the fault tests stop and start them); a part restarts on its recorded port,
# so target.json and every stack config stay right.
cmd_part() { # stop|start|restart part
  local action=$1 part=${2:-}
  [[ $part == sshd || $part == registry || $part == dockerd ]] || { usage >&2; exit 2; }
  ((EUID == 0)) || die "$action $part needs root"
  take_lock
  mkdir -p "$LOGS"
  if [[ $action == stop || $action == restart ]]; then
    case $part in
      sshd) stop_sshd_and_sessions ;;
      registry) stop_daemon registry "$REGISTRY_PID" "$REGISTRY_DIR/config.yml" 10 ;;
      dockerd) stop_daemon dockerd "$DOCKERD_PID" "$DOCKERD_CONFIG" 30 ;;
    esac
  fi
  if [[ $action == start || $action == restart ]]; then
    case $part in
      sshd) SANDBOX_SSH_PORT=$(ssh_port) start_sshd ;;
      registry) SANDBOX_REGISTRY_PORT=$(registry_port) start_registry ;;
      dockerd) start_dockerd ;;
    esac
  fi
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local command=${1:-}
  shift || true
  case $command in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status "$@" ;;
    ssh) cmd_ssh "$@" ;;
    stop | start | restart) cmd_part "$command" "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
