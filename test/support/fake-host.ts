// An in-memory host behind the driver's HostDoor: the deploy lock, the facts the prechecks
// judge, the images and the registry, deployment.json (current / previous / verified), the
// running containers and the backups. Nothing runs anywhere: every call is recorded in
// `calls`, and every command given to `exec` in `exec.commands`. A fake engine linked to it
// (test/support/fake-engine.ts) applies each successful update here, as the real switch would
// (backing up what it replaces as a set named by the release those files belonged to).
import type {
  BackupSet,
  DeploymentRecord,
  DeploymentStatus,
  HostLayout,
  LockInfo,
  PrecheckReport,
  RestoreResult,
  RestoreSetArgs,
} from "../../components/host-commands/index.js";
import { HostCommandError, type HostDoor, type LockAttempt } from "../../automation/host/operations.js";
import { HostUnreachableError, type ExecResult, type HostExec } from "../../automation/host/ssh.js";

/** A HostExec that records each command and answers from a script (default: exit 0, no output). */
export class FakeExec implements HostExec {
  readonly commands: string[] = [];
  closed = false;
  private readonly script: { match: RegExp | string; result: ExecResult }[] = [];

  constructor(readonly address: string) {}

  /** Commands matching `match` (a substring or a pattern) get `result`; the newest rule wins. */
  respond(match: RegExp | string, result: Partial<ExecResult>): this {
    this.script.unshift({ match, result: { code: 0, stdout: "", stderr: "", ...result } });
    return this;
  }

  async run(command: string): Promise<ExecResult> {
    this.commands.push(command);
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
}

/** The files of every set. */
const setFiles = [".env", "deployment.json", "docker-compose.yml", "manifest.json"] as const;

export const healthyFacts: PrecheckReport = { diskFreeMb: 20_000, memAvailableMb: 4_000, dockerServer: "27.3.1", compose: "2.29.7" };

export class FakeHost implements HostDoor {
  readonly exec: FakeExec;
  readonly layout: HostLayout;
  /** Every HostDoor call in order, by method name ("tryLock", "status", …). */
  readonly calls: string[] = [];

  /** The deploy lock; `ageSeconds` is compared with the stale limit on tryLock. */
  lock: LockInfo | null = null;
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
  sets: { name: string; release: DeploymentRecord | null; backedUpAt: string }[] = [];
  /** When set, the next restoreBackupSet fails with this (the real one then puts the previous files back). */
  failNextRestore: string | undefined;
  /** While true every call fails like a host SSH cannot reach. */
  unreachable = false;
  /** Called at each door call, by name, before it acts (may throw, or cancel a run). */
  onCall: ((call: string) => void) | undefined;
  closeCount = 0;
  private tick = 0;

  constructor(opts: FakeHostOptions = {}) {
    this.exec = new FakeExec(opts.address ?? "deploy@fake-host:22");
    this.layout = { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose", ...opts.layout };
    this.factsReport = { ...healthyFacts, ...opts.facts };
  }

  private enter(call: string): void {
    this.calls.push(call);
    this.onCall?.(call);
    if (this.unreachable) throw new HostUnreachableError(this.exec.address, "ECONNREFUSED (connect ECONNREFUSED)");
  }

  private failed(what: string, code: number, stderr: string): never {
    throw new HostCommandError(what, this.exec.address, { code, stdout: "", stderr });
  }

  /** Someone else's lock, `ageSeconds` old (default: a minute). */
  holdLock(holder: string, release: string, ageSeconds = 60): this {
    this.lock = { holder, release, time: Math.floor(Date.now() / 1000) - ageSeconds, ageSeconds };
    return this;
  }

  async tryLock(holder: string, releaseId: string, staleAfterSeconds: number): Promise<LockAttempt> {
    this.enter("tryLock");
    let brokeStale: string | undefined;
    if (this.lock) {
      if (this.lock.ageSeconds < staleAfterSeconds) return { acquired: false, holder: { ...this.lock } };
      brokeStale = `holder=${this.lock.holder} release=${this.lock.release} age=${this.lock.ageSeconds}`;
    }
    this.lock = { holder, release: releaseId, time: Math.floor(Date.now() / 1000), ageSeconds: 0 };
    this.lockHolders.push(holder);
    return brokeStale ? { acquired: true, brokeStale } : { acquired: true };
  }

  async unlock(holder: string, force = false): Promise<void> {
    this.enter(force ? "unlock --force" : "unlock");
    if (!this.lock) return;
    if (!force && this.lock.holder !== holder) this.failed("releasing the deploy lock", 3, `not released: held by ${this.lock.holder}`);
    this.lock = null;
  }

  async lockInfo(): Promise<LockInfo | null> {
    this.enter("lockInfo");
    return this.lock ? { ...this.lock } : null;
  }

  async facts(): Promise<PrecheckReport> {
    this.enter("facts");
    return { ...this.factsReport };
  }

  async imagesOnHost(refs: readonly string[]): Promise<{ present: string[]; missing: string[] }> {
    this.enter("imagesOnHost");
    return { present: refs.filter((r) => this.images.has(r)), missing: refs.filter((r) => !this.images.has(r)) };
  }

  async registryCheck(refs: readonly string[]): Promise<{ missing: { ref: string; reason: string }[] }> {
    this.enter("registryCheck");
    return { missing: refs.filter((r) => this.registryMissing.has(r)).map((ref) => ({ ref, reason: this.registryMissing.get(ref)! })) };
  }

  async status(): Promise<DeploymentStatus | null> {
    this.enter("status");
    return this.record ? structuredClone(this.record) : null;
  }

  async running(): Promise<{ service: string; image: string; state: string }[]> {
    this.enter("running");
    return this.containers.map((c) => ({ ...c }));
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
    this.record.updatedAt = this.timestamp();
  }

  async markFailed(releaseId: string, reason: string): Promise<void> {
    this.enter("markFailed");
    if (this.record) this.record.failed = { id: releaseId, reason, failedAt: this.timestamp() };
  }

  async backups(): Promise<string[]> {
    this.enter("backups");
    return this.sets.flatMap((set) => setFiles.map((f) => `${this.layout.appDir}/backups/${set.name}/${f}`));
  }

  async backupSets(): Promise<BackupSet[]> {
    this.enter("backupSets");
    return this.sets.map(({ name, release, backedUpAt }) => ({
      name,
      path: `${this.layout.appDir}/backups/${name}`,
      manifest: {
        schema: 1,
        set: name,
        backedUpAt,
        release: structuredClone(release),
        composeSha256: release?.composeSha256 ?? null,
        files: ["docker-compose.yml", ".env", "deployment.json"],
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
      updatedAt: now,
    };
    this.runRelease(restored);
    this.sets = this.sets.slice(-args.retainSets);
    return { restored: `backups/${set.name}`, release: restored.id, backup: backup ? `backups/${backup}` : "", deployedAt: now };
  }

  close(): void {
    this.calls.push("close");
    this.closeCount += 1;
    this.exec.close();
  }

  /** What the switch does on a successful update: backs up the files, records and runs the release. */
  applyRelease(release: DeploymentRecord): void {
    const { id, gitSha, images, composeSha256, composeCommand, deployedAt } = release;
    const entry: DeploymentRecord = structuredClone({ id, gitSha, images, composeSha256, composeCommand, deployedAt });
    if (this.record?.current?.id === release.id && this.record.current.composeSha256 === release.composeSha256) return;
    this.backUpCurrent();
    const same = this.record?.current?.id === release.id;
    this.record = {
      schema: 1,
      current: entry,
      previous: (same ? this.record?.previous : this.record?.current) ?? null,
      verified: this.record?.verified ?? null,
      failed: this.record?.failed ?? null,
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
