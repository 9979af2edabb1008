// strategy blue-green: two colors, each its own compose project in its own folder of the app
// dir, behind a Caddy proxy the stack owns (its own compose project too). A switch starts the
// release in the idle color beside the live one, waits until it runs, flips the proxy (one
// symlink rename: the next request goes to the new color, requests already sent finish on the
// old one, no connection is closed), and leaves the old color running: an automatic rollback re-applies that release, finds
// it still running in the idle color and only flips back. The idle color stops once the live
// release is verified (markReleaseVerified).
import type { BlueGreenConfig } from "../config/schema.js";
import { colorPortVariable } from "../compose/render.js";
import { backupCurrentFiles, waitUntilRunning } from "./backups.js";
import { recordRelease, stageRelease, type SwitchReleaseArgs } from "./deploy.js";
import { type Color, colorWords, composeCli, type HostLayout, liveColorFileName, managedFiles, projectFilters } from "./layout.js";
import { raw, sh } from "./shell.js";
import { snapshotVolumes } from "./volumes.js";

const proxyDirName = "proxy";
/** Where the proxy's folder (config, admin socket) is mounted in its container. */
const proxyMount = "/etc/awareness-proxy";
/** Beside each color's files: the sha256 of the release files it was started from. */
const colorShaFileName = ".release-sha";

/**
 * The proxy's Caddy config (JSON). Each route's upstream port is read per request from a file
 * under live/, a symlink to the live color's folder: the flip is one atomic rename on the host,
 * with no reload, so no connection (idle keep-alive ones included) is closed by it.
 */
export function proxyConfig(bg: BlueGreenConfig): string {
  const servers = Object.fromEntries(
    bg.routes.map((r, i) => [
      `route${i}-${r.service}`,
      {
        listen: [`:${r.listenPort}`],
        automatic_https: { disable: true },
        routes: [
          {
            handle: [
              {
                handler: "reverse_proxy",
                upstreams: [{ dial: `127.0.0.1:{file.${proxyMount}/live/route${i}}` }],
                // A dial refused in a flip's instant is retried, not answered with a 502.
                load_balancing: { try_duration: "5s", try_interval: "100ms" },
              },
            ],
          },
        ],
      },
    ]),
  );
  return JSON.stringify({
    admin: { listen: `unix/${proxyMount}/admin.sock`, config: { persist: false } },
    logging: { logs: { default: { level: "WARN" } } },
    apps: { http: { grace_period: `${bg.drainSeconds}s`, servers } },
  });
}

/** The proxy's compose file: one Caddy container on the host network, its folder mounted. */
export function proxyCompose(layout: HostLayout, bg: BlueGreenConfig): string {
  const dir = `${layout.appDir}/${proxyDirName}`;
  return [
    "# Written by the awareness Pulumi program (blue-green proxy): edits here are replaced by the next switch.",
    "services:",
    "  proxy:",
    `    image: "${bg.proxyImage}"`,
    "    network_mode: host",
    "    restart: unless-stopped",
    `    command: ["caddy", "run", "--config", "${proxyMount}/caddy.json"]`,
    `    volumes: ["${dir}:${proxyMount}"]`,
    "",
  ].join("\n");
}

const proxyProject = (layout: HostLayout) => `${layout.composeProject}-proxy`;

/** Shell lines defining flip_to COLOR: the proxy running with this config, its routes pointed at COLOR's ports. */
function proxyFunctions(layout: HostLayout, bg: BlueGreenConfig): string[] {
  const proxyLayout: HostLayout = { ...layout, live: { project: proxyProject(layout), composeFile: `"$app/${proxyDirName}/docker-compose.yml"` } };
  const portFiles = (color: Color) => bg.routes.map((r, i) => sh`printf '%s\n' ${color === "blue" ? r.bluePort : r.greenPort} > "$pd/${color}/route${i}"`);
  return [
    sh`proxy_compose=${proxyCompose(layout, bg)}`,
    sh`proxy_config=${proxyConfig(bg)}`,
    `flip_to() {`,
    `  pd="$app/${proxyDirName}"`,
    `  mkdir -p "$pd/blue" "$pd/green" && chmod 755 "$pd" "$pd/blue" "$pd/green" || return 1`,
    `  { ${[...portFiles("blue"), ...portFiles("green")].join(" && ")}; } || { echo "cannot write the proxy's route files in $pd"; return 1; }`,
    `  [ -e "$pd/live" ] || ln -s "$1" "$pd/live" || return 1`,
    `  printf '%s\n' "$proxy_compose" > "$pd/docker-compose.yml.new" && printf '%s\n' "$proxy_config" > "$pd/caddy.json.new" || return 1`,
    // A proxy already running this compose file and config is left alone (the flip then costs one rename).
    `  changed=0; for f in docker-compose.yml caddy.json; do cmp -s "$pd/$f.new" "$pd/$f" 2>/dev/null || changed=1; done`,
    `  pid=$(docker ps -q --filter "label=com.docker.compose.project=${proxyProject(layout)}" --filter label=com.docker.compose.service=proxy --filter status=running | head -n 1)`,
    `  if [ "$changed" = 1 ] || [ -z "$pid" ]; then`,
    `    mv -f "$pd/docker-compose.yml.new" "$pd/docker-compose.yml" && mv -f "$pd/caddy.json.new" "$pd/caddy.json" || return 1`,
    // up -d starts the proxy, or recreates it when its compose file changed.
    `    out=$(${composeCli(proxyLayout, "up", "-d")} 2>&1) || { printf 'the proxy did not start: %s\n' "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; return 1; }`,
    `    pid=$(docker ps -q --filter "label=com.docker.compose.project=${proxyProject(layout)}" --filter label=com.docker.compose.service=proxy | head -n 1)`,
    `    [ -n "$pid" ] || { echo "the proxy container is not running"; return 1; }`,
    // The admin socket appears once Caddy runs; an unchanged config is not reloaded (Caddy compares), a changed one is.
    `    i=0; until docker exec "$pid" caddy reload --config ${proxyMount}/caddy.json --address unix/${proxyMount}/admin.sock >/dev/null 2>&1; do`,
    `      i=$((i + 1)); [ "$i" -lt 50 ] || { echo "the proxy did not take its config (caddy reload failed for 10 s)"; return 1; }; sleep 0.2`,
    `    done`,
    `  fi`,
    `  rm -f "$pd/docker-compose.yml.new" "$pd/caddy.json.new"`,
    // The flip itself: live -> COLOR in one rename; the next request's upstream is read from it.
    `  ln -sfn "$1" "$pd/live.new" && mv -T "$pd/live.new" "$pd/live" || { echo "cannot point the proxy at $1"; return 1; }`,
    `}`,
  ];
}

/** The blue-green switch (see the file's header); prints the same summary line as the recreate switch. */
export function switchColor(args: SwitchReleaseArgs): string {
  const { layout } = args;
  const waitSpecs = args.services.map((s) => `${s.name}:${s.waitHealthy ? 1 : 0}`);
  return [
    ...stageRelease(args, [`proxy=${layout.blueGreen!.proxyImage}`]),
    "# 3. back up the files being replaced as one set, named by the release they belong to; keep the newest N sets",
    ...backupCurrentFiles(args.retainBackups, snapshotVolumes(layout, [])),
    `phase backup`,
    ...colorSwitch(layout, { specs: `"${waitSpecs.join(" ")}"`, startTimeoutSeconds: args.startTimeoutSeconds, stableChecks: args.stableChecks }),
    ...recordRelease(args),
  ].join("\n");
}

/**
 * Shell lines (with fail, phase, $app, $stage and $release set, the release's compose and env
 * files staged) that start the staged release in the idle color (or find it running there
 * already), flip the proxy to it, and put its files in the app dir. Used by the switch and by a
 * restore. `specs`: shell text giving "service:waitHealthy" words (may read $next's files).
 */
export function colorSwitch(layout: HostLayout, opts: { specs: string; startTimeoutSeconds: number; stableChecks: number }): string[] {
  const bg = layout.blueGreen!;
  const [compose, env] = managedFiles;
  const next = { ...layout, live: colorWords(layout, "$next") };
  const portLines = bg.routes.map((r) => sh`printf '%s=%s\\n' ${colorPortVariable(r.service)} "$( [ "$next" = blue ] && echo ${r.bluePort} || echo ${r.greenPort} )"`);
  return [
    "# the idle color takes the release (the live one keeps serving)",
    `live=$(cat "$app/${liveColorFileName}" 2>/dev/null || true)`,
    `case "$live" in blue) next=green ;; green) next=blue ;; *) live=""; next=blue ;; esac`,
    `dir="$app/$next"; want=$(cat "$stage/${compose}" "$stage/${env}" 2>/dev/null | sha256sum | cut -c1-64)`,
    `stop_next() { ${composeCli(next, "down", "--remove-orphans")} >/dev/null 2>&1; rm -f "$dir/${colorShaFileName}"; }`,
    ...proxyFunctions(layout, bg),
    `specs=${opts.specs}`,
    `running=$(docker ps -q ${raw(projectFilters(next))} --filter status=running | wc -l)`,
    `unhealthy=$(docker ps -q ${raw(projectFilters(next))} --filter health=unhealthy | wc -l)`,
    `if [ "$(cat "$dir/${colorShaFileName}" 2>/dev/null)" = "$want" ] && [ "$running" -eq "$(echo $specs | wc -w)" ] && [ "$unhealthy" -eq 0 ]; then`,
    `  warm=1; phase start; phase wait`,
    `else`,
    `  warm=0`,
    `  (umask 077 && mkdir -p "$dir") && rm -f "$dir/${colorShaFileName}" && cp "$stage/${compose}" "$dir/${compose}" && { [ ! -f "$stage/${env}" ] || cat "$stage/${env}"; ${portLines.join("; ")}; } > "$dir/${env}" || fail "cannot write the $next color's files in $dir; the live release was not touched"`,
    `  if ! out=$(${composeCli(next, "up", "-d", "--remove-orphans")} 2>&1); then reason=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); stop_next; fail "compose up failed for release $release (color $next; the live release keeps serving): $reason"; fi`,
    `  phase start`,
    ...waitUntilRunning(next, "$specs", opts.startTimeoutSeconds, opts.stableChecks).map((l) => `  ${l}`),
    `  phase wait`,
    `  if [ -n "$reason" ]; then stop_next; fail "release $release did not start (color $next; the live release keeps serving): $reason"; fi`,
    `  printf '%s\\n' "$want" > "$dir/${colorShaFileName}"`,
    `fi`,
    "# the flip: new requests go to the new color; a recreate-era project on the public ports stops first (once)",
    sh`old=$(docker ps -aq --filter ${`label=com.docker.compose.project=${layout.composeProject}`})`,
    `[ -z "$old" ] || docker rm -f $old >/dev/null 2>&1 || fail "cannot stop the recreate-era containers of ${layout.composeProject}"`,
    `if ! why=$(flip_to "$next"); then [ "$warm" = 1 ] || stop_next; [ -z "$live" ] || flip_to "$live" >/dev/null; fail "release $release runs in color $next but the proxy did not switch to it: $why"; fi`,
    `printf '%s\\n' "$next" > "$app/${liveColorFileName}.new" && mv -f "$app/${liveColorFileName}.new" "$app/${liveColorFileName}"`,
    `phase flip`,
    "# the release's files in place (the live color's copy is what runs)",
    `mv -f "$stage/${compose}" ${compose} && { if [ -f "$stage/${env}" ]; then mv -f "$stage/${env}" ${env}; else rm -f ${env}; fi; } || fail "release $release serves, but its files could not be put in $app"`,
  ];
}

/** Destroy under blue-green: both colors and the proxy stop; data and files stay. */
export function teardownColors(layout: HostLayout): string {
  const proxyLayout: HostLayout = { ...layout, live: { project: proxyProject(layout), composeFile: `"$app/${proxyDirName}/docker-compose.yml"` } };
  const color = { ...layout, live: colorWords(layout, "$c") };
  return [
    sh`app=${layout.appDir}`,
    `cd "$app" 2>/dev/null || exit 0`,
    `for c in blue green; do [ -f "$c/${managedFiles[0]}" ] || continue; out=$(${composeCli(color, "down", "--remove-orphans")} 2>&1) || { printf '%s\\n' "$out" | tail -n 10 >&2; exit 1; }; rm -f "$c/${colorShaFileName}"; done`,
    `if [ -f ${proxyDirName}/docker-compose.yml ]; then out=$(${composeCli(proxyLayout, "down")} 2>&1) || { printf '%s\\n' "$out" | tail -n 10 >&2; exit 1; }; fi`,
    `rm -f ${liveColorFileName}`,
    `echo stopped`,
  ].join("\n");
}
