// awareness:github parsed by githubConfigSchema: defaults, and errors that name the key.
import { describe, expect, it } from "vitest";
import { githubConfigSchema, protectedBranchesOnly, splitRepository } from "../../components/github/config.js";
import { BACKEND_SECRETS } from "../../components/github/workflows/steps.js";

const minimal = { repository: "acme/awareness", environments: { production: { reviewers: { users: [1] } } } };
const issuesOf = (value: unknown) => {
  const result = githubConfigSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("githubConfigSchema", () => {
  it("fills the defaults", () => {
    const parsed = githubConfigSchema.parse(minimal);
    expect(parsed).toEqual({
      repository: "acme/awareness",
      branch: "main",
      manageWorkflows: true,
      environments: {
        production: { reviewers: { users: [1], teams: [] }, waitTimerMinutes: 0, preventSelfReview: true, secrets: {} },
      },
      secrets: {},
    });
    expect(protectedBranchesOnly("production", parsed.environments["production"]!)).toBe(true);
    expect(protectedBranchesOnly("staging", parsed.environments["production"]!)).toBe(false);
    expect(splitRepository(parsed.repository)).toEqual({ owner: "acme", name: "awareness" });
  });

  it("requires production with at least one reviewer", () => {
    expect(issuesOf({ repository: "acme/awareness" })).toEqual(["environments.production: a production environment is required"]);
    expect(issuesOf({ ...minimal, environments: { production: {} } })[0]).toMatch(/^environments\.production\.reviewers: production needs at least one reviewer/);
  });

  it("takes as secrets only the names the workflows read (BACKEND_SECRETS)", () => {
    const all = Object.fromEntries(BACKEND_SECRETS.map((name) => [name, "x"]));
    expect(githubConfigSchema.parse({ ...minimal, secrets: all }).secrets).toEqual(all);
    const refused = (value: unknown) =>
      githubConfigSchema.safeParse(value).error!.issues.map((i) => `${i.path.join(".")}: ${i.code === "invalid_key" ? i.issues[0]!.message : i.message}`);
    expect(refused({ ...minimal, secrets: { SSH_PRIVATE_KEY: "k", DEPLOY_HOST: "h" } })).toEqual([
      `secrets.SSH_PRIVATE_KEY: no workflow reads this secret; the workflows read ${BACKEND_SECRETS.join(", ")}`,
      `secrets.DEPLOY_HOST: no workflow reads this secret; the workflows read ${BACKEND_SECRETS.join(", ")}`,
    ]);
  });

  it("takes an environment's own secrets, and no environment no workflow deploys to (its secrets would sit unused)", () => {
    const parsed = githubConfigSchema.parse({ ...minimal, environments: { ...minimal.environments, staging: { secrets: { PULUMI_CONFIG_PASSPHRASE: "staging-only" } } } });
    expect(parsed.environments["staging"]!.secrets).toEqual({ PULUMI_CONFIG_PASSPHRASE: "staging-only" });
    expect(issuesOf({ ...minimal, environments: { ...minimal.environments, qa: {} } })).toEqual([
      'environments.qa: no workflow deploys to "qa"; the workflows deploy to production, staging',
    ]);
    expect(issuesOf({ ...minimal, environments: { ...minimal.environments, staging: { secrets: { SSH_KEY: "k" } } } })[0]).toMatch(/^environments\.staging\.secrets\.SSH_KEY: /);
  });

  it("names the key of each bad value", () => {
    expect(issuesOf({ ...minimal, repository: "awareness" })).toEqual(["repository: expected 'owner/name' (e.g. acme/awareness)"]);
    expect(issuesOf({ ...minimal, secrets: { GITHUB_TOKEN: "x" } })[0]).toMatch(/^secrets\.GITHUB_TOKEN: /);
    expect(issuesOf({ ...minimal, environments: { ...minimal.environments, preview: {} } })).toEqual([
      'environments.preview: "preview" is reserved for the workflows\' own environment',
    ]);
    expect(issuesOf({ ...minimal, environments: { production: { reviewers: { users: [1] }, waitTimerMinutes: 50_000 } } })[0]).toMatch(
      /^environments\.production\.waitTimerMinutes: /,
    );
    expect(issuesOf({ ...minimal, token: "ghp_x" })[0]).toMatch(/token/);
  });
});
