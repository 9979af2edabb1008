import { defineConfig } from "vitest/config";

// Two projects in separate processes: Pulumi mocks are process-wide, so the mock-based
// unit tests must never share a process with the engine-driven e2e tests.
// Run alone, after the others: infra-faults stops and restarts the shared sshd, registry and
// dockerd; lock-contention measures a 3 s lease against 0.5 s heartbeats, which a loaded
// machine stretches.
const aloneFiles = ["test/e2e/faults/infra-faults.test.ts", "test/e2e/lock-contention.test.ts"];
const e2eWorkers = Number(process.env.AWARENESS_E2E_WORKERS || 2);
if (!Number.isInteger(e2eWorkers) || e2eWorkers < 1) {
  throw new Error(`AWARENESS_E2E_WORKERS must be a whole number >= 1, got ${JSON.stringify(process.env.AWARENESS_E2E_WORKERS)}`);
}
// GitHub's workflow parser imports its JSON schema without `with { type: "json" }`, which Node's
// own loader refuses: vitest transforms it instead (the runner harness in test/runner uses it).
const actionsParser = ["@actions/workflow-parser"];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 20_000,
          server: { deps: { inline: actionsParser } },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: aloneFiles,
          environment: "node",
          testTimeout: 600_000,
          server: { deps: { inline: actionsParser } },
          hookTimeout: 600_000,
          globalSetup: ["test/support/e2e-global-setup.ts"],
          // One sandbox host, shared: files run side by side (each deploys its own corner app on
          // ports of its own), AWARENESS_E2E_WORKERS at a time (1 = one after the other).
          fileParallelism: e2eWorkers > 1,
          maxWorkers: e2eWorkers,
        },
      },
      {
        test: {
          name: "e2e-alone",
          include: aloneFiles,
          environment: "node",
          server: { deps: { inline: actionsParser } },
          testTimeout: 600_000,
          hookTimeout: 600_000,
          globalSetup: ["test/support/e2e-global-setup.ts"],
          fileParallelism: false,
        },
      },
    ],
  },
});
