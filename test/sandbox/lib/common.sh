# Shared helpers: step/ok/note/die, prerequisites, processes and pidfiles, ports, wait_until.
# shellcheck shell=bash

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
