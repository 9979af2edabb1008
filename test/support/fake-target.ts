// The made-up sandbox of the driver's unit tests: three releases of two services pinned by
// digest, on a host nobody connects to (the fake host answers for it).
import { createHash } from "node:crypto";
import type { SandboxTarget } from "../../automation/sandbox/target.js";

export const hex = (s: string) => createHash("sha256").update(s).digest("hex");

export const releaseIds = ["v1", "v2", "v3"] as const;
export type ReleaseId = (typeof releaseIds)[number];

export const imagesOf = (id: string) => ({
  backend: `registry.test:5000/awareness-backend@sha256:${hex(`backend ${id}`)}`,
  frontend: `registry.test:5000/awareness-frontend@sha256:${hex(`frontend ${id}`)}`,
});

export const fakeTarget: SandboxTarget = {
  ssh: {
    host: "10.0.0.5",
    port: 22,
    user: "deploy",
    // sandboxStackConfig reads the key file; tests set a made-up key in the config.
    privateKeyPath: "/dev/null",
    hostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFakeHostKeyForUnitTestsOnly0123456789abc sandbox",
    knownHostsPath: "/dev/null",
  },
  registry: "registry.test:5000",
  appDir: "/opt/awareness",
  composeCommands: ["docker compose"],
  app: { baseUrl: "http://127.0.0.1:18080", ports: { backend: 18080, frontend: 18081 } },
  releases: Object.fromEntries(releaseIds.map((id) => [id, imagesOf(id)])),
  tags: Object.fromEntries(releaseIds.map((id) => [id, { backend: `registry.test:5000/awareness-backend:${id}`, frontend: `registry.test:5000/awareness-frontend:${id}` }])),
};

/** A made-up private key, set as a secret like the real one. */
export const fakeSshKey = { value: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n", secret: true };
