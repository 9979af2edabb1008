// An in-memory host behind the driver's HostDoor: the deploy lock, the facts the prechecks
// judge, the images and the registry, deployment.json (current / previous / verified), the
// running containers and the backups. Nothing runs anywhere: every call is recorded in
// `calls`, and every command given to `exec` in `exec.commands`. A fake engine linked to it
// (test/support/fake-engine.ts) applies each successful update here, as the real switch would
// (backing up what it replaces as a set named by the release those files belonged to).
import { parseObservation, type HostObservation } from "../../components/host-commands/observe.js";
import { parseDeploymentStatus } from "../../components/host-commands/status.js";
import type { VolumeArchive, VolumeToRestore } from "../../components/host-commands/volumes.js";
import { auditLine, parseAuditLog, type AuditEntry, type AuditLog } from "../../components/host-commands/audit.js";
import type { PauseDecisionFile } from "../../components/host-commands/pause.js";
import type { PausedRecord } from "../../components/host-commands/status.js";
import type {
  BackupSet,
  DeploymentRecord,
  DeploymentStatus,
  HostLayout,
  LockInfo,
  LockOwner,
  LockRequest,
  PrecheckReport,
  RestoreResult,
  RestoreSetArgs,
} from "../../components/host-commands/index.js";
import { HostCommandError, type HostDoor, type LockAttempt, type LockRenewal } from "../../automation/host/operations.js";
import { HostUnreachableError, type ExecResult, type HostExec } from "../../automation/host/ssh.js";

/** A HostExec that records each command and answers from a script (default: exit 0, no output). */
export class FakeExec implements HostExec {
  readonly commands: string[] = [];
  /** What each command got on stdin (undefined: nothing), by the index of the command. */
  readonly stdins: (string | undefined)[] = [];
  closed = false;
  private readonly script: { match: RegExp | string; result: ExecResult }[] = [];

  constructor(readonly address: string) {}

  /** Commands matching `match` (a substring or a pattern) get `result`; the newest rule wins. */
  respond(match: RegExp | string, result: Partial<ExecResult>): this {
    this.script.unshift({ match, result: { code: 0, stdout: "", stderr: "", ...result } });
    return this;
  }

  async run(command: string, opts: { stdin?: string } = {}): Promise<ExecResult> {
    this.commands.push(command);
    this.stdins.push(opts.stdin);
    const rule = this.script.find((r) => (typeof r.match === "string" ? command.includes(r.match) : r.match.test(command)));
    return rule ? { ...rule.result } : { code: 0, stdout: "", stderr: "" };
  }

  close(): void {
    this.closed = true;
  }
}

export interface FakeHostOptions {
  address?: string;
  layout?: Partial<HostLayout>;
  facts?: Partial<PrecheckReport>;
  /** The host's clock in ms (default Date.now; a fake clock makes lock ages exact). */
  now?: () => number;
}

/** The lock's info file: who, which acquisition (nonce), when taken, when last renewed. */
export interface FakeLock extends LockOwner {
  release: string;
  time: number;
  heartbeat: number;
}

/** What inspectLock prints of a lock, its ages at `now` (epoch seconds, the host's clock). */
function lockInfoAt(lock: FakeLock, now: number): LockInfo {
  return { ...lock, ageSeconds: now - lock.time, heartbeatAgeSeconds: now - lock.heartbeat };
}

/** The files of every set. */
const setFiles = [".env", "deployment.json", "docker-compose.yml", "manifest.json"] as const;

export const healthyFacts: PrecheckReport = { diskFreeMb: 20_000, diskPath: "/opt/awareness", memAvailableMb: 4_000, dockerServer: "27.3.1", compose: "2.29.7", flock: true };

export class FakeHost implements HostDoor {
  readonly exec: FakeExec;
  readonly layout: HostLayout;
  /** Every HostDoor call in order, by method name ("tryLock", "status", …). */
  readonly calls: string[] = [];

  /** The deploy lock as its info file holds it (times in epoch seconds, from Date.now()). */
  lock: FakeLock | null = null;
  /** Every holder that took the lock, in order. */
  readonly lockHolders: string[] = [];
  factsReport: PrecheckReport;
  /** Image references present on the host (applied releases add theirs). */
  readonly images = new Set<string>();
  /** Image references the registry does not have, with the reason. */
  readonly registryMissing = new Map<string, string>();
  record: DeploymentStatus | null = null;
  containers: { service: string; image: string; state: string }[] = [];
  /** Backup sets, oldest first: the release their files belonged to (null: none recorded). */
  sets: { name: string; release: DeploymentRecord | null; backedUpAt: string; problem?: string; volumes?: VolumeArchive[] }[] = [];
  /** The volume archives each restore was asked to put back (restore --volumes), in order. */
  restoredVolumes: VolumeToRestore[][] = [];
  /** audit.log, line by line as the real append writes them (a test may add malformed ones). */
  auditLines: string[] = [];
  /** When set, appendAudit fails with this (the run must go on and say so). */
  failAudit: string | undefined;
  /** When set, the next restoreBackupSet fails with this (the real one then puts the previous files back). */
  failNextRestore: string | undefined;
  /** While true every call fails like a host SSH cannot reach. */
  unreachable = false;
  /** Called at each door call, by name, before it acts (may throw, or cancel a run). */
  onCall: ((call: string) => void) | undefined;
  closeCount = 0;
  private tick = 0;
  private readonly clockMs: () => number;

  constructor(opts: FakeHostOptions = {}) {
    this.exec = new FakeExec(opts.address ?? "deploy@fake-host:22");
    this.layout = { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose", ...opts.layout };
    this.factsReport = { ...healthyFacts, ...opts.facts };
    this.clockMs = opts.now ?? (() => Date.now());
  }

  private enter(call: string): void {
    this.calls.push(call);
    this.onCall?.(call);
    if (this.unreachable) throw new HostUnreachableError(this.exec.address, "ECONNREFUSED (connect ECONNREFUSED)");
  }

  private nowSeconds(): number {
    return Math.floor(this.clockMs() / 1000);
  }

  private failed(what: string, code: number, stderr: string): never {
    throw new HostCommandError(what, this.exec.address, { code, stdout: "", stderr });
  }

  /**
   * Someone else's lock, taken `ageSeconds` ago (default: a minute) and last renewed
   * `heartbeatAgeSeconds` ago (default: when taken).
   */
  holdLock(holder: string, release: string, ageSeconds = 60, heartbeatAgeSeconds = ageSeconds, nonce = "0ther0wner"): this {
    const now = this.nowSeconds();
    this.lock = { holder, nonce, release, time: now - ageSeconds, heartbeat: now - heartbeatAgeSeconds };
    return this;
  }

  /** As the real command: one atomic step that breaks a lock whose heartbeat is a lease old. */
  async tryLock(req: LockRequest): Promise<LockAttempt> {
    this.enter("tryLock");
    let brokeStale: string | undefined;
    if (this.lock) {
      const info = lockInfoAt(this.lock, this.nowSeconds());
      if (info.heartbeatAgeSeconds! < req.leaseSeconds) return { acquired: false, holder: info };
      brokeStale = `holder=${info.holder} release=${info.release} age=${info.ageSeconds} heartbeat_age=${info.heartbeatAgeSeconds}`;
    }
    const now = this.nowSeconds();
    this.lock = { holder: req.holder, nonce: req.nonce, release: req.releaseId, time: now, heartbeat: now };
    this.lockHolders.push(req.holder);
    return brokeStale ? { acquired: true, brokeStale } : { acquired: true };
  }

  /** As the real command: only the same acquisition (holder and nonce) renews. */
  async renewLock(owner: LockOwner): Promise<LockRenewal> {
    this.enter("renewLock");
    if (!this.lock) return { renewed: false, holder: null };
    if (this.lock.holder !== owner.holder || this.lock.nonce !== owner.nonce) return { renewed: false, holder: lockInfoAt(this.lock, this.nowSeconds()) };
    this.lock.heartbeat = this.nowSeconds();
    return { renewed: true };
  }

  async unlock(owner: LockOwner | "force"): Promise<void> {
    this.enter(owner === "force" ? "unlock --force" : "unlock");
    if (!this.lock) return;
    if (owner !== "force" && (this.lock.holder !== owner.holder || this.lock.nonce !== owner.nonce)) {
      this.failed("releasing the deploy lock", 3, `not released: held by ${this.lock.holder}`);
    }
    this.lock = null;
  }

  async lockInfo(): Promise<LockInfo | null> {
    this.enter("lockInfo");
    return this.lock ? lockInfoAt(this.lock, this.nowSeconds()) : null;
  }

  async facts(): Promise<PrecheckReport> {
    this.enter("facts");
    return { ...this.factsReport };
  }

  async imagesOnHost(refs: readonly string[]): Promise<{ present: string[]; missing: string[] }> {
    this.enter("imagesOnHost");
    return { present: refs.filter((r) => this.images.has(r)), missing: refs.filter((r) => !this.images.has(r)) };
  }

  async registryCheck(refs: readonly string[], login?: { server: string }): Promise<{ missing: { ref: string; reason: string }[] }> {
    if (login) this.enter(`registryLogin ${login.server}`);
    this.enter("registryCheck");
    return { missing: refs.filter((r) => this.registryMissing.has(r)).map((ref) => ({ ref, reason: this.registryMissing.get(ref)! })) };
  }

  /** deployment.json's text when it is no record (garbage, truncated): read as the real door reads it. */
  recordText: string | undefined;

  async colors(): Promise<undefined> {
    this.enter("colors");
    return undefined;
  }

  async status(): Promise<DeploymentStatus | null> {
    this.enter("status");
    if (this.recordText !== undefined) return parseDeploymentStatus(this.recordText, this.exec.address);
    return this.record ? structuredClone(this.record) : null;
  }

  async running(): Promise<{ service: string; image: string; state: string }[]> {
    this.enter("running");
    return this.containers.map((c) => ({ ...c }));
  }

  /** The compose file's hash on "disk": the current record's unless a test says otherwise. */
  composeOnDisk: string | null | undefined;

  async observe(): Promise<HostObservation> {
    this.enter("observe");
    const composeSha256 = this.composeOnDisk !== undefined ? this.composeOnDisk : (this.record?.current?.composeSha256 ?? null);
    const containers = this.containers.map((c) => ({ ...c }));
    if (this.recordText !== undefined) {
      return { ...parseObservation(`${this.recordText}\n--- awareness observe compose\n--- awareness observe containers\n`, this.exec.address), composeSha256, containers };
    }
    return { status: this.record ? structuredClone(this.record) : null, composeSha256, containers };
  }

  /** As the real command: only the current release can be marked verified (exit 4 otherwise). */
  async markVerified(releaseId: string): Promise<void> {
    this.enter("markVerified");
    const current = this.record?.current;
    if (!this.record || !current || current.id !== releaseId) {
      this.failed(`marking ${releaseId} verified in deployment.json`, 4, `release ${releaseId} is not the current release on this host; not marked verified`);
    }
    this.record.verified = { ...structuredClone(current), verifiedAt: this.timestamp() };
    if (this.record.failed?.id === releaseId) this.record.failed = null;
    if (this.record.paused?.id === releaseId) this.record.paused = null;
    this.record.updatedAt = this.timestamp();
  }

  async markFailed(releaseId: string, reason: string): Promise<void> {
    this.enter("markFailed");
    // As the real command: the reason goes into deployment.json as one line.
    if (/[\n\r\0]/.test(reason)) throw new Error("the reason must be a single line");
    if (this.record) this.record.failed = { id: releaseId, reason, failedAt: this.timestamp() };
    if (this.record?.paused?.id === releaseId) this.record.paused = null;
  }

  /** The decision file in the app dir (promote/abort leave it, the paused deploy takes it). */
  pauseDecision: PauseDecisionFile | undefined;

  async markPaused(record: PausedRecord): Promise<void> {
    this.enter("markPaused");
    if (this.record?.current?.id !== record.id) this.failed(`marking ${record.id} paused in deployment.json`, 4, `release ${record.id} is not the current release on this host; not paused`);
    this.pauseDecision = undefined;
    this.record!.paused = structuredClone(record);
  }

  async clearPause(releaseId: string): Promise<void> {
    this.enter("clearPause");
    this.pauseDecision = undefined;
    if (this.record?.paused?.id === releaseId) this.record.paused = null;
  }

  async decidePause(decision: PauseDecisionFile): Promise<boolean> {
    this.enter("decidePause");
    if (this.record?.paused?.id !== decision.release) return false;
    this.pauseDecision = structuredClone(decision);
    return true;
  }

  async takePauseDecision(): Promise<PauseDecisionFile | undefined> {
    this.enter("takePauseDecision");
    const taken = this.pauseDecision;
    this.pauseDecision = undefined;
    return taken;
  }

  /** As the real command: validated, one JSON line appended. */
  async appendAudit(entry: AuditEntry): Promise<void> {
    this.enter("appendAudit");
    if (this.failAudit) this.failed("appending to audit.log", 1, this.failAudit);
    this.auditLines.push(auditLine(entry));
  }

  async auditLog(limit: number): Promise<AuditLog> {
    this.enter("auditLog");
    return parseAuditLog(this.auditLines.slice(-limit).join("\n"));
  }

  /** The entries of audit.log, oldest first (malformed lines left out). */
  get auditEntries(): AuditEntry[] {
    return parseAuditLog(this.auditLines.join("\n")).entries.reverse();
  }

  async backups(): Promise<string[]> {
    this.enter("backups");
    return this.sets.flatMap((set) => setFiles.map((f) => `${this.layout.appDir}/backups/${set.name}/${f}`));
  }

  async backupSets(): Promise<BackupSet[]> {
    this.enter("backupSets");
    return this.sets.map(({ name, release, backedUpAt, problem, volumes }) => ({
      ...(problem ? { problem } : {}),
      name,
      path: `${this.layout.appDir}/backups/${name}`,
      // A set with a problem and no release stands for one whose manifest is unreadable.
      manifest: problem && !release ? null : {
        schema: 1,
        set: name,
        backedUpAt,
        release: structuredClone(release),
        composeSha256: release?.composeSha256 ?? null,
        files: ["docker-compose.yml", ".env", "deployment.json"],
        ...(volumes ? { volumes: structuredClone(volumes) } : {}),
      },
      releaseId: release?.id,
      files: [...setFiles],
    }));
  }

  /** As the real command: the current files become a set, the named set's release runs and is "current". */
  async restoreBackupSet(args: Omit<RestoreSetArgs, "layout">): Promise<RestoreResult> {
    this.enter("restoreBackupSet");
    const set = this.sets.find((s) => s.name === args.set);
    const what = `restoring backup set ${args.set}`;
    if (!set) this.failed(what, 1, `no backup set ${this.layout.appDir}/backups/${args.set} with a manifest and a compose file on this host`);
    if (!set.release) this.failed(what, 1, `the manifest of ${this.layout.appDir}/backups/${args.set} names no release: nothing was changed`);
    if (this.failNextRestore) {
      const reason = this.failNextRestore;
      this.failNextRestore = undefined;
      this.failed(what, 1, `the restored release ${set.release.id} did not start: ${reason}\nthe previous release was brought up again`);
    }
    const volumes = (args.volumes ?? []).map((v) => v.name);
    if (volumes.length > 0) this.restoredVolumes.push(structuredClone([...args.volumes!]));
    const backup = this.backUpCurrent();
    const now = this.timestamp();
    const { verifiedAt: _v, ...rest } = structuredClone(set.release);
    const restored: DeploymentRecord = { ...rest, deployedAt: now };
    const before = this.record;
    const same = before?.current?.id === restored.id;
    this.record = {
      schema: 1,
      current: restored,
      previous: (same ? before?.previous : before?.current) ?? null,
      verified: before?.verified ?? null,
      failed: before?.failed ?? null,
      paused: null,
      updatedAt: now,
    };
    this.runRelease(restored);
    this.sets = this.sets.slice(-args.retainSets);
    return { restored: `backups/${set.name}`, release: restored.id, backup: backup ? `backups/${backup}` : "", deployedAt: now, volumes };
  }

  close(): void {
    this.calls.push("close");
    this.closeCount += 1;
    this.exec.close();
  }

  /** What the switch does on a successful update: backs up the files, records and runs the release. */
  applyRelease(release: DeploymentRecord): void {
    this.composeOnDisk = undefined; // the switch writes the compose file: the disk matches the record again
    const { id, gitSha, images, composeSha256, composeCommand, deployedAt } = release;
    const entry: DeploymentRecord = structuredClone({ id, gitSha, images, composeSha256, composeCommand, deployedAt });
    // An unreadable record reads as none to the switch (its sed finds no record lines): it writes a fresh one.
    const unreadable = this.recordText !== undefined;
    this.recordText = undefined;
    if (unreadable) this.record = null;
    if (!unreadable && this.record?.current?.id === release.id && this.record.current.composeSha256 === release.composeSha256) return;
    this.backUpCurrent();
    const same = this.record?.current?.id === release.id;
    this.record = {
      schema: 1,
      current: entry,
      previous: (same ? this.record?.previous : this.record?.current) ?? null,
      verified: this.record?.verified ?? null,
      failed: this.record?.failed ?? null,
      paused: null,
      updatedAt: this.timestamp(),
    };
    this.runRelease(entry);
  }

  /** Seeds a backup set of `release` (null: files no deployment.json named); returns its name. */
  addSet(release: DeploymentRecord | null): string {
    const backedUpAt = this.timestamp();
    const name = `${backedUpAt.replace(/[-:]|\.\d+/g, "")}-${release?.id ?? "unrecorded"}`;
    this.sets.push({ name, release: release ? structuredClone(release) : null, backedUpAt });
    return name;
  }

  /** What the switch and a restore do first: the current files become a set (none when there are none). */
  private backUpCurrent(): string | undefined {
    return this.record ? this.addSet(this.record.current) : undefined;
  }

  private runRelease(release: DeploymentRecord): void {
    for (const ref of Object.values(release.images)) this.images.add(ref);
    this.containers = Object.entries(release.images).map(([service, image]) => ({ service, image, state: "running" }));
  }

  /** The id of the release deployment.json says runs now. */
  get currentId(): string | undefined {
    return this.record?.current?.id;
  }

  get verifiedId(): string | undefined {
    return this.record?.verified?.id;
  }

  private timestamp(): string {
    this.tick += 1;
    return new Date(Date.UTC(2026, 0, 1) + this.tick * 1000).toISOString();
  }
}
