#!/usr/bin/env bash
# Builds the test-only pulumi-resource-command into .tools/test-plugins/, skipping the build
# when the binary is newer than every .go, go.mod and go.sum file of the plugin.
set -euo pipefail
plugin_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$plugin_dir/../../.tools/test-plugins/pulumi-resource-command"

if [[ -x "$binary" ]] && [[ -z "$(find "$plugin_dir" \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$binary" -print -quit)" ]]; then
  echo "test command plugin: up to date ($binary)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "test command plugin: Go is needed to build it (the toolchain step that builds the Pulumi CLI installs it)" >&2
  exit 1
fi
echo "test command plugin: building $binary ..."
mkdir -p "$(dirname "$binary")"
cd "$plugin_dir" && go build -o ../../.tools/test-plugins/pulumi-resource-command .
echo "test command plugin: built"
