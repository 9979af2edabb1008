import { defineConfig } from "vitest/config";

// Two projects in separate processes: Pulumi mocks are process-wide, so the mock-based
// unit tests must never share a process with the engine-driven e2e tests.
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
          environment: "node",
          testTimeout: 600_000,
          server: { deps: { inline: actionsParser } },
          hookTimeout: 600_000,
          // One engine and one sandbox host: run e2e files one at a time.
          fileParallelism: false,
          globalSetup: ["test/support/e2e-global-setup.ts"],
        },
      },
    ],
  },
});
