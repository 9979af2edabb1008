#!/bin/sh
# PID 1 of the backend. A shell as PID 1 gets no default SIGTERM action, so without the trap
# every `docker stop` / recreate would wait the full 10 s grace period.
set -u
if [ "${BEHAVIOUR}" = "crash" ]; then
  # Prints its secret as it dies, as badly written apps do: the driver must mask it in reports.
  echo "awareness-backend ${APP_VERSION}: fatal: this release never starts (exit 1; SESSION_SECRET=${SESSION_SECRET:-unset})" >&2
  exit 1
fi
echo "awareness-backend ${APP_VERSION} (${BEHAVIOUR}) listening on :${PORT}" >&2
rm -rf /tmp/health-count /tmp/health-count.lock
nc -ll -p "${PORT}" -e /app/api.sh &
server=$!
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
wait "$server"
