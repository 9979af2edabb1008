#!/bin/sh
# PID 1 of the frontend: renders the static site for this release, then runs busybox httpd
# in the background with a TERM trap (a shell PID 1 would otherwise ignore docker stop).
set -eu
mkdir -p /www/api
cat > /www/index.html <<HTML
<!doctype html>
<html><head><title>awareness ${APP_VERSION}</title></head>
<body><h1>awareness</h1><p>release ${APP_VERSION}</p></body></html>
HTML
printf '{"status":"ok","service":"awareness-frontend","version":"%s"}' "$APP_VERSION" > /www/api/health
printf '{"service":"awareness-frontend","version":"%s"}' "$APP_VERSION" > /www/api/version
echo "awareness-frontend ${APP_VERSION} listening on :${PORT}" >&2
httpd -f -p "${PORT}" -h /www &
server=$!
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
wait "$server"
