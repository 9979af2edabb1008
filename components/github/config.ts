// The GitHub part of a stack's config (awareness:github). Pure: no Pulumi here, so the stack
// schema can import it and tests can parse it directly. Absent section = the GitHub part is off.
import { z } from "zod";
import { BACKEND_SECRETS, DEPLOY_ENVIRONMENTS } from "./workflows/steps.js";

const repositoryPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const branchPattern = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;
const environmentNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const registryHostPattern = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(?::[0-9]{1,5})?$/;

/** GitHub user and team ids (numbers, as the REST API and @pulumi/github take them). */
const reviewersSchema = z.strictObject({
  users: z.array(z.number().int().positive()).default([]),
  teams: z.array(z.number().int().positive()).default([]),
});

/** Secret name -> value; only names the workflows read (BACKEND_SECRETS). */
const secretsSchema = z
  .record(
    z
      .string()
      .refine((name) => (BACKEND_SECRETS as readonly string[]).includes(name), {
        message: `no workflow reads this secret; the workflows read ${BACKEND_SECRETS.join(", ")}`,
      }),
    z.string().min(1),
  )
  .default({});

const environmentSettingsSchema = z.strictObject({
  /**
   * This environment's own secrets, over the shared `secrets` (e.g. its stack's
   * PULUMI_CONFIG_PASSPHRASE: staging's cannot open production's secrets).
   */
  secrets: secretsSchema,
  /** Who approves a deployment into this environment (the approval step). Default: nobody. */
  reviewers: reviewersSchema.prefault({}),
  /** Minutes GitHub waits before a deployment into this environment starts, 0..43200. Default: 0. */
  waitTimerMinutes: z.number().int().min(0).max(43_200).default(0),
  /** Only protected branches may deploy here. Default: true for production, false otherwise (see below). */
  protectedBranchesOnly: z.boolean().optional(),
  /** The person who started a run may not approve it. Default: true. */
  preventSelfReview: z.boolean().default(true),
});

export const githubConfigSchema = z
  .strictObject({
    /** "owner/name" of the repository the workflows and environments live in. */
    repository: z.string().regex(repositoryPattern, "expected 'owner/name' (e.g. acme/awareness)"),
    /** Branch the workflow files are committed to. Default: main. */
    branch: z.string().regex(branchPattern, "expected a branch name").default("main"),
    /** Declare the workflow files as RepositoryFile resources. Default: true. */
    manageWorkflows: z.boolean().default(true),
    /** GitHub environments by name; production must exist and have reviewers. */
    environments: z
      .record(z.string().regex(environmentNamePattern, "expected an environment name"), environmentSettingsSchema)
      .default({}),
    /**
     * Environment secrets every deploy environment gets (a Pulumi secret each), under its own
     * `environments.<name>.secrets`: only names the workflows read (BACKEND_SECRETS:
     * PULUMI_CONFIG_PASSPHRASE, PULUMI_BACKEND_URL, PULUMI_ACCESS_TOKEN, AWS_ACCESS_KEY_ID,
     * AWS_SECRET_ACCESS_KEY, AWS_REGION), so nothing is stored in GitHub that no workflow uses.
     * The driver reaches the hosts with the SSH key in the stack config (decrypted with the passphrase).
     */
    secrets: secretsSchema,
    /**
     * Where CI/CD pushes the images it builds, when not GHCR (which takes the run's own token):
     * the registry host (and port) and its login. Declared as the repository variables
     * IMAGE_REGISTRY and IMAGE_REGISTRY_USERNAME and the repository secret IMAGE_REGISTRY_PASSWORD.
     * The hosts pull from it with awareness:registryAuth.
     */
    imageRegistry: z
      .strictObject({
        host: z.string().regex(registryHostPattern, "expected a registry host, optionally with a port (e.g. registry.acme.dev:5000)"),
        username: z.string().min(1),
        password: z.string().min(1),
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    const production = cfg.environments["production"];
    if (!production) {
      ctx.addIssue({ code: "custom", path: ["environments", "production"], message: "a production environment is required" });
      return;
    }
    if (production.reviewers.users.length + production.reviewers.teams.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["environments", "production", "reviewers"],
        message: "production needs at least one reviewer (a GitHub user or team id): deployments to production are approved by a person",
      });
    }
    for (const name of Object.keys(cfg.environments)) {
      if (name === APPROVAL_ENVIRONMENT || name === PREVIEW_ENVIRONMENT) {
        ctx.addIssue({ code: "custom", path: ["environments", name], message: `"${name}" is reserved for the workflows' own environment` });
      } else if (!(DEPLOY_ENVIRONMENTS as readonly string[]).includes(name)) {
        // Its secrets would sit in GitHub with no job to read them.
        ctx.addIssue({ code: "custom", path: ["environments", name], message: `no workflow deploys to "${name}"; the workflows deploy to ${DEPLOY_ENVIRONMENTS.join(", ")}` });
      }
    }
  });

export type GitHubConfig = z.output<typeof githubConfigSchema>;
export type EnvironmentSettings = z.output<typeof environmentSettingsSchema>;

/** Environment of the optional approval gate (deploy input require-approval): production's reviewers, no secrets. */
export const APPROVAL_ENVIRONMENT = "approval";
/**
 * Environment of the pull-request preview of production: any branch, so production's reviewers
 * approve each run before the branch's code can read production's secrets.
 */
export const PREVIEW_ENVIRONMENT = "preview";

/**
 * The read-only twin of a deploy environment (the status workflow): its secrets, no reviewers,
 * protected branches only (the status workflow runs on the default branch). Takes an expression too.
 */
export function statusEnvironment(environment: string): string {
  return `${environment}-status`;
}

/** Paths (below awareness:github) whose values are secret. */
export const githubSecretPaths: readonly string[] = ["github.secrets", "github.environments.*.secrets", "github.imageRegistry.password"];

/** Splits "owner/name". */
export function splitRepository(repository: string): { owner: string; name: string } {
  const [owner, name] = repository.split("/");
  if (!owner || !name) throw new Error(`expected 'owner/name', got '${repository}'`);
  return { owner, name };
}

/** protectedBranchesOnly with its default applied: production deploys only from protected branches. */
export function protectedBranchesOnly(environment: string, settings: EnvironmentSettings): boolean {
  return settings.protectedBranchesOnly ?? environment === "production";
}
