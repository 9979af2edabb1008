# Images: the busybox-static base, the demo releases (backend, frontend), pushed to the registry.
# shellcheck shell=bash

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
        -t "$ref" "$REPO/app/$service" >>"$LOGS/images.log" 2>&1 ||
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
