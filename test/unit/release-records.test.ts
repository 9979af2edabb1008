// The one release shape (releaseSchema) read back: a release from JSON text or a value, and a
// host's deployment.json (records derived from it). Bad data is an error naming where it came
// from and the key path, never a cast that fails later.
import { describe, expect, it } from "vitest";
import { InvalidDataError, parseRelease, parseReleaseJson, parseStackConfig } from "../../components/config/parse.js";
import type { EngineDoor } from "../../automation/runner.js";
import { lastFailedTag, recordVerified, stackTagLimits, unverifiedTag, verifiedReleases, verifiedTag } from "../../automation/stages/releases.js";
import { deploymentStatusSchema, parseDeploymentStatus, releaseRecordSchema } from "../../components/host-commands/status.js";

const digest = `sha256:${"a".repeat(64)}`;
const stackConfigWhere = "the stack config awareness:release";
const updateWhere = "update 1732712345's config";

/** The error a call throws (fails the test when it throws none). */
function errorOf(fn: () => unknown): InvalidDataError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    return error as InvalidDataError;
  }
  throw new Error("expected an InvalidDataError");
}

describe("parseReleaseJson / parseRelease", () => {
  it("reads a release and fills its defaults, the same value parseStackConfig gives", () => {
    const text = JSON.stringify({ id: "2026.11.27-1", gitSha: "0123456", images: { backend: "ghcr.io/acme/backend:1.2" } });
    const release = parseReleaseJson(text, stackConfigWhere);
    expect(release).toEqual({ id: "2026.11.27-1", gitSha: "0123456", images: { backend: "ghcr.io/acme/backend:1.2" }, env: {} });
    const cfg = parseStackConfig({
      "awareness:hosts": '[{"host":"h"}]',
      "awareness:sshPrivateKey": "k",
      "awareness:services": '{"backend":{}}',
      "awareness:release": text,
    });
    expect(cfg.release).toEqual(release);
    expect(parseRelease(JSON.parse(text), updateWhere)).toEqual(release);
  });

  it("keeps env and a digest reference", () => {
    const value = { id: "v2", images: { backend: `ghcr.io/acme/backend@${digest}` }, env: { APP_ENV: "production" } };
    expect(parseRelease(value, updateWhere)).toEqual(value);
  });

  it("text that is not JSON: the error names where it came from", () => {
    const error = errorOf(() => parseReleaseJson('{"id":"v1",', updateWhere));
    expect(error.message).toMatch(/^update 1732712345's config is not a valid release:\n {2}- \(the whole value\): not valid JSON \(/);
    expect(error.where).toBe(updateWhere);
    expect(() => parseReleaseJson("", stackConfigWhere)).toThrow(/^the stack config awareness:release is not a valid release:.*not valid JSON/s);
  });

  it("a release of the wrong shape: every bad key path, what is allowed and the bad value", () => {
    const error = errorOf(() =>
      parseReleaseJson(
        JSON.stringify({ id: "v1;reboot", gitSha: "HEAD", images: { backend: "nginx" }, env: { "A-B": "x" }, tag: "x" }),
        stackConfigWhere,
      ),
    );
    expect(error.message.split("\n")[0]).toBe("the stack config awareness:release is not a valid release:");
    expect(error.problems.map((p) => p.key).sort()).toEqual(["env.A-B", "gitSha", "id", "images.backend", "tag"]);
    expect(error.message).toContain('  - images.backend: expected an image reference with a tag or digest');
    expect(error.message).toContain('(got "nginx")');
    expect(error.message).toContain("  - tag: unknown key");
    expect(error.message).toContain('  - gitSha: expected a lowercase hex git sha (7 to 40 characters) (got "HEAD")');
  });

  it("a missing id or images, or not an object at all", () => {
    expect(errorOf(() => parseRelease({ images: {} }, updateWhere)).message).toContain("  - id: is required but not set");
    expect(errorOf(() => parseRelease({ id: "v1" }, updateWhere)).message).toContain("  - images: is required but not set");
    expect(errorOf(() => parseReleaseJson('"v1"', updateWhere)).problems).toEqual([
      { key: "(the whole value)", message: expect.stringMatching(/expected object/), shown: '"v1"' },
    ]);
  });
});

const record = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  gitSha: null,
  images: { backend: `ghcr.io/acme/backend@${digest}` },
  composeSha256: "c".repeat(64),
  composeCommand: "docker compose",
  deployedAt: "2026-11-27T06:00:00Z",
  ...extra,
});

describe("parseDeploymentStatus: the host's deployment.json", () => {
  const status = { schema: 1, current: record("v2"), previous: record("v1"), verified: null, failed: null, paused: null, updatedAt: "2026-11-27T06:00:00Z" };

  it("no file yet: null", () => {
    expect(parseDeploymentStatus("null\n")).toBeNull();
    expect(parseDeploymentStatus("")).toBeNull();
  });

  it("reads a valid file as written (one top-level key per line)", () => {
    const text = `{\n  "schema": 1,\n  "current": ${JSON.stringify(status.current)},\n  "previous": ${JSON.stringify(status.previous)},\n  "verified": null,\n  "failed": null,\n  "updatedAt": "2026-11-27T06:00:00Z"\n}\n`;
    expect(parseDeploymentStatus(text)).toEqual(status);
  });

  it("a file written before the failed record existed reads as failed: null; a failed record is read", () => {
    const { failed: _none, paused: _notPaused, ...older } = status;
    expect(parseDeploymentStatus(JSON.stringify(older))).toEqual(status);
    const failed = { id: "v3", reason: "3 failed rounds in a row", failedAt: "2026-11-27T06:05:00Z" };
    expect(parseDeploymentStatus(JSON.stringify({ ...status, failed }))?.failed).toEqual(failed);
    expect(() => parseDeploymentStatus(JSON.stringify({ ...status, failed: { id: "v3" } }))).toThrow(/- failed\.reason: is required/);
  });

  it("a corrupt file (not JSON, e.g. cut short): a clear error naming deployment.json and the host", () => {
    const text = `{\n  "schema": 1,\n  "current": {"id":"v2","gitSha":nu`;
    expect(() => parseDeploymentStatus(text, "deploy@server.example.com:22")).toThrow(
      /^deployment\.json on deploy@server\.example\.com:22 is not a valid deployment record:\n {2}- \(the whole value\): not valid JSON/,
    );
    expect(() => parseDeploymentStatus("<html>")).toThrow(/^the host's deployment\.json is not a valid deployment record:/);
  });

  it("a file of the wrong shape: the error names each bad key path", () => {
    const bad = { ...status, schema: 2, current: record("v2", { composeSha256: "abc" }), previous: { id: "v1" }, updatedAt: "yesterday" };
    const error = errorOf(() => parseDeploymentStatus(JSON.stringify(bad), "h1"));
    expect(error.message.split("\n")[0]).toBe("deployment.json on h1 is not a valid deployment record:");
    expect(error.problems.map((p) => p.key)).toEqual(
      expect.arrayContaining(["schema", "current.composeSha256", "previous.images", "previous.deployedAt", "updatedAt"]),
    );
    expect(error.message).toContain('  - current.composeSha256: expected the compose file\'s sha256 (64 lowercase hex digits) (got "abc")');
    expect(error.message).toContain('  - updatedAt: expected a UTC time like 2026-11-27T06:00:00Z (got "yesterday")');
    expect(() => parseDeploymentStatus("[]")).toThrow(/\(the whole value\): .*expected object/);
    expect(() => parseDeploymentStatus(JSON.stringify({ ...status, verified: undefined }))).toThrow(/- verified: is required but not set/);
  });

  it("drops keys this version does not know (a newer writer's), keeps the rest", () => {
    const newer = { ...status, current: record("v2", { note: "x" }), extra: true };
    expect(parseDeploymentStatus(JSON.stringify(newer))).toEqual(status);
  });

  it("the record is the release's identifying fields, derived from releaseSchema (same rules)", () => {
    expect(releaseRecordSchema.safeParse(record("v1;reboot")).success).toBe(false);
    expect(releaseRecordSchema.safeParse(record("v1", { images: { backend: "nginx" } })).success).toBe(false);
    expect(releaseRecordSchema.safeParse(record("v1", { gitSha: "0123456" })).success).toBe(true);
    expect(releaseRecordSchema.safeParse(record("v1", { gitSha: undefined })).success).toBe(false);
    expect(deploymentStatusSchema.safeParse({ ...status, verified: record("v2", { verifiedAt: "2026-11-27T06:05:00Z" }) }).success).toBe(true);
  });
});

describe("stack tags stay within Pulumi Cloud's limits", () => {
  const tagStore = () => {
    const tags: Record<string, string> = {};
    const engine = { tags: async () => ({ ...tags }), setTag: async (k: string, v: string) => void (tags[k] = v) } as unknown as EngineDoor;
    return { tags, engine };
  };

  it("every tag name is at most 40 characters of the allowed set", () => {
    for (const name of [verifiedTag, lastFailedTag, unverifiedTag]) {
      expect(name.length).toBeLessThanOrEqual(stackTagLimits.name);
      expect(name).toMatch(/^[a-zA-Z0-9-_.:]{1,40}$/);
    }
  });

  it("after many deploys of long release ids the verified tag keeps the newest that fit in 256 characters", async () => {
    const { tags, engine } = tagStore();
    const id = (n: number) => `release-${String(n).padStart(4, "0")}-${"x".repeat(50)}`; // 64 characters
    for (let n = 1; n <= 20; n++) await recordVerified(engine, { id: id(n), update: 1_795_800_000 + n });
    expect(tags[verifiedTag]!.length).toBeLessThanOrEqual(stackTagLimits.value);
    const kept = await verifiedReleases(engine);
    expect(kept.map((r) => r.id)).toEqual([id(20), id(19), id(18)]);
    expect(kept[0]!.update).toBe(1_795_800_020);
  });

  it("short ids keep the ten newest", async () => {
    const { engine } = tagStore();
    for (let n = 1; n <= 12; n++) await recordVerified(engine, { id: `v${n}`, update: 1_795_800_000 + n });
    expect((await verifiedReleases(engine)).map((r) => r.id)).toEqual(["v12", "v11", "v10", "v9", "v8", "v7", "v6", "v5", "v4", "v3"]);
  });
});
