// What the driver asks of a host, each as one command built by components/host-commands,
// run by the SSH executor, and its output parsed into data.
import {
  acquireLock,
  parseColorStates,
  readColorStates,
  type ColorStates,
  appendAuditEntry,
  clearReleasePause,
  markReleasePaused,
  notPausedExitCode,
  parsePauseDecision,
  takePauseDecision,
  writePauseDecision,
  type PauseDecisionFile,
  type PausedRecord,
  parseAuditLog,
  readAuditLog,
  type AuditEntry,
  type AuditLog,
  imagesPresent,
  inspectLock,
  listBackups,
  observeHost,
  parseObservation,
  type HostObservation,
  listBackupSets,
  markReleaseFailed,
  parseBackupSets,
  parseRestoreOutput,
  restoreBackupSet,
  parseRegistryCheck,
  parseRunningServices,
  registryHasImages,
  registryLogin,
  type RegistryLogin,
  runningServices,
  lockBusyExitCode,
  markReleaseVerified,
  parseDeploymentStatus,
  parseImagesPresent,
  parseLockInfo,
  parsePrecheck,
  precheckProbe,
  readDeploymentStatus,
  releaseLock,
  renewLock,
  type BackupSet,
  type DeploymentStatus,
  type HostLayout,
  type LockInfo,
  type LockOwner,
  type LockRequest,
  type PrecheckReport,
  type RestoreResult,
  type RestoreSetArgs,
} from "../../components/host-commands/index.js";
import type { ExecResult, HostExec } from "./ssh.js";

export class HostCommandError extends Error {
  override name = "HostCommandError";
  constructor(
    readonly what: string,
    readonly address: string,
    readonly result: ExecResult,
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-6).join("\n");
    super(`${what} failed on ${address} (exit ${result.code})${detail ? `:\n${detail}` : ""}`);
  }
}

export type LockAttempt = { acquired: true; brokeStale?: string } | { acquired: false; holder: LockInfo | null };
/** A heartbeat: renewed, or lost (`holder`: who holds the lock now; null when nobody does). */
export type LockRenewal = { renewed: true } | { renewed: false; holder: LockInfo | null };

/** What the stages ask of a host; tests put a fake behind the same interface. */
export interface HostDoor {
  readonly exec: HostExec;
  readonly layout: HostLayout;
  /** Takes the lock, breaking one whose heartbeat is `leaseSeconds` old (one atomic step on the host). */
  tryLock(req: LockRequest): Promise<LockAttempt>;
  /** The holder's heartbeat: only the owner of this acquisition (holder and nonce) renews. */
  renewLock(owner: LockOwner): Promise<LockRenewal>;
  /** Releases the lock if `owner` holds it (throws when another does), or whoever holds it ("force"). */
  unlock(owner: LockOwner | "force"): Promise<void>;
  lockInfo(): Promise<LockInfo | null>;
  facts(): Promise<PrecheckReport>;
  imagesOnHost(refs: readonly string[]): Promise<{ present: string[]; missing: string[] }>;
  /** Which refs the registry lacks; with `login`, the host's docker logs in first (a private registry answers only then). */
  registryCheck(refs: readonly string[], login?: RegistryLogin & { password: string }): Promise<{ missing: { ref: string; reason: string }[] }>;
  status(): Promise<DeploymentStatus | null>;
  /** blue-green: the live color and what each color runs (undefined with recreate). */
  colors(): Promise<ColorStates | undefined>;
  running(): Promise<{ service: string; image: string; state: string }[]>;
  /** The record, the compose file's hash and the containers, in one round trip. */
  observe(): Promise<HostObservation>;
  markVerified(releaseId: string): Promise<void>;
  /** Records the release as the last one that failed its health check on this host. */
  markFailed(releaseId: string, reason: string): Promise<void>;
  backups(): Promise<string[]>;
  /** Marks the current release paused in deployment.json (throws when it is not current). */
  markPaused(record: PausedRecord): Promise<void>;
  /** Ends a pause without a verdict: the mark and any decision file go. */
  clearPause(releaseId: string): Promise<void>;
  /** Leaves promote/abort for the paused deploy; false when that release is not paused there. */
  decidePause(decision: PauseDecisionFile): Promise<boolean>;
  /** The decision left for the paused deploy, removed once read; undefined while there is none. */
  takePauseDecision(): Promise<PauseDecisionFile | undefined>;
  /** Appends one entry to the host's audit.log (one line, one write, under the lock's flock). */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** The newest `limit` entries of audit.log, newest first, and the lines that are not entries. */
  auditLog(limit: number): Promise<AuditLog>;
  /** The backup sets on the host, oldest first. */
  backupSets(): Promise<BackupSet[]>;
  /** Restores one set by name (the current files become a set first); what it printed, parsed. */
  restoreBackupSet(args: Omit<RestoreSetArgs, "layout">): Promise<RestoreResult>;
  close(): void;
}

export class HostOps implements HostDoor {
  constructor(
    readonly exec: HostExec,
    readonly layout: HostLayout,
  ) {}

  private async must(what: string, command: string, timeoutMs?: number): Promise<ExecResult> {
    const result = await this.exec.run(command, { timeoutMs });
    if (result.code !== 0) throw new HostCommandError(what, this.exec.address, result);
    return result;
  }

  async tryLock(req: LockRequest): Promise<LockAttempt> {
    const result = await this.exec.run(acquireLock(this.layout, req));
    if (result.code === 0 && result.stdout.trim() === "acquired") {
      const stale = result.stderr.match(/breaking a stale lock \((.*)\)/)?.[1];
      return stale ? { acquired: true, brokeStale: stale } : { acquired: true };
    }
    if (result.code === lockBusyExitCode && result.stdout.startsWith("locked")) {
      return { acquired: false, holder: parseLockInfo(result.stdout.slice("locked".length)) };
    }
    throw new HostCommandError("taking the deploy lock", this.exec.address, result);
  }

  async renewLock(owner: LockOwner): Promise<LockRenewal> {
    const result = await this.exec.run(renewLock(this.layout, owner), { timeoutMs: 30_000 });
    if (result.code === 0 && result.stdout.trim() === "renewed") return { renewed: true };
    if (result.code === lockBusyExitCode && result.stdout.startsWith("not locked")) return { renewed: false, holder: null };
    if (result.code === lockBusyExitCode && result.stdout.startsWith("locked")) {
      return { renewed: false, holder: parseLockInfo(result.stdout.slice("locked".length)) };
    }
    throw new HostCommandError("renewing the deploy lock", this.exec.address, result);
  }

  async unlock(owner: LockOwner | "force"): Promise<void> {
    await this.must("releasing the deploy lock", releaseLock(this.layout, owner));
  }

  async lockInfo(): Promise<LockInfo | null> {
    return parseLockInfo((await this.must("reading the deploy lock", inspectLock(this.layout))).stdout);
  }

  async facts(): Promise<PrecheckReport> {
    return parsePrecheck((await this.must("reading host resources", precheckProbe(this.layout))).stdout);
  }

  async imagesOnHost(refs: readonly string[]): Promise<{ present: string[]; missing: string[] }> {
    if (refs.length === 0) return { present: [], missing: [] };
    return parseImagesPresent((await this.must("looking for images on the host", imagesPresent(refs))).stdout);
  }

  async registryCheck(refs: readonly string[], login?: RegistryLogin & { password: string }): Promise<{ missing: { ref: string; reason: string }[] }> {
    if (login) {
      // The password goes over stdin to `docker login --password-stdin`, never on a command line.
      const result = await this.exec.run(registryLogin(login), { timeoutMs: 60_000, stdin: login.password });
      if (result.code !== 0) throw new HostCommandError(`logging in to ${login.server}`, this.exec.address, result);
    }
    const out = await this.exec.run(registryHasImages([...refs]), { timeoutMs: 60_000 });
    return parseRegistryCheck(out.stdout);
  }

  async running(): Promise<{ service: string; image: string; state: string }[]> {
    return parseRunningServices((await this.must("listing the app's containers", runningServices(this.layout), 30_000)).stdout);
  }

  async observe(): Promise<HostObservation> {
    return parseObservation((await this.must("reading what the host runs", observeHost(this.layout), 30_000)).stdout, this.exec.address);
  }

  close(): void {
    this.exec.close();
  }

  async status(): Promise<DeploymentStatus | null> {
    return parseDeploymentStatus((await this.must("reading deployment.json", readDeploymentStatus(this.layout))).stdout, this.exec.address);
  }

  async colors(): Promise<ColorStates | undefined> {
    if (!this.layout.blueGreen) return undefined;
    return parseColorStates((await this.must("reading the blue-green colors", readColorStates(this.layout), 30_000)).stdout);
  }

  async markVerified(releaseId: string): Promise<void> {
    await this.must(`marking ${releaseId} verified in deployment.json`, markReleaseVerified(this.layout, releaseId));
  }

  async backups(): Promise<string[]> {
    const out = (await this.must("listing backups", listBackups(this.layout))).stdout;
    return out.split("\n").filter(Boolean);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.must("appending to audit.log", appendAuditEntry(this.layout, entry), 10_000);
  }

  async auditLog(limit: number): Promise<AuditLog> {
    return parseAuditLog((await this.must("reading audit.log", readAuditLog(this.layout, limit), 30_000)).stdout);
  }

  async markFailed(releaseId: string, reason: string): Promise<void> {
    await this.must(`recording ${releaseId} as failed in deployment.json`, markReleaseFailed(this.layout, releaseId, reason));
  }

  async markPaused(record: PausedRecord): Promise<void> {
    await this.must(`marking ${record.id} paused in deployment.json`, markReleasePaused(this.layout, record));
  }

  async clearPause(releaseId: string): Promise<void> {
    await this.must(`ending the pause of ${releaseId}`, clearReleasePause(this.layout, releaseId));
  }

  async decidePause(decision: PauseDecisionFile): Promise<boolean> {
    const result = await this.exec.run(writePauseDecision(this.layout, decision), { timeoutMs: 30_000 });
    if (result.code === notPausedExitCode) return false;
    if (result.code !== 0) throw new HostCommandError(`leaving the ${decision.decision} decision`, this.exec.address, result);
    return true;
  }

  async takePauseDecision(): Promise<PauseDecisionFile | undefined> {
    return parsePauseDecision((await this.must("reading the pause decision", takePauseDecision(this.layout), 30_000)).stdout, this.exec.address);
  }

  async backupSets(): Promise<BackupSet[]> {
    return parseBackupSets((await this.must("listing backup sets", listBackupSets(this.layout))).stdout, this.layout);
  }

  async restoreBackupSet(args: Omit<RestoreSetArgs, "layout">): Promise<RestoreResult> {
    // Room for the start timeout on top of the copies, the pulls compose may do and the wait.
    const timeoutMs = Math.max(300_000, (args.startTimeoutSeconds + 240) * 1000);
    const out = await this.must(`restoring backup set ${args.set}`, restoreBackupSet({ ...args, layout: this.layout }), timeoutMs);
    return parseRestoreOutput(out.stdout);
  }
}
