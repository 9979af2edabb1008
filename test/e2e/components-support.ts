// Helpers for the component e2e tests: a shell on the sandbox host (the real sshd), HTTP to
// the app, and the stack config of one test's own app dir, project and ports.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { repoRoot } from "../../automation/common/process.js";
import type { SandboxStackOptions, SandboxTarget } from "../../automation/sandbox/target.js";
import { readSandboxTarget } from "../../automation/sandbox/target.js";

export const target: SandboxTarget = readSandboxTarget(repoRoot);

const sshArgs = (command: string) => [
  "-i", target.ssh.privateKeyPath,
  "-p", String(target.ssh.port),
  "-o", "BatchMode=yes",
  "-o", `UserKnownHostsFile=${target.ssh.knownHostsPath}`,
  "-o", "StrictHostKeyChecking=yes",
  `${target.ssh.user}@${target.ssh.host}`,
  command,
];

/** Runs a command on the sandbox host over SSH (as the deploy does); returns stdout. */
export function onHost(command: string): string {
  const r = spawnSync("ssh", sshArgs(command), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`on the host: ${command}\nexit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** onHost without blocking the event loop (timers, other SSH sessions go on meanwhile). */
export function onHostAsync(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", sshArgs(command), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`on the host: ${command.slice(0, 200)}\nexit ${code}: ${stderr}`))));
  });
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** GET on the app; status and body (status 0 when nothing answered). */
export async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

/** Per-service "image state" of the project's containers on the host. */
export function runningOnHost(project: string): Record<string, { image: string; state: string; name: string }> {
  const out = onHost(
    `for id in $(docker ps -a -q --filter label=com.docker.compose.project=${project}); do docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}} {{.State.Status}} {{.Name}}' "$id"; done`,
  );
  const result: Record<string, { image: string; state: string; name: string }> = {};
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [service, image, state, name] = line.split(" ");
    result[service!] = { image: image!, state: state!, name: name!.replace(/^\//, "") };
  }
  return result;
}

export function imagePresentOnHost(ref: string): boolean {
  return onHost(`docker image inspect ${ref} >/dev/null 2>&1 && echo yes || echo no`).trim() === "yes";
}

/** One test file's own corner of the sandbox host: app dir, compose project, ports. */
export function testCorner(name: string, ports: { backend: number; frontend: number }): Required<
  Pick<SandboxStackOptions, "appDir" | "composeProject" | "ports">
> {
  return { appDir: `${target.appDir}-${name}`, composeProject: `awareness-${name}`, ports };
}

/** Removes a corner's containers and files (volumes are not used by the demo app). */
export function clearCorner(corner: { appDir: string; composeProject: string }): void {
  onHost(
    `ids=$(docker ps -a -q --filter label=com.docker.compose.project=${corner.composeProject}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; rm -rf ${corner.appDir}`,
  );
}
