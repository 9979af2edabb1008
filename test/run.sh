#!/usr/bin/env bash
# The test suite behind `npm test` (after automation/toolchain/setup.sh):
# type check, the command plugin's Go tests, workflow linters, unit tests (Pulumi mocks),
# then end-to-end tests (real engine, real sandbox host). The sandbox is stopped again
# at the end unless it was already running before.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="$repo/node_modules/.bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
step() { printf '\n== %s\n' "$*" >&2; }

sandbox="test/sandbox/sandbox.sh"
sandbox_was_up=0
sandbox_pid=""
if [ -f "$sandbox" ] && bash "$sandbox" status >/dev/null 2>&1; then sandbox_was_up=1; fi
cleanup() {
  # A background `up` still going finishes before anything is stopped.
  if [ -n "$sandbox_pid" ]; then wait "$sandbox_pid" 2>/dev/null || true; fi
  if [ -f "$sandbox" ] && [ "$sandbox_was_up" = 0 ] && [ "${KEEP_SANDBOX:-}" != 1 ]; then
    step "stopping the sandbox (KEEP_SANDBOX=1 keeps it)"
    bash "$sandbox" down || true
  fi
}
trap cleanup EXIT

# The sandbox builds compose v2 and the Caddy proxy from Go modules (minutes, cold): it comes up
# in the background while the checks and unit tests run, and is awaited before the e2e tests.
sandbox_log="$repo/.reports/sandbox-up.log"
mkdir -p "$repo/.reports"
if [ -f "$sandbox" ] && [ "$sandbox_was_up" = 0 ] && [ "$(id -u)" = 0 ]; then
  step "sandbox: coming up in the background (log: .reports/sandbox-up.log)"
  bash "$sandbox" up >"$sandbox_log" 2>&1 &
  sandbox_pid=$!
fi

step "type check"
tsc --noEmit -p tsconfig.json

if [ -f test/command-plugin/go.mod ]; then
  step "test-only command plugin: go vet + go test"
  (cd test/command-plugin && go vet ./... && go test ./...)
fi

if [ -f automation/toolchain/linters.sh ]; then
  step "workflow linters (actionlint, zizmor)"
  bash automation/toolchain/linters.sh
fi

step "unit tests"
vitest run --project unit

if [ -n "$sandbox_pid" ]; then
  step "sandbox: waiting for it to be up"
  if ! wait "$sandbox_pid"; then tail -n 30 "$sandbox_log" >&2; echo "the sandbox did not come up (log: $sandbox_log)" >&2; exit 1; fi
  tail -n 1 "$sandbox_log" >&2
fi

step "end-to-end tests (real engine, sandbox host; ${AWARENESS_E2E_WORKERS:-2} files at a time)"
vitest run --project e2e

step "end-to-end tests that must run alone (they stop the sandbox's daemons, or time a lease)"
vitest run --project e2e-alone
