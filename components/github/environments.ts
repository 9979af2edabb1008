// GitHub environments for the workflows (@pulumi/github), each holding only the secrets of the
// jobs that run in it: each deploy environment with its protection rules and its stack's
// backend secrets (the shared ones under its own); its read-only twin "<name>-status" (the
// status workflow: the same secrets, no reviewers, protected branches only); "approval" (the
// optional gate: production's reviewers, no secrets); "preview" (PR previews of production, from
// any branch: production's secrets behind production's reviewers). The driver reaches the hosts
// with the key in the stack config, so no SSH key and no host variables are stored in GitHub.
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import {
  APPROVAL_ENVIRONMENT,
  PREVIEW_ENVIRONMENT,
  type EnvironmentSettings,
  protectedBranchesOnly,
  statusEnvironment,
} from "./config.js";

export interface EnvironmentsArgs {
  /** Repository name (without owner; the provider carries the owner). */
  repository: pulumi.Input<string>;
  /** Deploy environments by name (must include production). */
  environments: Record<string, EnvironmentSettings>;
  /** Secrets every deploy environment gets under its own (names the workflows read). */
  backendSecrets: Record<string, pulumi.Input<string>>;
}

function reviewersOf(settings: EnvironmentSettings): github.types.input.RepositoryEnvironmentReviewer[] {
  const { users, teams } = settings.reviewers;
  return users.length + teams.length > 0 ? [{ users, teams }] : [];
}

/** Resource name part of a secret name (GitHub names are upper case). */
function slug(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

export class Environments extends pulumi.ComponentResource {
  public readonly environments: Record<string, github.RepositoryEnvironment> = {};
  public readonly secrets: github.ActionsEnvironmentSecret[] = [];
  public readonly names: pulumi.Output<string[]>;

  constructor(name: string, args: EnvironmentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("awareness:github:Environments", name, args, opts);
    const production = args.environments["production"];
    if (!production) throw new pulumi.ResourceError("Environments needs a production environment", this);
    if (production.reviewers.users.length + production.reviewers.teams.length === 0) {
      throw new pulumi.ResourceError("the production environment needs at least one reviewer", this);
    }

    const secretsOf = (settings: EnvironmentSettings) => ({ ...args.backendSecrets, ...settings.secrets });
    for (const [environment, settings] of Object.entries(args.environments)) {
      const env = this.environment(name, environment, {
        reviewers: reviewersOf(settings),
        waitTimer: settings.waitTimerMinutes,
        preventSelfReview: settings.preventSelfReview,
        protectedBranches: protectedBranchesOnly(environment, settings),
        repository: args.repository,
      });
      this.addSecrets(name, environment, env, args.repository, secretsOf(settings));
      // The status workflow reads the stack on the default branch, without waiting for reviewers.
      const status = this.environment(name, statusEnvironment(environment), {
        reviewers: [],
        waitTimer: 0,
        preventSelfReview: false,
        protectedBranches: true,
        repository: args.repository,
      });
      this.addSecrets(name, statusEnvironment(environment), status, args.repository, secretsOf(settings));
    }

    // The approval gate: production's reviewers, nothing to leak.
    this.environment(name, APPROVAL_ENVIRONMENT, {
      reviewers: reviewersOf(production),
      waitTimer: 0,
      preventSelfReview: production.preventSelfReview,
      protectedBranches: false,
      repository: args.repository,
    });
    // PR previews of production: any branch may ask, production's reviewers decide before its code reads production's secrets.
    const preview = this.environment(name, PREVIEW_ENVIRONMENT, {
      reviewers: reviewersOf(production),
      waitTimer: 0,
      preventSelfReview: production.preventSelfReview,
      protectedBranches: false,
      repository: args.repository,
    });
    this.addSecrets(name, PREVIEW_ENVIRONMENT, preview, args.repository, secretsOf(production));

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
}
