#!/usr/bin/env bash
# Makes the Pulumi engine CLI available at the version pinned in package.json
# ("pulumiToolchain.cli"). A `pulumi` already on PATH at that version is used as is
# (no Go needed); otherwise the CLI is built from the Go modules pinned in
# automation/toolchain/pulumi-cli/go.mod into .tools/bin, and not rebuilt while the
# stamp says it is up to date. Prints where the CLI is, last, on stdout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
module_dir="$repo/automation/toolchain/pulumi-cli"
tools_bin="$repo/.tools/bin"
stamp="$tools_bin/pulumi.stamp"

say() { printf 'toolchain: %s\n' "$*" >&2; }
die() { printf 'toolchain: error: %s\n' "$*" >&2; exit 1; }

pinned=$(sed -n 's/.*"cli": *"\([0-9][0-9.]*\)".*/\1/p' "$repo/package.json" | head -n1)
[ -n "$pinned" ] || die "package.json has no pulumiToolchain.cli version"
module_pin=$(grep -E "github.com/pulumi/pulumi/pkg/v3 v[0-9]" "$module_dir/go.mod" | head -n1 | awk "{print \$NF}" | tr -d v)
[ "$module_pin" = "$pinned" ] || die "version drift: package.json pins Pulumi CLI $pinned but $module_dir/go.mod requires pkg/v3 v$module_pin; make them equal"

# 1. A CLI on PATH at the pinned version wins (a user who has it needs no Go).
if [ "${AWARENESS_BUILD_PULUMI:-}" != "1" ] && command -v pulumi >/dev/null 2>&1; then
  on_path=$(command -v pulumi)
  if [ "$on_path" != "$tools_bin/pulumi" ]; then
    have=$(pulumi version 2>/dev/null | tr -d 'v\r' || true)
    if [ "$have" = "$pinned" ]; then
      say "using pulumi v$have from PATH ($on_path)"
      echo "$on_path"; exit 0
    fi
    say "pulumi on PATH is v${have:-unknown}, not v$pinned: using the project's own build"
  fi
fi

# 2. The project's own build, kept while its stamp matches the pinned module files.
want_stamp="v$pinned $(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$tools_bin/pulumi" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
  say "pulumi v$pinned is up to date ($tools_bin/pulumi)"
  echo "$tools_bin/pulumi"; exit 0
fi

command -v go >/dev/null 2>&1 || die "no 'pulumi' v$pinned on PATH and no Go toolchain to build it.
  Either install the Pulumi CLI v$pinned (https://www.pulumi.com/docs/install/) and put it on PATH,
  or install Go >= 1.25 so this step can build it from the Go module proxy."

say "building pulumi v$pinned from Go modules (about 4 min cold on 2 cores, seconds when cached) ..."
started=$(date +%s)
mkdir -p "$tools_bin"
(
  cd "$module_dir"
  # -mod=mod: the tools module has no vendor dir; go.sum pins every module hash.
  GOFLAGS="-mod=mod -buildvcs=false" go build \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pinned" \
    -o "$tools_bin/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
) || { rm -f "$tools_bin/pulumi.partial"; die "building the Pulumi CLI failed (see the Go errors above)"; }
# Rename only a complete binary into place: never a half-installed CLI.
mv "$tools_bin/pulumi.partial" "$tools_bin/pulumi"
got=$("$tools_bin/pulumi" version | tr -d 'v\r')
[ "$got" = "$pinned" ] || die "built CLI reports v$got, expected v$pinned"
echo "$want_stamp" > "$stamp"
say "built pulumi v$got in $(( $(date +%s) - started )) s -> $tools_bin/pulumi"
echo "$tools_bin/pulumi"
