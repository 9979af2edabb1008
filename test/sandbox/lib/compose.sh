# Compose v2: the plugin built from the Go module proxy (kept in .tools/); compose projects down.
# shellcheck shell=bash

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "compose v2 must be built from source and 'go' (>= 1.24) is not on PATH. Install Go from https://go.dev/dl/ (or apt-get install -y golang-1.24-go if your release has it), then rerun."
}

compose_source_stamp() {
  cat "$SCRIPT_DIR/compose-v2/go.mod" "$SCRIPT_DIR/compose-v2/go.sum" | sha256sum | cut -c1-16
}

# go_build LABEL HOW-LONG LOG OUTPUT COMMAND...: runs a Go build from the module proxy, its output
# in LOG; on failure removes OUTPUT, shows the log's tail and stops the sandbox's `up`.
go_build() {
  local label=$1 how_long=$2 log=$3 out=$4
  shift 4
  require_go
  printf 'building %s from the Go module proxy (%s the first time; log %s) ... ' "$label" "$how_long" "$log" >&2
  if ! "$@" >"$log" 2>&1; then
    rm -rf "$out"
    printf 'FAILED\n' >&2
    STEP_OPEN=false
    tail -n 20 "$log" >&2
    die "building $label failed; log: $log"
  fi
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
    tmp=$built.tmp.$$
    # shellcheck disable=SC2016 # expanded by the subshell go_build runs
    go_build "compose v2" "about 2-5 min" "$LOGS/compose-build.log" "$tmp" \
      sh -c 'cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$2" -o "$3" github.com/docker/compose/v2/cmd' \
      _ "$SCRIPT_DIR/compose-v2" "$COMPOSE_V2_VERSION" "$tmp"
    mv -f "$tmp" "$built"
  fi
  # A hard link when .tools and the sandbox share a file system, else a copy.
  ln -f "$built" "$COMPOSE_PLUGIN" 2>/dev/null || cp -f "$built" "$COMPOSE_PLUGIN"
  echo "$stamp" >"$stamp_file"
  ok "installed"
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
