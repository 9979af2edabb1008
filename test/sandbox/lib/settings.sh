# Settings: versions, default ports, releases, the state layout under $SBX, the engine env.
# shellcheck shell=bash

REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
SBX=${SANDBOX_DIR:-$REPO/.sandbox}
mkdir -p "$SBX"
SBX=$(cd "$SBX" && pwd)

readonly COMPOSE_V2_VERSION=v2.40.3
readonly CADDY_VERSION=v2.11.9
readonly DEFAULT_REGISTRY_PORT=5000
readonly DEFAULT_SSH_PORT=2302
readonly BACKEND_PORT=18080
readonly FRONTEND_PORT=18081
readonly RELEASES=(v1 v2 v3 v4 v5 v6 v7 v8)
# What each release does wrong (see app/backend/api.sh at the repository root).
declare -A BEHAVIOUR_OF=([v1]=healthy [v2]=broken-auth [v3]=flaky [v4]=slow [v5]=crash [v6]=hang
  [v7]=docs-fails-once [v8]=docs-fails-twice)

# Layout under $SBX.
LOGS=$SBX/logs
DOCKER_SOCK=$SBX/docker.sock
DOCKERD_PID=$SBX/dockerd.pid
DOCKERD_CONFIG=$SBX/daemon.json
DOCKER_DATA=$SBX/docker
DOCKER_EXEC=$SBX/exec
DOCKER_CFG=$SBX/dockercfg
COMPOSE_PLUGIN=$DOCKER_CFG/cli-plugins/docker-compose
REGISTRY_DIR=$SBX/registry
REGISTRY_PID=$REGISTRY_DIR/registry.pid
SSH_DIR=$SBX/ssh
SSHD_PID=$SSH_DIR/sshd.pid
PORTS_FILE=$SBX/ports.env
APP_DIR=$SBX/host/opt/awareness
TARGET_JSON=$SBX/target.json
LOCK_FILE=$SBX/.lock

export DOCKER_HOST=unix://$DOCKER_SOCK
export DOCKER_CONFIG=$DOCKER_CFG
# The classic builder: BuildKit needs buildx (absent) or a bridge network (we have none).
export DOCKER_BUILDKIT=0
export DOCKER_CLI_HINTS=false
