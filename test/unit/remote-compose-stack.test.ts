// RemoteComposeStack and the program under Pulumi mocks: children, names, parents, key
// inputs, outputs, and a config error before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rawStackConfig } from "../support/stack-config.js";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string | undefined;
}
const created: Created[] = [];
const calls: { token: string; inputs: Record<string, unknown>; provider?: string | undefined }[] = [];
const digestOf = (name: string) => `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64)}`;

// Mocks are process-wide: set them before the component modules are imported.
await pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      let state: Record<string, unknown> = { ...args.inputs };
      if (args.type === "command:remote:Command") {
        const create = String(args.inputs.create ?? "");
        if (args.name.includes("-pull-")) {
          // What the host prints: the pinned reference of the pulled image.
          const ref = /docker pull (\S+)/.exec(create)?.[1] ?? "";
          const repo = ref.includes("@") ? ref.slice(0, ref.indexOf("@")) : ref.slice(0, ref.lastIndexOf(":"));
          state = { ...state, stdout: ref.includes("@") ? ref : `${repo}@${digestOf(ref)}`, stderr: "" };
        } else {
          state = { ...state, stdout: '{"deployedAt":"2026-11-27T06:00:00Z","backups":["/opt/awareness/x.backup"]}', stderr: "" };
        }
      }
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
      if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
        return { ...args.inputs, id: "x", sha256Digest: digestOf(String(args.inputs.name)) };
      }
      throw new Error(`unexpected call ${args.token}`);
    },
  },
  "awareness",
  "unit",
  false,
);

const { RemoteComposeStack, releaseOutputSchema } = await import("../../components/remote-compose-stack.js");
const { declareStack } = await import("../../components/program.js");
const { parseStackConfig } = await import("../../components/config/parse.js");

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const urnOf = (r: pulumi.Resource) => value(r.urn);
const pinned = `127.0.0.1:5000/awareness-frontend@sha256:${"f".repeat(64)}`;

function rawConfig(extra: Record<string, unknown> = {}): Record<string, string> {
  const base: Record<string, unknown> = {
    hosts: [{ host: "127.0.0.1", port: 2302, user: "root", hostKey: "ssh-ed25519 AAAAC3Nza" }],
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----\n",
    services: { backend: { environment: { PORT: "18080" } }, frontend: { dependsOn: ["backend"], releaseEnv: false } },
    release: { id: "v1", gitSha: "abc1234", images: { backend: "127.0.0.1:5000/awareness-backend:v1", frontend: pinned } },
    secretEnv: { SESSION_SECRET: "s3cret-value" },
    ...extra,
  };
  return rawStackConfig(base);
}

/** Secret inputs reach the mock wrapped in Pulumi's secret signature. */
const secretSig = "1b47061264138c4ac30d75fd1eb44270";
const isSecretInput = (v: unknown) => typeof v === "object" && v !== null && Object.values(v).includes(secretSig);
const plain = (v: unknown): unknown => (isSecretInput(v) ? (v as { value: unknown }).value : v);

describe("RemoteComposeStack (host resolver)", () => {
  let outputs: Record<string, unknown>;
  beforeAll(async () => {
    created.length = 0;
    outputs = declareStack(parseStackConfig(rawConfig()));
    await value(outputs.release as pulumi.Output<unknown>);
  });

  it("declares the component, one pull per service, then the switch", () => {
    expect(created.map((c) => `${c.type} ${c.name}`).sort()).toEqual([
      "awareness:deploy:RemoteComposeStack awareness-127-0-0-1",
      "command:remote:Command awareness-127-0-0-1-pull-backend",
      "command:remote:Command awareness-127-0-0-1-pull-frontend",
      "command:remote:Command awareness-127-0-0-1-switch",
    ]);
  });

  it("children are parented by the component (their URNs carry its type)", async () => {
    const comp = new RemoteComposeStack("parent-check", {
      connection: { host: "h", privateKey: "k" },
      hostName: "h",
      layout: { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" },
      services: parseStackConfig(rawConfig()).services,
      release: parseStackConfig(rawConfig()).release,
    });
    await value(comp.release);
    expect(await urnOf(comp)).toBe("urn:pulumi:unit::awareness::awareness:deploy:RemoteComposeStack::parent-check");
    const children = [...comp.pullSteps, comp.switchStep];
    expect(await Promise.all(children.map(urnOf))).toEqual([
      "urn:pulumi:unit::awareness::awareness:deploy:RemoteComposeStack$command:remote:Command::parent-check-pull-backend",
      "urn:pulumi:unit::awareness::awareness:deploy:RemoteComposeStack$command:remote:Command::parent-check-pull-frontend",
      "urn:pulumi:unit::awareness::awareness:deploy:RemoteComposeStack$command:remote:Command::parent-check-switch",
    ]);
  });

  it("pulls by tag on the host; a pinned digest is only ensured", () => {
    const backend = created.find((c) => c.name === "awareness-127-0-0-1-pull-backend")!;
    expect(String(backend.inputs.create)).toMatch(/^out=\$\(docker pull 127\.0\.0\.1:5000\/awareness-backend:v1 2>&1\)/);
    expect(backend.inputs.addPreviousOutputInEnv).toBe(false);
    const frontend = created.find((c) => c.name === "awareness-127-0-0-1-pull-frontend")!;
    expect(String(frontend.inputs.create)).toBe(
      `docker image inspect ${pinned} >/dev/null 2>&1 || out=$(docker pull ${pinned} 2>&1) || { printf '%s\\n' 'service frontend: pull of ${pinned} failed:' "$(printf '%s\\n' "$out" | tail -n 3 | cut -c1-300)" >&2; exit 1; }\necho ${pinned}`,
    );
  });

  it("the switch gets the pinned digests in its script, the files on stdin, a teardown without -v", () => {
    const sw = created.find((c) => c.name === "awareness-127-0-0-1-switch")!;
    const backendDigest = `127.0.0.1:5000/awareness-backend@${digestOf("127.0.0.1:5000/awareness-backend:v1")}`;
    expect(sw.inputs.create).toBe(
      `# awareness: switch /opt/awareness to release v1 (backend=${backendDigest} frontend=${pinned})\n` +
        `IFS= read -r script && eval "$(printf '%s' "$script" | base64 -d)"`,
    );
    expect(sw.inputs.delete).toBe(
      [
        "cd /opt/awareness 2>/dev/null && [ -f /opt/awareness/docker-compose.yml ] || exit 0",
        `out=$(docker compose -p awareness -f /opt/awareness/docker-compose.yml down --remove-orphans 2>&1) || { printf '%s\\n' "$out" | tail -n 10 | cut -c1-300 >&2; exit 1; }`,
        "echo stopped",
      ].join("\n"),
    );
    const [script, compose, env, record] = String(plain(sw.inputs.stdin))
      .trim()
      .split("\n")
      .map((l) => Buffer.from(l, "base64").toString("utf8"));
    expect(script).toContain(`for pair in backend=${backendDigest} frontend=${pinned}; do`);
    expect(script).toContain("docker compose -p awareness -f /opt/awareness/docker-compose.yml up -d --remove-orphans");
    expect(compose).toContain(`image: ${backendDigest}`);
    expect(compose).toContain(`image: ${pinned}`);
    expect(env).toBe("SESSION_SECRET='s3cret-value'\n");
    expect(record).toMatch(/^\{"id":"v1","gitSha":"abc1234","images":\{"backend":"127\.0\.0\.1:5000\/awareness-backend@sha256:/);
    // The secret never rides on the command line (plugin errors quote the command).
    expect(String(sw.inputs.create)).not.toContain("s3cret-value");
    expect(sw.inputs.addPreviousOutputInEnv).toBe(false);
    const conn = plain(sw.inputs.connection) as Record<string, unknown>;
    expect(conn).toMatchObject({ host: "127.0.0.1", port: 2302, user: "root", hostKey: "ssh-ed25519 AAAAC3Nza" });
  });

  it("outputs the release record, backups and the status path", async () => {
    const release = await value(outputs.release as pulumi.Output<Record<string, unknown>>);
    expect(release).toEqual({
      id: "v1",
      gitSha: "abc1234",
      images: {
        backend: `127.0.0.1:5000/awareness-backend@${digestOf("127.0.0.1:5000/awareness-backend:v1")}`,
        frontend: pinned,
      },
      composeSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      composeCommand: "docker compose",
      deployedAt: "2026-11-27T06:00:00Z",
      host: "127-0-0-1",
      appDir: "/opt/awareness",
    });
    // The output is the host's record of the release (releaseRecordSchema) plus where it is.
    expect(releaseOutputSchema.parse(release)).toEqual(release);
    const sw = created.find((c) => c.name === "awareness-127-0-0-1-switch")!;
    const prefix = Buffer.from(String(plain(sw.inputs.stdin)).trim().split("\n")[3]!, "base64").toString("utf8");
    const { host, appDir, ...onHost } = release;
    expect(JSON.parse(`${prefix},"deployedAt":"2026-11-27T06:00:00Z"}`)).toEqual(onHost);
    expect(await value(outputs.backups as pulumi.Output<string[]>)).toEqual(["/opt/awareness/x.backup"]);
    expect(outputs.deploymentStatusPath).toBe("/opt/awareness/deployment.json");
  });

  it("the stdin with the env file is a secret, and so is the SSH key", () => {
    const sw = created.find((c) => c.name === "awareness-127-0-0-1-switch")!;
    expect(isSecretInput(sw.inputs.stdin)).toBe(true);
    expect(isSecretInput(sw.inputs.create)).toBe(false);
    expect(isSecretInput(sw.inputs.connection)).toBe(true);
  });

  it("bad args fail as ResourceError", () => {
    const cfg = parseStackConfig(rawConfig());
    expect(
      () =>
        new RemoteComposeStack("bad", {
          connection: { host: "h" },
          hostName: "h",
          layout: { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" },
          services: {},
          release: cfg.release,
        }),
    ).toThrow(pulumi.ResourceError);
    expect(
      () =>
        new RemoteComposeStack("bad2", {
          connection: { host: "h" },
          hostName: "h",
          layout: { appDir: "/opt/awareness", composeProject: "awareness", composeCommand: "docker compose" },
          services: cfg.services,
          release: cfg.release,
          retainBackups: 0,
        }),
    ).toThrow(/retainBackups must be a positive integer/);
  });
});

describe("RemoteComposeStack (registry resolver through @pulumi/docker)", () => {
  beforeEach(() => {
    created.length = 0;
    calls.length = 0;
  });

  it("looks tags up in the registry with auth, keeps pinned digests, and creates no pull commands", async () => {
    const cfg = parseStackConfig(
      rawConfig({ imageResolver: "registry", registryAuth: { server: "127.0.0.1:5000", username: "ci", password: "pw" } }),
    );
    const outputs = declareStack(cfg);
    const release = await value(outputs.release as pulumi.Output<{ images: Record<string, string> }>);
    expect(release.images).toEqual({
      backend: `127.0.0.1:5000/awareness-backend@${digestOf("127.0.0.1:5000/awareness-backend:v1")}`,
      frontend: pinned,
    });
    expect(calls.map((c) => [c.token, c.inputs.name])).toEqual([
      ["docker:index/getRegistryImage:getRegistryImage", "127.0.0.1:5000/awareness-backend:v1"],
    ]);
    const provider = created.find((c) => c.type === "pulumi:providers:docker")!;
    expect(provider.name).toBe("awareness-127-0-0-1-registry");
    // Providers take JSON-encoded inputs; the password makes the whole value a secret.
    expect(isSecretInput(provider.inputs.registryAuth)).toBe(true);
    expect(JSON.parse(String(plain(provider.inputs.registryAuth)))).toEqual([
      { address: "127.0.0.1:5000", password: "pw", username: "ci" },
    ]);
    expect(calls[0]!.provider).toMatch(/pulumi:providers:docker::awareness-127-0-0-1-registry::/);
    expect(created.filter((c) => c.name.includes("-pull-"))).toEqual([]);
    // The host still pulls the pinned digests in the switch step, so it is logged in first.
    const login = created.find((c) => c.name === "awareness-127-0-0-1-registry-login")!;
    expect(login.inputs.create).toBe(
      "docker login --username ci --password-stdin 127.0.0.1:5000 >/dev/null 2>&1 || { echo 'docker login to 127.0.0.1:5000 failed' >&2; exit 1; }",
    );
    expect(isSecretInput(login.inputs.stdin)).toBe(true);
    expect(plain(login.inputs.stdin)).toBe("pw");
    expect(created.map((c) => c.name)).toContain("awareness-127-0-0-1-switch");
  });
});

describe("two hosts on one server (their own app dir, compose project and env)", () => {
  it("each switch runs its own project in its own dir, with its own env over the release env", async () => {
    created.length = 0;
    const host = { host: "127.0.0.1", port: 2302, user: "root" };
    const outputs = declareStack(
      parseStackConfig(
        rawConfig({
          hosts: [
            { ...host, name: "a", env: { PORT: "18081" } },
            { ...host, name: "b", appDir: "/srv/b", composeProject: "app-b", env: { PORT: "18082", SESSION_SECRET: "not-this" } },
          ],
        }),
      ),
    );
    await value(outputs.release as pulumi.Output<unknown>);
    const stdinOf = (name: string) =>
      String(plain(created.find((c) => c.name === name)!.inputs.stdin)).trim().split("\n").map((l) => Buffer.from(l, "base64").toString("utf8"));
    const [scriptA, , envA] = stdinOf("awareness-a-switch");
    const [scriptB, , envB] = stdinOf("awareness-b-switch");
    expect(scriptA).toContain("docker compose -p awareness -f /opt/awareness/docker-compose.yml up -d");
    expect(scriptB).toContain("docker compose -p app-b -f /srv/b/docker-compose.yml up -d");
    expect(envA).toBe("PORT='18081'\nSESSION_SECRET='s3cret-value'\n");
    expect(envB).toBe("PORT='18082'\nSESSION_SECRET='s3cret-value'\n");
  });
});

describe("awarenessProgram", () => {
  it("index.ts hands exactly this function to the plain CLI (a default export and nothing else)", async () => {
    const entry = await import("../../index.js");
    const { awarenessProgram } = await import("../../components/program.js");
    // The nodejs runtime refuses a module with both a default and named exports.
    expect(Object.keys(entry)).toEqual(["default"]);
    expect(entry.default).toBe(awarenessProgram);
  });

  it("refuses a hostile config before declaring any resource", async () => {
    created.length = 0;
    const { awarenessProgram } = await import("../../components/program.js");
    pulumi.runtime.setAllConfig(rawConfig({ appDir: "/opt/awareness;reboot" }));
    await expect(awarenessProgram()).rejects.toThrow(/awareness:appDir: expected an absolute path/);
    expect(created).toEqual([]);
  });

  it("declares the stack from the stack config", async () => {
    created.length = 0;
    const { awarenessProgram } = await import("../../components/program.js");
    pulumi.runtime.setAllConfig(rawConfig());
    const outputs = await awarenessProgram();
    expect(Object.keys(outputs).sort()).toEqual(["backups", "deploymentStatusPath", "hosts", "release"]);
    await value(outputs.release as pulumi.Output<unknown>);
    expect(created.map((c) => c.name)).toContain("awareness-127-0-0-1-switch");
  });

  it("adds the GitHub delivery only when awareness:github is set", async () => {
    created.length = 0;
    const outputs = declareStack(
      parseStackConfig(
        rawConfig({ github: { repository: "acme/awareness", environments: { production: { reviewers: { users: [1] } } } } }),
      ),
    );
    await value(outputs.release as pulumi.Output<unknown>);
    expect(await value((outputs.github as { repository: pulumi.Output<string> }).repository)).toBe("acme/awareness");
    expect(created.filter((c) => c.type === "awareness:github:Delivery").map((c) => c.name)).toEqual(["awareness-github"]);
    created.length = 0;
    expect(declareStack(parseStackConfig(rawConfig())).github).toBeUndefined();
  });
});
