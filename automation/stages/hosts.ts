// Per-host truth. A stack may name several hosts; the program switches every one in one update,
// and any of them can end elsewhere (one switched, one failed, one killed mid-switch). So every
// read of "what runs" and every record (verified, failed) goes to every host, and what a host
// runs is compared with what the state says was applied to *that* host. The first host is the
// primary: the lock, the probes and the break-glass restore live there.
import { parseData } from "../../components/config/parse.js";
import { hostDisplayName } from "../../components/config/schema.js";
import { releaseOutputSchema, type ReleaseRecord } from "../../components/remote-compose-stack.js";
import type { HostObservation } from "../../components/host-commands/observe.js";
import { firstLine } from "../common/errors.js";
import type { HostDoor } from "../host/operations.js";
import { HostUnreachableError } from "../host/ssh.js";
import type { OutputMap } from "@pulumi/pulumi/automation/index.js";
import type { RunContext } from "./run.js";

export interface StackHost {
  /** The host's name in outputs and reports (hostDisplayName). */
  name: string;
  door: HostDoor;
}

/** What the state says each host was last switched to, by host name. */
export type HostRecords = Record<string, ReleaseRecord>;

/** Opens a door to every host of the config (connections are made on first use). */
export function openHosts(ctx: RunContext): StackHost[] {
  const config = ctx.config!;
  const hosts = config.hosts.map((h, i) => ({ name: hostDisplayName(h), door: ctx.deps.openHost(config, i) }));
  ctx.hosts = hosts;
  ctx.host = hosts[0]!.door;
  for (const h of hosts) ctx.onEnd(() => h.door.close());
  return hosts;
}

export const stackHosts = (ctx: RunContext): StackHost[] => ctx.hosts ?? (ctx.host ? [{ name: "", door: ctx.host }] : []);

/** A host's name for messages: nothing when the stack has one host (its messages stay short). */
export const hostLabel = (ctx: RunContext, name: string): string => (stackHosts(ctx).length > 1 ? `host ${name}: ` : "");

/** Each host's applied release from the program's outputs (`hosts.<name>.release`, else `release` for the primary). */
export function recordsIn(outputs: OutputMap, ctx: RunContext, onError?: (what: string, err: unknown) => void): HostRecords {
  const out: HostRecords = {};
  const perHost = (outputs.hosts?.value ?? {}) as Record<string, { release?: unknown } | undefined>;
  stackHosts(ctx).forEach((h, i) => {
    const raw = perHost[h.name]?.release ?? (i === 0 ? outputs.release?.value : undefined);
    if (raw === undefined) return;
    try {
      out[h.name] = parseData(releaseOutputSchema, raw, `the stack output for host ${h.name}`, "release record");
    } catch (err) {
      onError?.(h.name, err);
    }
  });
  return out;
}

/**
 * Observes every host at once. A host SSH cannot reach ends the run (what it runs is unknown:
 * `host-unreachable`); one that answers but cannot be read is a difference, not a crash.
 */
export async function observeHosts(ctx: RunContext): Promise<{ host: StackHost; seen?: HostObservation; error?: string }[]> {
  return Promise.all(
    stackHosts(ctx).map(async (host) => {
      try {
        return { host, seen: await host.door.observe() };
      } catch (err) {
        if (err instanceof HostUnreachableError) throw err;
        return { host, error: firstLine(err) };
      }
    }),
  );
}

/**
 * How every host differs from its record in `records` (empty: each runs exactly what it should).
 * A host with no record is not judged; a host that cannot be read differs ("could not be read").
 */
export async function hostDrift(
  ctx: RunContext,
  records: HostRecords,
  diff: (record: ReleaseRecord, seen: HostObservation) => string[],
): Promise<{ host: string; diffs: string[] }[]> {
  const seen = await observeHosts(ctx);
  return seen
    .filter((s) => records[s.host.name])
    .map((s) => ({
      host: s.host.name,
      diffs: s.seen ? diff(records[s.host.name]!, s.seen) : [`the host could not be read (${s.error})`],
    }))
    .filter((d) => d.diffs.length > 0);
}

/** One line per drifted host, labelled when the stack has several. */
export function describeDrift(ctx: RunContext, drift: { host: string; diffs: string[] }[]): string {
  return drift.map((d) => `${hostLabel(ctx, d.host)}${d.diffs.join("; ")}`).join(" | ");
}

/** Runs `work` on every host (or those `only` keeps); failures are collected (one host's failure never skips another). */
export async function onEveryHost(
  ctx: RunContext,
  work: (door: HostDoor) => Promise<void>,
  only: (host: string) => boolean = () => true,
): Promise<{ host: string; error: unknown }[]> {
  const results = await Promise.all(
    stackHosts(ctx).filter((h) => only(h.name)).map(async (h) => {
      try {
        await work(h.door);
        return undefined;
      } catch (error) {
        return { host: h.name, error };
      }
    }),
  );
  return results.filter((r): r is { host: string; error: unknown } => r !== undefined);
}
