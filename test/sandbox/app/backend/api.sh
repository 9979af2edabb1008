#!/bin/sh
# One HTTP request per run: nc -ll -e connects this script's stdin/stdout to the client.
# Behaviour comes from the image's env: BEHAVIOUR (healthy|broken-auth|flaky|slow|crash|hang),
# APP_VERSION, SLOW_SECONDS.
CR=$(printf '\r')

if [ "$BEHAVIOUR" = "hang" ]; then
  # Accepts the connection and never answers; the handler ends when the client hangs up.
  exec cat >/dev/null
fi

read -r _method target _ || exit 0
# Drain the request headers; the body (if any) is ignored.
while read -r header; do
  header=${header%"$CR"}
  [ -z "$header" ] && break
done
path=${target%%\?*}

respond() { # status reason body
  printf 'HTTP/1.1 %s %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nX-App-Version: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#3}" "$APP_VERSION" "$3"
}

# Counts /api/health requests in a file so the flaky release fails deterministically:
# every 5th request answers 503, so two health probes in a row never both fail.
flaky_health_fails() {
  until mkdir /tmp/health-count.lock 2>/dev/null; do sleep 0.01; done
  count=$(( $(cat /tmp/health-count 2>/dev/null || echo 0) + 1 ))
  echo "$count" > /tmp/health-count
  rmdir /tmp/health-count.lock
  [ $(( count % 5 )) -eq 0 ]
}

if [ "$BEHAVIOUR" = "slow" ]; then
  sleep "${SLOW_SECONDS:-3}"
fi

case "$path" in
  /api/health)
    if [ "$BEHAVIOUR" = "flaky" ] && flaky_health_fails; then
      respond 503 "Service Unavailable" "{\"status\":\"unavailable\",\"version\":\"$APP_VERSION\"}"
    else
      respond 200 OK "{\"status\":\"ok\",\"version\":\"$APP_VERSION\"}"
    fi ;;
  /api/docs)
    respond 200 OK "{\"service\":\"awareness-backend\",\"endpoints\":[\"/api/health\",\"/api/docs\",\"/api/auth/status\",\"/api/version\"],\"version\":\"$APP_VERSION\"}" ;;
  /api/auth/status)
    if [ "$BEHAVIOUR" = "broken-auth" ]; then
      respond 500 "Internal Server Error" "{\"auth\":\"error\",\"error\":\"auth backend unreachable\",\"version\":\"$APP_VERSION\"}"
    else
      respond 200 OK "{\"auth\":\"ok\",\"version\":\"$APP_VERSION\"}"
    fi ;;
  /api/version|/version)
    respond 200 OK "{\"service\":\"awareness-backend\",\"version\":\"$APP_VERSION\",\"behaviour\":\"$BEHAVIOUR\"}" ;;
  /)
    respond 200 OK "{\"service\":\"awareness-backend\",\"version\":\"$APP_VERSION\"}" ;;
  *)
    respond 404 "Not Found" "{\"error\":\"not found\",\"path\":\"$path\"}" ;;
esac
