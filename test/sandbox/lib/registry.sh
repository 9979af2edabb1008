# The registry on 127.0.0.1: start it, ping it, ask it for the digest of a tag.
# shellcheck shell=bash

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

# Digest of a tag as the registry serves it (the same digest `docker push` prints).
registry_digest() { # port repo tag
  curl -sfI --max-time 5 \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}
