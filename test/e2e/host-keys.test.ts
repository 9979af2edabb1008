// Host keys on the real sshd: off the local sandbox a stack without a pinned key is refused
// before anything is sent; `trust-host` reads the key in the handshake, shows the fingerprint
// OpenSSH shows, and pins it; a key that differs is refused naming host:port and both
// fingerprints, by trust-host and by a deploy.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployRequest } from "../../automation/commands/deploy.js";
import { trustHost } from "../../automation/commands/trust-host.js";
import { applySandboxStackConfig } from "../../automation/sandbox/target.js";
import { driverStack, type DriverStack } from "../support/driver.js";
import { clearCorner, target, testCorner } from "./components-support.js";

const corner = testCorner("host-keys", { backend: 18580, frontend: 18581 });
const stackName = `test-host-keys-${process.pid}`;
const quiet = { info: () => {}, warn: () => {} };
/** Another valid ed25519 key: not the sandbox host's. */
const otherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl other";
let ds: DriverStack;
let base: Omit<DeployRequest, "releaseId">;

const hosts = (hostKey?: string) => [{ name: "sandbox", host: target.ssh.host, port: target.ssh.port, user: target.ssh.user, ...(hostKey ? { hostKey } : {}) }];
const setHosts = async (hostKey?: string) => (await ds.engine()).setConfig({ "awareness:hosts": { value: JSON.stringify(hosts(hostKey)) } });
const pinnedKey = async () => (JSON.parse((await (await ds.engine()).getConfig())["awareness:hosts"]!.value) as { hostKey?: string }[])[0]?.hostKey;
/** What OpenSSH says of the sandbox host's key. */
const sshKeygenFingerprint = () =>
  execFileSync("ssh-keygen", ["-lf", "-"], { input: `${target.ssh.hostPublicKey}\n`, encoding: "utf8" }).split(" ")[1]!;

beforeAll(async () => {
  clearCorner(corner);
  ds = await driverStack(stackName, quiet);
  base = { stackName, deps: ds.deps, skipCiCheck: true, allowDirty: true, log: quiet };
  await applySandboxStackConfig(await ds.engine(), target, "v1", corner);
});

afterAll(async () => {
  clearCorner(corner);
  await ds?.cleanup();
});

describe("host keys are pinned", () => {
  it("a stack without a pinned host key is refused before any SSH connection", async () => {
    await setHosts(undefined);
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome).toBe("usage");
    expect(s.lastStage).toBe("config");
    expect(s.messages.join(" ")).toMatch(new RegExp(`${target.ssh.user}@${target.ssh.host}:${target.ssh.port}: no pinned hostKey.*trust-host --stack ${stackName}`));
  });

  it("trust-host pins the key the server presents, with OpenSSH's fingerprint; a second run says it is pinned", async () => {
    const first = await trustHost({ stackName, deps: ds.deps, log: quiet });
    expect(first.outcome, first.messages.join(" ")).toBe("ok");
    const fingerprint = sshKeygenFingerprint();
    expect(first.messages.join(" ")).toContain(`${target.ssh.host}:${target.ssh.port} presents ${fingerprint}: pinned (ssh-ed25519)`);
    expect((await pinnedKey())?.split(" ").slice(0, 2)).toEqual(target.ssh.hostPublicKey.split(" ").slice(0, 2));
    const again = await trustHost({ stackName, deps: ds.deps, log: quiet });
    expect(again.messages.join(" ")).toContain(`presents ${fingerprint}: already pinned`);
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome, s.messages.join(" ")).toBe("deployed-verified");
  });

  it("a key that differs is refused by a deploy and by trust-host, naming host:port and both fingerprints; --replace pins the new one", async () => {
    await setHosts(otherKey);
    const s = await deploy({ ...base, releaseId: "v1", images: target.releases.v1 });
    expect(s.outcome).toBe("blocked");
    const fingerprint = sshKeygenFingerprint();
    const said = [...s.messages, ...s.prechecks.map((p) => p.detail)].join(" ");
    expect(said).toContain(`${target.ssh.host}:${target.ssh.port}`);
    expect(said).toMatch(new RegExp(`host key mismatch: it presents ${fingerprint.replace(/[+/]/g, "\\$&")}, the stack pins SHA256:`));

    const refused = await trustHost({ stackName, deps: ds.deps, log: quiet });
    expect(refused.outcome).toBe("usage");
    expect(refused.messages.join(" ")).toMatch(/presents SHA256:\S+, but the stack pins SHA256:\S+\. Refused/);
    expect(await pinnedKey()).toBe(otherKey);

    const replaced = await trustHost({ stackName, deps: ds.deps, log: quiet, replace: true });
    expect(replaced.outcome, replaced.messages.join(" ")).toBe("ok");
    expect((await pinnedKey())?.split(" ")[1]).toBe(target.ssh.hostPublicKey.split(" ")[1]);
  });
});
