// The seed's pre-deployment checks, each reported pass/fail with its reason: CI/CD status,
// environment validation, resource availability, rollback possible, git tree clean.
export type { PrecheckResult };
// A check that cannot run (host unreachable) fails with the cause; nothing here changes the host.
import type { Release, StackConfig } from "../../components/config/schema.js";
import { describeLock } from "../../components/host-commands/lock.js";
import { judgePrecheck } from "../../components/host-commands/precheck.js";
import { errorDetail, firstLine } from "../common/errors.js";
import type { HostDoor } from "../host/operations.js";
import type { PrecheckResult } from "../report/summary.js";
import type { ReleaseContext } from "./open.js";
import { toleranceOf } from "../monitor/policy.js";
import { onFailureText } from "./pause.js";
import { policyFor } from "../monitor/watch.js";
import { hostLabel, stackHosts } from "./hosts.js";
import { verifiedReleases } from "./releases.js";
import { stop, type Stage } from "./run.js";


export type CiState = "success" | "failure" | "pending" | "missing";

/** Asks the forge whether the commit's CI/CD run succeeded. */
export type CiStatusSource = (sha: string) => Promise<{ state: CiState; runUrl?: string | undefined; detail?: string }>;

/** A host to check: its label in check names ("" for a one-host stack) and the rollback target's images there. */
export interface HostToCheck {
  label: string;
  door: HostDoor;
  /** Images of the release a failure would roll back to, by digest; none on a first deploy. */
  rollbackImages?: string[] | undefined;
}

export interface PrecheckOptions {
  config: StackConfig;
  release: Release;
  hosts: HostToCheck[];
  /** `git status --porcelain` output of the release's working tree. */
  gitStatus: () => string;
  /** Skips the CI/CD check: only ever on an explicit operator flag. */
  skipCiCheck: boolean;
  ciStatus?: CiStatusSource | undefined;
  /** Skips the git-clean check (local experiments). */
  allowDirty: boolean;
  rollbackReleaseId?: string | undefined;
}

async function check(name: string, run: () => Promise<Omit<PrecheckResult, "name">>): Promise<PrecheckResult> {
  try {
    return { name, ...(await run()) };
  } catch (err) {
    return { name, ok: false, detail: errorDetail(err) };
  }
}

async function runPrechecks(opts: PrecheckOptions): Promise<PrecheckResult[]> {
  const results: PrecheckResult[] = [];
  const { config, release } = opts;

  results.push(
    await check("ci-cd status", async () => {
      if (opts.skipCiCheck) return { ok: true, skipped: true, detail: "skipped by --skip-ci-check" };
      if (!release.gitSha) return { ok: false, detail: "the release names no git sha: pass --git-sha SHA (or --skip-ci-check)" };
      if (!opts.ciStatus)
        return {
          ok: false,
          detail: "no GitHub repository to ask (set GITHUB_REPOSITORY and GITHUB_TOKEN, or pass --skip-ci-check)",
        };
      const ci = await opts.ciStatus(release.gitSha);
      const where = ci.runUrl ? ` (${ci.runUrl})` : "";
      if (ci.state === "success") return { ok: true, detail: `CI/CD succeeded for ${release.gitSha.slice(0, 12)}${where}` };
      if (ci.state === "missing") return { ok: false, detail: `no CI/CD run found for ${release.gitSha.slice(0, 12)}` };
      return { ok: false, detail: `CI/CD for ${release.gitSha.slice(0, 12)} is ${ci.state}${where}: fix it or wait for it` };
    }),
  );

  results.push(
    await check("config and secrets", async () => {
      const host = config.hosts[0];
      const key = host?.privateKey ?? config.sshPrivateKey;
      if (!key) return { ok: false, detail: "no SSH private key (pulumi config set --secret sshPrivateKey …)" };
      return { ok: true, detail: `${config.hosts.length} host(s), ${Object.keys(config.services).length} service(s), SSH key present` };
    }),
  );

  // What the watch will tolerate, in plain numbers; settings worth a second look are said here.
  const tolerance = toleranceOf(policyFor(config));
  results.push({
    name: "monitor policy",
    ok: true,
    detail: [tolerance.text, onFailureText(config.monitor), ...tolerance.warnings.map((w) => `warning: ${w}`)].join("; "),
  });

  // Every host answers for itself: one unready host blocks the deploy of all.
  // Every host at once (a fleet's prechecks take one host's time), reported in the hosts' order.
  const perHost = await Promise.all(opts.hosts.map((h) => hostChecks(opts, h)));
  opts.hosts.forEach((h, i) => results.push(...perHost[i]!.map((r) => ({ ...r, name: `${h.label}${r.name}` }))));

  results.push(
    await check("git tree clean", async () => {
      if (opts.allowDirty) return { ok: true, skipped: true, detail: "skipped by --allow-dirty" };
      const status = opts.gitStatus();
      const dirty = status.split("\n").filter(Boolean);
      if (dirty.length) return { ok: false, detail: `${dirty.length} uncommitted change(s), e.g. ${dirty[0]!.trim()}` };
      return { ok: true, detail: "no uncommitted changes" };
    }),
  );
  return results;
}

/** Reachability, tooling, resources, images and the rollback target on one host (one SSH round trip for the facts). */
async function hostChecks(opts: PrecheckOptions, target: HostToCheck): Promise<PrecheckResult[]> {
  const { config, release } = opts;
  const host = target.door;
  const results: PrecheckResult[] = [];
  const facts = await host.facts().then(
    (f) => ({ ok: true as const, f }),
    (err: unknown) => ({ ok: false as const, err: firstLine(err) }),
  );
  results.push({
    name: "ssh reachable",
    ok: facts.ok,
    detail: facts.ok ? `connected to ${host.exec.address}` : facts.err,
  });
  if (facts.ok) {
    const problems = judgePrecheck(facts.f, config.precheck);
    const tooling = problems.filter((p) => /docker|compose/.test(p));
    const resources = problems.filter((p) => !/docker|compose/.test(p));
    results.push({
      name: "docker and compose",
      ok: tooling.length === 0,
      detail: tooling.length ? tooling.join("; ") : `docker ${facts.f.dockerServer}, ${config.composeCommand} ${facts.f.compose}`,
    });
    results.push({
      name: "disk and memory",
      ok: resources.length === 0,
      detail: resources.length
        ? resources.join("; ")
        : `${facts.f.diskFreeMb} MB disk free at ${facts.f.diskPath} (floor ${config.precheck.minFreeDiskMb}), ` +
          `${facts.f.memAvailableMb} MB memory available (floor ${config.precheck.minFreeMemoryMb})`,
    });

    // The two image checks are independent: one round trip's time, not two.
    const [inRegistry, rollbackPossible] = await Promise.all([
      check("images in registry", async () => {
        const refs = Object.values(release.images);
        const { missing } = await host.registryCheck(refs, config.registryAuth);
        if (missing.length) return { ok: false, detail: missing.map((m) => `${m.ref} not found: ${m.reason}`).join("; ") };
        return { ok: true, detail: `${refs.length} image(s) found` };
      }),
      check("rollback possible", async () => {
        const rollbackImages = target.rollbackImages;
        if (!rollbackImages || !opts.rollbackReleaseId)
          return { ok: true, detail: "first verified deploy: no earlier verified release to roll back to" };
        const { missing } = await host.imagesOnHost(rollbackImages);
        if (!missing.length) return { ok: true, detail: `${opts.rollbackReleaseId}'s ${rollbackImages.length} image(s) are on the host` };
        // Gone from the host (pruned) is still possible when the registry has them: the rollback pulls them by digest.
        const gone = (await host.registryCheck(missing, opts.config.registryAuth)).missing;
        if (gone.length)
          return {
            ok: false,
            detail:
              `images of the last verified release ${opts.rollbackReleaseId} are gone from the host and from the registry: ` +
              gone.map((g) => `${g.ref} (${g.reason})`).join(", "),
          };
        return { ok: true, detail: `${opts.rollbackReleaseId}'s image(s) ${missing.join(", ")} are not on the host; the registry has them (a rollback pulls them)` };
      }),
    ]);
    results.push(inRegistry, rollbackPossible);
  } else {
    for (const name of ["docker and compose", "disk and memory", "images in registry", "rollback possible"]) {
      results.push({ name, ok: false, detail: "not checked: the host is unreachable" });
    }
  }

  return results;
}

/** Options of the precheck stage that come from the operator. */
export interface PrecheckFlags {
  skipCiCheck?: boolean | undefined;
  allowDirty?: boolean | undefined;
}

/**
 * The prechecks as a stage: a failed check blocks the run before the host changes. The
 * rollback target's images are looked for on the host; `lockFree` adds the "no deployment in
 * progress" check (for `precheck`, which takes no lock itself).
 */
export function runPrecheckStage<C extends ReleaseContext & { readonly flags: PrecheckFlags }>(opts: { lockFree: boolean }): Stage<C> {
  return {
    name: "prechecks",
    async run(ctx) {
      const { engine, host, config, release, summary } = { ...ctx, engine: ctx.engine!, host: ctx.host!, config: ctx.config!, release: ctx.release! };
      const verified = await verifiedReleases(engine);
      const target = verified.find((v) => v.id !== release.id) ?? verified[0];
      // Each host's own record says which digests its rollback would need.
      const hosts = await Promise.all(
        stackHosts(ctx).map(async (h): Promise<HostToCheck> => {
          const hostStatus = await h.door.status().catch(() => null);
          const rollbackImages =
            hostStatus?.verified && target && hostStatus.verified.id === target.id ? Object.values(hostStatus.verified.images) : undefined;
          return { label: hostLabel(ctx, h.name), door: h.door, rollbackImages };
        }),
      );
      summary.prechecks = await runPrechecks({
        config,
        release,
        hosts,
        skipCiCheck: ctx.flags.skipCiCheck ?? false,
        ciStatus: ctx.deps.ciStatus,
        allowDirty: ctx.flags.allowDirty ?? false,
        gitStatus: ctx.deps.gitStatus,
        rollbackReleaseId: target?.id,
      });
      if (opts.lockFree) {
        const lock = await host.lockInfo().catch(() => null);
        summary.prechecks.push({
          name: "no deployment in progress",
          ok: lock === null,
          detail: lock ? `held by ${describeLock(lock)}` : "host lock free",
        });
      }
      for (const p of summary.prechecks) ctx.log.info(`  ${p.ok ? "pass" : "FAIL"} ${p.name}: ${p.detail}`);
      const failed = summary.prechecks.filter((p) => !p.ok);
      if (failed.length) return stop("blocked", `Blocked by prechecks: ${failed.map((f) => f.name).join(", ")}. The host was not changed.`);
    },
  };
}
