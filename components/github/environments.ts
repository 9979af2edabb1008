// GitHub environments for the workflows (@pulumi/github): each deploy environment with its
// protection rules, secrets and variables; "approval" (the optional gate: production's
// reviewers, no secrets) and "preview" (PR preview and status: backend secrets, no SSH key).
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import {
  APPROVAL_ENVIRONMENT,
  PREVIEW_ENVIRONMENT,
  type EnvironmentSettings,
  protectedBranchesOnly,
} from "./config.js";

/** Name of the environment secret holding the deploy SSH key. */
export const SSH_KEY_SECRET = "SSH_PRIVATE_KEY";
/** Environment variables every deploy environment gets. */
export const HOST_VARIABLE = "DEPLOY_HOST";
export const APP_DIR_VARIABLE = "DEPLOY_APP_DIR";
export const STACK_VARIABLE = "PULUMI_STACK";

export interface EnvironmentsArgs {
  /** Repository name (without owner; the provider carries the owner). */
  repository: pulumi.Input<string>;
  /** Deploy environments by name (must include production). */
  environments: Record<string, EnvironmentSettings>;
  /** Secrets every deploy environment gets (and, except the SSH key, the preview environment). */
  backendSecrets: Record<string, pulumi.Input<string>>;
  /** The deploy SSH private key (SSH_PRIVATE_KEY). Default: none. */
  sshPrivateKey?: pulumi.Input<string>;
  /** The hosts the stack deploys to, comma-separated in DEPLOY_HOST. */
  hosts: pulumi.Input<string>[];
  /** The app directory on the hosts (DEPLOY_APP_DIR). */
  appDir: pulumi.Input<string>;
}

function reviewersOf(settings: EnvironmentSettings): github.types.input.RepositoryEnvironmentReviewer[] {
  const { users, teams } = settings.reviewers;
  return users.length + teams.length > 0 ? [{ users, teams }] : [];
}

/** Resource name part of a secret or variable name (GitHub names are upper case). */
function slug(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

export class Environments extends pulumi.ComponentResource {
  public readonly environments: Record<string, github.RepositoryEnvironment> = {};
  public readonly secrets: github.ActionsEnvironmentSecret[] = [];
  public readonly variables: github.ActionsEnvironmentVariable[] = [];
  public readonly names: pulumi.Output<string[]>;

  constructor(name: string, args: EnvironmentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("awareness:github:Environments", name, args, opts);
    const production = args.environments["production"];
    if (!production) throw new pulumi.ResourceError("Environments needs a production environment", this);
    if (production.reviewers.users.length + production.reviewers.teams.length === 0) {
      throw new pulumi.ResourceError("the production environment needs at least one reviewer", this);
    }

    for (const [environment, settings] of Object.entries(args.environments)) {
      const env = this.environment(name, environment, {
        reviewers: reviewersOf(settings),
        waitTimer: settings.waitTimerMinutes,
        preventSelfReview: settings.preventSelfReview,
        protectedBranches: protectedBranchesOnly(environment, settings),
        repository: args.repository,
      });
      const secrets = { ...args.backendSecrets, ...(args.sshPrivateKey ? { [SSH_KEY_SECRET]: args.sshPrivateKey } : {}) };
      this.addSecrets(name, environment, env, args.repository, secrets);
      this.addVariables(name, environment, env, args.repository, {
        [HOST_VARIABLE]: pulumi.all(args.hosts).apply((hosts) => hosts.join(",")),
        [APP_DIR_VARIABLE]: args.appDir,
        [STACK_VARIABLE]: environment,
      });
    }

    // The approval gate: production's reviewers, nothing to leak.
    this.environment(name, APPROVAL_ENVIRONMENT, {
      reviewers: reviewersOf(production),
      waitTimer: 0,
      preventSelfReview: production.preventSelfReview,
      protectedBranches: false,
      repository: args.repository,
    });
    // PR preview and status read the stack: backend secrets only, any branch.
    const preview = this.environment(name, PREVIEW_ENVIRONMENT, {
      reviewers: [],
      waitTimer: 0,
      preventSelfReview: false,
      protectedBranches: false,
      repository: args.repository,
    });
    this.addSecrets(name, PREVIEW_ENVIRONMENT, preview, args.repository, args.backendSecrets);

    this.names = pulumi.output(Object.keys(this.environments));
    this.registerOutputs({ names: this.names });
  }

  private environment(
    name: string,
    environment: string,
    rules: {
      reviewers: github.types.input.RepositoryEnvironmentReviewer[];
      waitTimer: number;
      preventSelfReview: boolean;
      protectedBranches: boolean;
      repository: pulumi.Input<string>;
    },
  ): github.RepositoryEnvironment {
    const resource = new github.RepositoryEnvironment(
      `${name}-${environment}`,
      {
        repository: rules.repository,
        environment,
        reviewers: rules.reviewers,
        waitTimer: rules.waitTimer,
        preventSelfReview: rules.preventSelfReview,
        canAdminsBypass: false,
        // Without a policy any branch may deploy; with one, only protected branches.
        deploymentBranchPolicy: rules.protectedBranches ? { protectedBranches: true, customBranchPolicies: false } : undefined,
      },
      { parent: this },
    );
    this.environments[environment] = resource;
    return resource;
  }

  private addSecrets(
    name: string,
    environment: string,
    env: github.RepositoryEnvironment,
    repository: pulumi.Input<string>,
    secrets: Record<string, pulumi.Input<string>>,
  ): void {
    for (const [secretName, value] of Object.entries(secrets)) {
      this.secrets.push(
        new github.ActionsEnvironmentSecret(
          `${name}-${environment}-${slug(secretName)}`,
          // Secret in state whatever the caller passed (config values may arrive as plain strings).
          { repository, environment: env.environment, secretName, plaintextValue: pulumi.secret(value) },
          { parent: this },
        ),
      );
    }
  }

  private addVariables(
    name: string,
    environment: string,
    env: github.RepositoryEnvironment,
    repository: pulumi.Input<string>,
    variables: Record<string, pulumi.Input<string>>,
  ): void {
    for (const [variableName, value] of Object.entries(variables)) {
      this.variables.push(
        new github.ActionsEnvironmentVariable(
          `${name}-${environment}-${slug(variableName)}`,
          { repository, environment: env.environment, variableName, value },
          { parent: this },
        ),
      );
    }
  }
}
