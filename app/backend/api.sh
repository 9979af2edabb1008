#!/bin/sh
# One HTTP request per run: nc -ll -e connects this script's stdin/stdout to the client.
# Behaviour comes from the image's env: BEHAVIOUR (healthy|broken-auth|flaky|slow|crash|hang|
# docs-fails-once|docs-fails-twice), APP_VERSION, SLOW_SECONDS.
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

# The number of this request among the container's requests to one endpoint (1, 2, ...),
# counted in a file so the failing releases fail deterministically. One count per endpoint:
# Docker's healthcheck only requests /api/health, so it never moves the /api/docs count.
request_number() { # name
  until mkdir "/tmp/$1-count.lock" 2>/dev/null; do sleep 0.01; done
  count=$(( $(cat "/tmp/$1-count" 2>/dev/null || echo 0) + 1 ))
  echo "$count" > "/tmp/$1-count"
  rmdir "/tmp/$1-count.lock"
  echo "$count"
}

# flaky: every 5th /api/health request answers 503 (the healthcheck's requests included), so
# two health probes in a row never both fail.
flaky_health_fails() { [ $(( $(request_number health) % 5 )) -eq 0 ]; }

# docs-fails-once: the 2nd /api/docs request answers 503; docs-fails-twice: the 2nd and the
# 5th (never two in a row). With one /api/docs probe a round, those are the watch's rounds 2 and 5.
docs_fails() {
  case "$BEHAVIOUR" in
    docs-fails-once) [ "$(request_number docs)" -eq 2 ] ;;
    docs-fails-twice) case "$(request_number docs)" in 2|5) return 0 ;; *) return 1 ;; esac ;;
    *) return 1 ;;
  esac
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
    if docs_fails; then
      respond 503 "Service Unavailable" "{\"error\":\"docs unavailable\",\"version\":\"$APP_VERSION\"}"
    else
      respond 200 OK "{\"service\":\"awareness-backend\",\"endpoints\":[\"/api/health\",\"/api/docs\",\"/api/auth/status\",\"/api/version\"],\"version\":\"$APP_VERSION\"}"
    fi ;;
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
