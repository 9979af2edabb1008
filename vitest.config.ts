import { defineConfig } from "vitest/config";

// Two projects in separate processes: Pulumi mocks are process-wide, so the mock-based
// unit tests must never share a process with the engine-driven e2e tests.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // One engine and one sandbox host: run e2e files one at a time.
          fileParallelism: false,
          globalSetup: ["test/support/e2e-global-setup.ts"],
        },
      },
    ],
  },
});
