// Engine swarm: the release as a swarm stack (`docker stack deploy` on a manager). The switch
// keeps the compose engine's shape (stage, check images, back up, files in place, record) but
// starts the release with `stack deploy` and waits for Swarm's own verdict on the update: its
// tasks running (healthy, where the image has a healthcheck), or rolled back by Swarm itself
// (update_config failure_action rollback), which fails the switch with Swarm's words.
import { backupCurrentFiles } from "./backups.js";
import type { SwitchReleaseArgs } from "./deploy.js";
import { recordRelease, stageRelease } from "./deploy.js";
import { managedFiles, type HostLayout } from "./layout.js";
import { sh } from "./shell.js";

const stackDeploy = (layout: HostLayout) => sh`docker stack deploy --prune --resolve-image never -c ${managedFiles[0]} ${layout.composeProject}`;

/**
 * `swarm_wait SINCE`: waits until every service of the stack has all its tasks running and no
 * update of it (started at or after SINCE, epoch seconds) is still going; sets $reason when
 * Swarm rolled an update back or paused it, or when the time ran out.
 */
function waitForSwarm(layout: HostLayout, services: readonly string[], startTimeoutSeconds: number, stableChecks: number): string[] {
  const names = services.map((s) => `${layout.composeProject}_${s}`);
  return [
    `swarm_wait() {`,
    sh`  since=$1; start=$(date +%s); stable=0; reason=""`,
    `  while :; do`,
    `    pending=""`,
    sh`    for svc in ${names}; do`,
    // The guard: a service never updated has no UpdateStatus (its template would fail on nil).
    `      st=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.StartedAt.Unix}}|{{.UpdateStatus.Message}}{{else}}none|0|{{end}}' "$svc" 2>/dev/null) || { pending="$pending $svc(missing)"; continue; }`,
    `      state=\${st%%|*}; rest=\${st#*|}; started=\${rest%%|*}; msg=\${rest#*|}`,
    `      reps=$(docker service ls --filter "name=$svc" --format '{{.Name}} {{.Replicas}}' | awk -v s="$svc" '$1==s{print $2}')`,
    `      run=\${reps%%/*}; want=\${reps#*/}; want=\${want%% *}`,
    `      if [ "\${started:-0}" -ge "$since" ]; then`,
    `        case "$state" in`,
    `          rollback_started|rollback_completed) reason="Swarm rolled the update of $svc back: $msg"; return ;;`,
    `          paused|rollback_paused) reason="Swarm paused the update of $svc: $msg"; return ;;`,
    `          completed) ;;`,
    `          *) pending="$pending $svc($state)"; continue ;;`,
    `        esac`,
    `      fi`,
    `      [ -n "$run" ] && [ "$run" = "$want" ] || pending="$pending $svc($reps running)"`,
    `    done`,
    `    if [ -z "$pending" ]; then stable=$((stable + 1)); else stable=0; fi`,
    sh`    [ "$stable" -ge ${stableChecks} ] && return`,
    sh`    if [ $(( $(date +%s) - start )) -ge ${startTimeoutSeconds} ]; then reason="not running after ${startTimeoutSeconds} s:$pending"; return; fi`,
    `    sleep 1`,
    `  done`,
    `}`,
  ];
}

/** The switch of engine swarm: prints the same summary line as the compose switch. */
export function switchStack(args: SwitchReleaseArgs): string {
  const { layout } = args;
  const [compose, env] = managedFiles;
  const services = args.services.map((s) => s.name);
  const wait = waitForSwarm(layout, services, args.startTimeoutSeconds, args.stableChecks);
  return [
    ...stageRelease(args),
    ...backupCurrentFiles(args.retainBackups),
    ...wait,
    // Swarm has usually rolled the failed update back already; deploying the previous files makes sure, and restarts nothing that runs them.
    `undo() {`,
    `  if [ "$had_previous" = 1 ]; then`,
    `    cp -p "$bak/${compose}" ${compose} && { if [ -f "$bak/${env}" ]; then cp -p "$bak/${env}" ${env}; else rm -f ${env}; fi; }`,
    `    if uout=$(${stackDeploy(layout)} 2>&1); then swarm_wait "$(date +%s)"; echo "the previous release was deployed again\${reason:+ (but: $reason)}" >&2; else printf 'deploying the previous release again FAILED too:\\n%s\\n' "$(printf '%s\\n' "$uout" | tail -n 5 | cut -c1-300)" >&2; fi`,
    `  else`,
    sh`    docker stack rm ${layout.composeProject} >/dev/null 2>&1; rm -f ${compose} ${env}; echo "there was no previous release: the new stack was removed (volumes kept)" >&2`,
    `  fi`,
    `}`,
    `phase backup`,
    `mv -f "$stage/${compose}" ${compose} && mv -f "$stage/${env}" ${env} || { undo; fail "could not put the new files in place"; }`,
    `since=$(date +%s)`,
    `if ! out=$(${stackDeploy(layout)} 2>&1); then failed=$(printf '%s\\n' "$out" | tail -n 8 | cut -c1-300); undo; fail "docker stack deploy failed for release $release: $failed"; fi`,
    `phase start`,
    `swarm_wait "$since"`,
    `phase wait`,
    `if [ -n "$reason" ]; then failed=$reason; undo; fail "release $release did not start: $failed"; fi`,
    ...recordRelease(args),
  ].join("\n");
}

/** One line per service of the stack: "<service> <image as pinned> <running | N/M running>". */
export function swarmServices(layout: HostLayout): string {
  const prefix = `${layout.composeProject}_`;
  return [
    sh`docker service ls --filter ${`label=com.docker.stack.namespace=${layout.composeProject}`} --format '{{.Name}} {{.Replicas}}' 2>/dev/null | while read -r name reps; do`,
    `  img=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$name" 2>/dev/null); run=\${reps%%/*}; want=\${reps#*/}; want=\${want%% *}`,
    `  if [ "$run" = "$want" ]; then st=running; else st="$run/$want-running"; fi`,
    sh`  echo "\${name#${prefix}} $img $st"`,
    `done | sort`,
  ].join("\n");
}

/** Destroy: the stack's services go; volumes and files stay. */
export function teardownStack(layout: HostLayout): string {
  return [
    sh`docker stack ls --format '{{.Name}}' 2>/dev/null | grep -qx ${layout.composeProject} || { echo stopped; exit 0; }`,
    sh`out=$(docker stack rm ${layout.composeProject} 2>&1) || { printf '%s\\n' "$out" | tail -n 10 | cut -c1-300 >&2; exit 1; }`,
    `echo stopped`,
  ].join("\n");
}

/** A running container of the service (exec checks run in it); empty when none runs on this node. */
export function swarmServiceContainer(layout: HostLayout, service: string): string {
  return sh`docker ps -q --filter ${`label=com.docker.swarm.service.name=${layout.composeProject}_${service}`} | head -n 1`;
}
