# The target description (.sandbox/target.json, .sandbox/env) and the app ports it promises.
# shellcheck shell=bash

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
    --arg baseImage "$(base_image_ref)" \
    --arg registry "127.0.0.1:$rport" \
    --arg proxyImage "$(proxy_image_ref)" \
    --arg appDir "$APP_DIR" \
    --argjson backendPort "$BACKEND_PORT" \
    --argjson frontendPort "$FRONTEND_PORT" \
    --argjson releases "$releases" \
    --argjson tags "$tags" \
    '{
      ssh: {host: "127.0.0.1", port: ($sshPort | tonumber), user: "root",
            privateKeyPath: $key, hostPublicKey: $hostKey, knownHostsPath: $knownHosts},
      dockerHost: $dockerHost, dockerConfig: $dockerConfig, baseImage: $baseImage, registry: $registry, proxyImage: $proxyImage,
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
