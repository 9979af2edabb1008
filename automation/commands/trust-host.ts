// trust-host = open stack -> config -> read each host's key during the SSH handshake, show its
// fingerprint, and pin it in awareness:hosts (trust on first use). A pinned key that differs
// is refused, naming host:port and both fingerprints, unless --replace.
import { parseStackConfig, rawFromAutomationConfig } from "../../components/config/parse.js";
import { UsageError } from "../common/errors.js";
import { fingerprintOf, scanHostKey } from "../host/ssh.js";
import type { RunSummary } from "../report/summary.js";
import { openStackToEditSettings, readConfig } from "../stages/open.js";
import { newContext, runStages, stage, stop, type RunContext, type RunOptions } from "../stages/run.js";

export interface TrustHostRequest extends RunOptions {
  /** Only this host (its name in awareness:hosts); default: every host. */
  host?: string | undefined;
  /** Replace a pinned key that differs (the server was re-keyed). */
  replace?: boolean | undefined;
}

interface TrustContext extends RunContext {
  readonly request: TrustHostRequest;
}

const hostsKey = "awareness:hosts";

const pinKeys = stage<TrustContext>("trust", async (ctx) => {
  const all = await readConfig(ctx);
  const config = parseStackConfig(rawFromAutomationConfig(all));
  const raw = JSON.parse(all[hostsKey]!.value) as { name?: string; host: string; port?: number; hostKey?: string }[];
  const chosen = config.hosts.map((h, i) => ({ h, i })).filter(({ h }) => !ctx.request.host || h.name === ctx.request.host);
  if (chosen.length === 0) throw new UsageError(`No host named "${ctx.request.host}" in ${hostsKey} (hosts: ${config.hosts.map((h) => h.name ?? h.host).join(", ")}).`);
  const said: string[] = [];
  for (const { h, i } of chosen) {
    const where = `${h.host}:${h.port}`;
    const seen = await scanHostKey(h.host, h.port);
    if (h.hostKey && h.hostKey.split(" ")[1] === seen.line.split(" ")[1]) {
      said.push(`${where} presents ${seen.fingerprint}: already pinned.`);
      continue;
    }
    if (h.hostKey && !ctx.request.replace) {
      const pinned = fingerprintOf(Buffer.from(h.hostKey.split(" ")[1] ?? "", "base64"));
      throw new UsageError(`${where} presents ${seen.fingerprint}, but the stack pins ${pinned}. Refused: check the server's key, then run again with --replace.`);
    }
    raw[i] = { ...raw[i]!, hostKey: seen.line };
    said.push(`${where} presents ${seen.fingerprint}: pinned (${seen.line.split(" ")[0]}). Compare it on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub`);
  }
  await ctx.engine!.setConfig({ [hostsKey]: { value: JSON.stringify(raw), secret: false } });
  for (const line of said) ctx.log.info(`  ${line}`);
  return stop("ok", ...said);
});

export async function trustHost(req: TrustHostRequest): Promise<RunSummary> {
  const ctx = newContext<TrustContext>("trust-host", req, { request: req });
  return runStages(ctx, [openStackToEditSettings, pinKeys], req.onStage);
}
