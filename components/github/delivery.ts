// The whole GitHub part of a stack: a GitHub provider for the configured owner, the workflow
// files and the environments. The program creates it only when awareness:github is set.
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { type GitHubConfig, githubConfigSchema, splitRepository } from "./config.js";
import { Environments } from "./environments.js";
import { WorkflowFiles } from "./workflow-files.js";
import { IMAGE_REGISTRY_VAR } from "./workflows/ci-cd.js";

export interface GitHubDeliveryArgs {
  /** The parsed awareness:github section (githubConfigSchema). */
  github: GitHubConfig;
}

export class GitHubDelivery extends pulumi.ComponentResource {
  public readonly provider: github.Provider;
  public readonly workflowFiles?: WorkflowFiles;
  public readonly environments: Environments;
  /** "owner/name" of the repository. */
  public readonly repository: pulumi.Output<string>;

  constructor(name: string, args: GitHubDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("awareness:github:Delivery", name, {}, opts);
    const parsed = githubConfigSchema.safeParse(args.github);
    if (!parsed.success) {
      const messageOf = (issue: (typeof parsed.error.issues)[number]) =>
        issue.code === "invalid_key" ? issue.issues.map((inner) => inner.message).join("; ") : issue.message;
      const problems = parsed.error.issues.map((issue) => `github.${issue.path.join(".")}: ${messageOf(issue)}`).join("; ");
      throw new pulumi.ResourceError(`invalid GitHub settings: ${problems}`, this);
    }
    const config = parsed.data;
    const { owner, name: repository } = splitRepository(config.repository);

    // The token comes from GITHUB_TOKEN in the environment of whoever runs the program; never from config.
    this.provider = new github.Provider(`${name}-provider`, { owner }, { parent: this });
    const children = { parent: this, providers: [this.provider] };

    if (config.manageWorkflows) {
      this.workflowFiles = new WorkflowFiles(`${name}-workflows`, { repository, branch: config.branch }, children);
    }
    this.environments = new Environments(
      `${name}-environments`,
      {
        repository,
        environments: config.environments,
        backendSecrets: config.secrets,
      },
      children,
    );

    if (config.imageRegistry) {
      // Read by CI/CD's build job (ci-cd.ts): push there instead of GHCR.
      const registry = config.imageRegistry;
      const resourceOpts = { parent: this, provider: this.provider };
      const variable = (variableName: string, value: string) =>
        new github.ActionsVariable(`${name}-var-${variableName.toLowerCase().replace(/_/g, "-")}`, { repository, variableName, value }, resourceOpts);
      variable(IMAGE_REGISTRY_VAR, registry.host);
      variable(`${IMAGE_REGISTRY_VAR}_USERNAME`, registry.username);
      new github.ActionsSecret(
        `${name}-secret-image-registry-password`,
        { repository, secretName: `${IMAGE_REGISTRY_VAR}_PASSWORD`, plaintextValue: pulumi.secret(registry.password) },
        resourceOpts,
      );
    }

    this.repository = pulumi.output(config.repository);
    this.registerOutputs({ repository: this.repository, environments: this.environments.names });
  }
}
