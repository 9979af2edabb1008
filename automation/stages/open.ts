// Opening a run: the stack (selected, or created by a first deploy), its config validated
// before any remote command, the new release computed from the request, and the host door.
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { parseStackConfig, rawFromAutomationConfig } from "../../components/config/parse.js";
import { secretPaths, type Release, type StackConfig } from "../../components/config/schema.js";
import { UsageError } from "../common/errors.js";
import { checkStackName } from "../common/stack-name.js";
import { secretValuesIn } from "../report/redact.js";
import { localStackNames } from "../toolchain/backend.js";
import { refuseUnconfiguredStack } from "./first-run.js";
import { openHosts } from "./hosts.js";
import { adoptLiveRelease, releaseConfig, releaseIn } from "./releases.js";
import { stage, type RunContext } from "./run.js";

/**
 * Opens the engine stack; a bad stack name is refused first. What the opening set up (the
 * run's private work dir) goes on the way out, last, also on a second signal.
 */
const openStackWith = (editSettings: boolean) =>
  stage("open stack", async (ctx) => {
    checkStackName(ctx.stackName);
    const engine = await ctx.deps.openEngine({ stackName: ctx.stackName, mode: ctx.openMode, signal: ctx.cancellation.signal, log: ctx.log, editSettings });
    ctx.engine = engine;
    if (engine.dispose) ctx.onEnd(() => engine.dispose!(), { urgent: true });
  });

export const openStack = openStackWith(false);
/** For trust-host: the pinned keys are the operator's settings, written to their own Pulumi.<stack>.yaml. */
export const openStackToEditSettings = openStackWith(true);

/** The stack config map as it is now (a stack still on the example's placeholder host is refused); its secret values join the run's secrets (masked everywhere). */
export async function readConfig(ctx: RunContext): Promise<ConfigMap> {
  const all = await ctx.engine!.getConfig();
  ctx.secrets.push(...secretValuesIn(all, secretPaths));
  refuseUnconfiguredStack(ctx.stackName, all);
  return all;
}

/** The stack config as it is now, validated, and the host door it names. */
export const loadConfig = stage("config", async (ctx) => {
  ctx.config = parseStackConfig(rawFromAutomationConfig(await readConfig(ctx)));
  connectHost(ctx);
});

/** Off the local sandbox every host's key is pinned: the driver never talks to an unknown server. */
export function requirePinnedHostKeys(stackName: string, config: StackConfig): void {
  if (localStackNames.includes(stackName)) return;
  const unpinned = config.hosts.filter((h) => !h.hostKey);
  if (unpinned.length === 0) return;
  throw new UsageError(
    `${unpinned.map((h) => `${h.user}@${h.host}:${h.port}`).join(", ")}: no pinned hostKey in awareness:hosts. Nothing was sent. ` +
      `Run \`npm run driver -- trust-host --stack ${stackName}\` to see the server's key and record it (compare its fingerprint on the server first).`,
  );
}

export function connectHost(ctx: RunContext): void {
  requirePinnedHostKeys(ctx.stackName, ctx.config!);
  openHosts(ctx);
}

/** What a deploy, precheck or preview asks for: a release id and what changes. */
export interface ReleaseRequest {
  releaseId: string;
  gitSha?: string | undefined;
  /** Service -> image reference; services not named keep the image of the current release. */
  images?: Record<string, string> | undefined;
  env?: Record<string, string> | undefined;
}

export interface ReleaseContext extends RunContext {
  readonly request: ReleaseRequest;
  /** The stack config before this run touched it. */
  before?: ConfigMap;
  release?: Release;
}

/**
 * The new release: the current release's images, overridden by the request. With `declared`
 * (the services the config declares now), images of services the operator removed are not
 * carried over: the live release comes from the backend, so dropping a service from
 * awareness:services is how it leaves (the preview then shows what that deletes).
 */
export function nextRelease(current: Release | undefined, req: ReleaseRequest, declared?: readonly string[]): Release {
  const carried = Object.entries(current?.images ?? {}).filter(([svc]) => !declared || declared.includes(svc));
  return {
    id: req.releaseId,
    ...(req.gitSha ? { gitSha: req.gitSha } : {}),
    images: { ...Object.fromEntries(carried), ...(req.images ?? {}) },
    env: req.env ?? current?.env ?? {},
  };
}

/** The stack config as it would be with `release`, validated (throws ConfigError). */
export function configWithRelease(all: ConfigMap, release: Release): StackConfig {
  return parseStackConfig(rawFromAutomationConfig({ ...all, ...releaseConfig(release) }));
}

type DeclaredServices = Record<string, { image?: unknown } | null>;

/** awareness:services as declared (undefined when it does not parse: the config check names the problem). */
function declaredServices(all: ConfigMap): DeclaredServices | undefined {
  try {
    const services: unknown = JSON.parse(all["awareness:services"]?.value ?? "{}");
    return services && typeof services === "object" && !Array.isArray(services) ? (services as DeclaredServices) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * With no live release (a stack never deployed, its file holding none) no image is carried
 * over: every service without an image of its own must be named by the request.
 */
function requireImagesWithoutLiveRelease(stackName: string, services: DeclaredServices | undefined, release: Release): void {
  const missing = Object.entries(services ?? {}).filter(([name, s]) => !s?.image && !release.images[name]).map(([name]) => name);
  if (missing.length === 0) return;
  throw new UsageError(
    `Stack "${stackName}" has no live release in its backend (no successful update yet), so no image is carried over: ` +
      `name every built service's image with --image (missing: ${missing.map((m) => `--image ${m}=<ref>`).join(" ")}). Nothing was changed.`,
  );
}

async function computeRelease(ctx: ReleaseContext): Promise<void> {
  ctx.before = await readConfig(ctx);
  const current = releaseIn(ctx.before, "the stack config awareness:release");
  const services = declaredServices(ctx.before);
  const release = nextRelease(current, ctx.request, services && Object.keys(services));
  if (!current) requireImagesWithoutLiveRelease(ctx.stackName, services, release);
  ctx.release = release;
  ctx.summary.release = release;
  ctx.config = configWithRelease(ctx.before, release);
}

/** The new release and the whole config with it, validated before any remote command runs. */
export const newReleaseConfig = stage<ReleaseContext>("config", async (ctx) => {
  await computeRelease(ctx);
  connectHost(ctx);
});

/**
 * Once the host lock is held, the config again: the run that held the lock before (the one
 * this run queued behind, or one that ended just before) may have changed the release, and a
 * release built on the config read before the lock would take stale images for the services
 * it does not name, and put a stale config back if it ends before its update.
 */
export const releaseConfigUnderLock = stage<ReleaseContext>("config under lock", async (ctx) => {
  // That run recorded its release in the backend, not in this run's copy of the stack file.
  await adoptLiveRelease(ctx.engine!);
  await computeRelease(ctx);
});
