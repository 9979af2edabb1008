# The blue-green proxy image: Caddy built from the Go module proxy (kept in .tools/, keyed by
# its version), on the busybox base, pushed to the sandbox registry.
# shellcheck shell=bash

proxy_image_ref() { echo "127.0.0.1:$(registry_port)/awareness-caddy:$CADDY_VERSION"; }

ensure_proxy_image() {
  local built=$REPO/.tools/caddy/caddy-$CADDY_VERSION ref ctx tmp
  ref=$(proxy_image_ref)
  step "proxy image $ref (Caddy $CADDY_VERSION)"
  if [[ ! -x $built ]]; then
    require_go
    printf 'building Caddy from the Go module proxy (about 3 min the first time; log %s) ... ' "$LOGS/caddy-build.log" >&2
    mkdir -p "$(dirname "$built")"
    tmp=$(mktemp -d)
    if ! GOBIN=$tmp CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
      "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" >"$LOGS/caddy-build.log" 2>&1; then
      rm -rf "$tmp"
      printf 'FAILED\n' >&2
      STEP_OPEN=false
      tail -n 20 "$LOGS/caddy-build.log" >&2
      die "building Caddy failed; log: $LOGS/caddy-build.log"
    fi
    mv -f "$tmp/caddy" "$built"
    rm -rf "$tmp"
  fi
  ctx=$SBX/images/proxy
  mkdir -p "$ctx"
  cp -f "$SCRIPT_DIR/proxy/Dockerfile" "$ctx/Dockerfile"
  ln -f "$built" "$ctx/caddy" 2>/dev/null || cp -f "$built" "$ctx/caddy"
  docker build -q --build-arg "BASE_IMAGE=$(base_image_ref)" -t "$ref" "$ctx" >>"$LOGS/images.log" 2>&1 ||
    die "docker build of $ref failed; log: $LOGS/images.log"
  docker push "$ref" >>"$LOGS/images.log" 2>&1 || die "docker push $ref failed; log: $LOGS/images.log"
  ok "built and pushed"
}
