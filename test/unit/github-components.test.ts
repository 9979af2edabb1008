// The GitHub part's resources under Pulumi mocks: types, names, parents (from the URNs) and
// key inputs; secrets stay secrets. Mocks are process-wide, so they are set before the
// component modules are imported.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>;
  provider?: string;
}
const created: Created[] = [];

await pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      created.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => {
      throw new Error(`unexpected call to ${args.token}`);
    },
  },
  "awareness",
  "production",
  false,
);

const { GitHubDelivery } = await import("../../components/github/delivery.js");
const { githubConfigSchema } = await import("../../components/github/config.js");
const { renderAllWorkflows } = await import("../../components/github/workflows/render.js");

const valueOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
// How the Node SDK marks a secret value on the wire (what the engine encrypts in state).
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270";

const PASSPHRASE = "correct horse battery staple";
const STAGING_PASSPHRASE = "staging only, opens nothing of production";

const githubConfig = githubConfigSchema.parse({
  repository: "Acme/awareness",
  environments: {
    production: { reviewers: { users: [101], teams: [7] }, waitTimerMinutes: 10 },
    staging: { secrets: { PULUMI_CONFIG_PASSPHRASE: STAGING_PASSPHRASE } },
  },
  secrets: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_BACKEND_URL: "s3://acme-state" },
});

let delivery: InstanceType<typeof GitHubDelivery>;
const byType = (type: string) => created.filter((r) => r.type === type);
const named = (name: string) => {
  const found = created.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have ${created.map((r) => r.name).join(", ")}`);
  return found;
};

beforeAll(async () => {
  delivery = new GitHubDelivery("github", { github: githubConfig });
  // Let every registration reach the mocks.
  await valueOf(delivery.environments.names);
  await Promise.all(delivery.environments.secrets.map((s) => valueOf(s.urn)));
  await Promise.all(Object.values(delivery.workflowFiles!.files).map((f) => valueOf(f.urn)));
});

describe("GitHubDelivery", () => {
  it("is an awareness:github:Delivery with a provider for the repository owner", async () => {
    expect(await valueOf(delivery.urn)).toBe("urn:pulumi:production::awareness::awareness:github:Delivery::github");
    const provider = named("github-provider");
    expect(provider.type).toBe("pulumi:providers:github");
    expect(provider.inputs.owner).toBe("Acme");
    expect(provider.inputs.token).toBeUndefined();
  });

  it("declares one RepositoryFile per workflow, content equal to the rendering, under WorkflowFiles", async () => {
    const files = byType("github:index/repositoryFile:RepositoryFile");
    const rendered = renderAllWorkflows();
    expect(files.map((f) => f.inputs.file).sort()).toEqual([...rendered.keys()].sort());
    for (const file of files) {
      expect(file.name).toBe(`github-workflows-${file.inputs.file.split("/").at(-1).replace(".yml", "")}`);
      expect(file.inputs.repository).toBe("awareness");
      expect(file.inputs.branch).toBe("main");
      expect(file.inputs.content).toBe(rendered.get(file.inputs.file));
      expect(file.inputs.overwriteOnCreate).toBe(true);
      expect(file.provider).toContain("github-provider");
    }
    // Mock URNs carry the parent's type: file -> WorkflowFiles -> Delivery.
    expect(await valueOf(delivery.workflowFiles!.files[".github/workflows/deploy.yml"]!.urn)).toBe(
      "urn:pulumi:production::awareness::awareness:github:WorkflowFiles$github:index/repositoryFile:RepositoryFile::github-workflows-deploy",
    );
    expect(await valueOf(delivery.workflowFiles!.urn)).toBe(
      "urn:pulumi:production::awareness::awareness:github:Delivery$awareness:github:WorkflowFiles::github-workflows",
    );
  });

  it("creates production (reviewers, protected branches, wait timer), staging, their status twins, approval and preview environments", async () => {
    const envs = byType("github:index/repositoryEnvironment:RepositoryEnvironment");
    expect(envs.map((e) => e.inputs.environment).sort()).toEqual(["approval", "preview", "production", "production-status", "staging", "staging-status"]);
    for (const twin of ["production-status", "staging-status"]) {
      const inputs = named(`github-environments-${twin}`).inputs;
      expect(inputs.reviewers, twin).toEqual([]);
      expect(inputs.deploymentBranchPolicy, twin).toEqual({ protectedBranches: true, customBranchPolicies: false });
    }
    const production = named("github-environments-production").inputs;
    expect(production.reviewers).toEqual([{ users: [101], teams: [7] }]);
    expect(production.deploymentBranchPolicy).toEqual({ protectedBranches: true, customBranchPolicies: false });
    expect(production.waitTimer).toBe(10);
    expect(production.preventSelfReview).toBe(true);
    expect(production.canAdminsBypass).toBe(false);
    const staging = named("github-environments-staging").inputs;
    expect(staging.reviewers).toEqual([]);
    expect(staging.deploymentBranchPolicy).toBeUndefined();
    expect(named("github-environments-approval").inputs.reviewers).toEqual([{ users: [101], teams: [7] }]);
    // Any branch may ask for a preview: production's reviewers approve before its code reads production's secrets.
    expect(named("github-environments-preview").inputs.reviewers).toEqual([{ users: [101], teams: [7] }]);
    expect(named("github-environments-preview").inputs.deploymentBranchPolicy).toBeUndefined();
    expect(await valueOf(delivery.environments.environments["production"]!.urn)).toBe(
      "urn:pulumi:production::awareness::awareness:github:Environments$github:index/repositoryEnvironment:RepositoryEnvironment::github-environments-production",
    );
    expect(await valueOf(delivery.environments.urn)).toBe(
      "urn:pulumi:production::awareness::awareness:github:Delivery$awareness:github:Environments::github-environments",
    );
    for (const secret of delivery.environments.secrets) {
      expect(await valueOf(secret.urn)).toContain("::awareness:github:Environments$github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret::");
    }
  });

  it("gives each environment the secrets of its own stack: staging its passphrase, preview production's, approval none", () => {
    const secrets = byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
    const names = (environment: string) => secrets.filter((s) => s.inputs.environment === environment).map((s) => s.inputs.secretName).sort();
    for (const environment of ["production", "production-status", "staging", "staging-status", "preview"]) {
      expect(names(environment), environment).toEqual(["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]);
    }
    expect(names("approval")).toEqual([]);
    const passphraseOf = (environment: string) =>
      secrets.find((s) => s.inputs.environment === environment && s.inputs.secretName === "PULUMI_CONFIG_PASSPHRASE")!.inputs.plaintextValue.value;
    expect(passphraseOf("staging")).toBe(STAGING_PASSPHRASE);
    expect(passphraseOf("staging-status")).toBe(STAGING_PASSPHRASE);
    expect(passphraseOf("production")).toBe(PASSPHRASE);
    expect(passphraseOf("production-status")).toBe(PASSPHRASE);
    expect(passphraseOf("preview")).toBe(PASSPHRASE);
    expect(named("github-environments-production-pulumi-backend-url").inputs.repository).toBe("awareness");
  });

  it("declares only secrets a workflow reads; the only variables read are the image registry's, declared only when it is set", () => {
    const rendered = [...renderAllWorkflows().values()].join("\n");
    const read = new Set([...rendered.matchAll(/\bsecrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]));
    const declared = byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").map((s) => s.inputs.secretName as string);
    expect(declared.length).toBeGreaterThan(0);
    for (const name of declared) expect(read, `secret ${name} is declared but no workflow reads it`).toContain(name);
    expect(new Set([...rendered.matchAll(/\bvars\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))).toEqual(new Set(["IMAGE_REGISTRY", "IMAGE_REGISTRY_USERNAME"]));
    expect(read).toContain("IMAGE_REGISTRY_PASSWORD");
    expect(byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")).toEqual([]);
    expect(byType("github:index/actionsVariable:ActionsVariable")).toEqual([]);
    expect(byType("github:index/actionsSecret:ActionsSecret")).toEqual([]);
  });

  it("sends every secret value to the engine marked secret, even one given as a plain config string", () => {
    const secrets = byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
    expect(secrets.length).toBe(10);
    for (const secret of secrets) expect(secret.inputs.plaintextValue, secret.name).toEqual({ [SECRET_SIG]: SECRET_MARK, value: expect.any(String) });
    expect(named("github-environments-production-pulumi-backend-url").inputs.plaintextValue.value).toBe("s3://acme-state");
    expect(named("github-environments-preview-pulumi-config-passphrase").inputs.plaintextValue.value).toBe(PASSPHRASE);
  });

  it("refuses settings the schema refuses, with a ResourceError naming the key", () => {
    const noReviewers = { ...githubConfig, environments: { production: { ...githubConfig.environments["production"]!, reviewers: { users: [], teams: [] } } } };
    expect(() => new GitHubDelivery("bad", { github: noReviewers })).toThrow(
      /github\.environments\.production\.reviewers: production needs at least one reviewer/,
    );
    try {
      new GitHubDelivery("bad2", { github: { ...githubConfig, repository: "no-slash" } });
      expect.unreachable("should have thrown");
    } catch (error) {
      expect(error).toBeInstanceOf(pulumi.ResourceError);
      expect(String(error)).toContain("github.repository: expected 'owner/name'");
    }
    expect(() => new GitHubDelivery("bad3", { github: { ...githubConfig, secrets: { SSH_PRIVATE_KEY: "k" } } })).toThrow(
      /github\.secrets\.SSH_PRIVATE_KEY: no workflow reads this secret; the workflows read PULUMI_CONFIG_PASSPHRASE, /,
    );
  });

  it("declares no workflow files when manageWorkflows is false", async () => {
    const before = byType("github:index/repositoryFile:RepositoryFile").length;
    const envsOnly = new GitHubDelivery("envs-only", { github: { ...githubConfig, manageWorkflows: false } });
    await valueOf(envsOnly.environments.names);
    expect(envsOnly.workflowFiles).toBeUndefined();
    expect(byType("github:index/repositoryFile:RepositoryFile").length).toBe(before);
  });
  it("with imageRegistry set, declares IMAGE_REGISTRY and IMAGE_REGISTRY_USERNAME (variables) and IMAGE_REGISTRY_PASSWORD (a secret)", async () => {
    const before = created.length;
    new GitHubDelivery("with-registry", {
      github: githubConfigSchema.parse({ ...githubConfig, imageRegistry: { host: "registry.acme.dev:5000", username: "ci", password: "hunter2-registry" } }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const mine = created.slice(before);
    const variables = mine.filter((r) => r.type === "github:index/actionsVariable:ActionsVariable").map((r) => [r.inputs.variableName, r.inputs.value]);
    expect(variables).toEqual([["IMAGE_REGISTRY", "registry.acme.dev:5000"], ["IMAGE_REGISTRY_USERNAME", "ci"]]);
    const secret = mine.find((r) => r.type === "github:index/actionsSecret:ActionsSecret")!;
    expect(secret.inputs).toMatchObject({ repository: "awareness", secretName: "IMAGE_REGISTRY_PASSWORD" });
    expect(secret.inputs.plaintextValue).toEqual({ [SECRET_SIG]: SECRET_MARK, value: "hunter2-registry" });
    expect(() => githubConfigSchema.parse({ ...githubConfig, imageRegistry: { host: "https://x", username: "a", password: "b" } })).toThrow(/expected a registry host/);
  });
});
