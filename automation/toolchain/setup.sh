#!/usr/bin/env bash
# The one idempotent setup step behind the README's commands: system packages the local
# sandbox needs, the project's npm packages (with its own Node 24), and the Pulumi CLI.
# Safe to run again: each part is skipped when already in place.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# 1. Debian packages for the local sandbox target (dockerd, registry, compose v1, sshd, busybox).
packages=(docker.io docker-registry docker-compose openssh-server openssh-client busybox-static iproute2 curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d keeps the packages from starting system daemons: the sandbox runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    rm -f /usr/sbin/policy-rc.d
  else
    die "missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
  fi
else
  say "Debian packages present"
fi

# 2. npm packages, reinstalled only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci) ..."
  npm ci --no-audit --no-fund >&2
else
  say "npm packages up to date"
fi
[ -x node_modules/.bin/node ] || die "node_modules/.bin/node is missing after npm ci (the project's Node 24)"

# 3. The Pulumi engine CLI.
bash automation/toolchain/pulumi-cli.sh >/dev/null
