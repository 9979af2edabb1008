# The blue-green proxy image: Caddy built from the Go module proxy (kept in .tools/, keyed by
# its version), on the busybox base, pushed to the sandbox registry.
# shellcheck shell=bash

proxy_image_ref() { echo "127.0.0.1:$(registry_port)/awareness-caddy:$CADDY_VERSION"; }

ensure_proxy_image() {
  local built=$REPO/.tools/caddy/caddy-$CADDY_VERSION ref ctx tmp
  ref=$(proxy_image_ref)
  step "proxy image $ref (Caddy $CADDY_VERSION)"
  if [[ ! -x $built ]]; then
    mkdir -p "$(dirname "$built")"
    tmp=$(mktemp -d)
    go_build "Caddy $CADDY_VERSION" "about 3 min" "$LOGS/caddy-build.log" "$tmp" \
      env GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION"
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
