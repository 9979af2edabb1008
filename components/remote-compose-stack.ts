// One host running the app with docker compose, changed over SSH in ordered steps:
// resolve + pull every image (nothing running is touched yet) -> one switch step that backs up
// the current files, swaps in the new ones atomically, `up -d --remove-orphans`, waits until
// the containers run, and on a failed start puts the previous release back before failing.
// Destroy stops the app and keeps its data.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderComposeFile, renderEnvFile, renderReleaseRecordPrefix, sha256Hex } from "./compose/render.js";
import { renderSwarmStackFile } from "./compose/render-swarm.js";
import { z } from "zod";
import { volumesToSnapshot, type Release, type ServiceConfig } from "./config/schema.js";
import { parseSwitchOutput, switchRelease, switchReleaseCommand, switchReleaseStdin, teardown } from "./host-commands/deploy.js";
import { paths, type HostLayout } from "./host-commands/layout.js";
import { releaseRecordSchema } from "./host-commands/status.js";
import { createImageResolver, type ImageResolverKind, type RegistryCredentials } from "./images/resolver.js";

/**
 * The stack output `release` (and `hosts.<name>.release`): the host's record of the release
 * (releaseRecordSchema, exactly what the switch wrote as "current" in deployment.json; never
 * verifiedAt, which the driver adds later on the host) plus where it is: the host's name and
 * the app dir. deployedAt changes only when the release does. Parse a stack output read back
 * with this schema (parseData in config/parse.ts).
 */
export const releaseOutputSchema = releaseRecordSchema.omit({ verifiedAt: true }).extend({
  /** The host's name (hostDisplayName). */
  host: z.string(),
  appDir: z.string(),
});

export type ReleaseRecord = z.infer<typeof releaseOutputSchema>;

export interface RemoteComposeStackArgs {
  /** SSH connection (host, port, user, privateKey as a secret, optional hostKey). */
  connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  /** The host's name in outputs. */
  hostName: string;
  /** App dir, compose project and compose command on the host. */
  layout: HostLayout;
  /** Service definitions (validated by the config schema). */
  services: Record<string, ServiceConfig>;
  /** The release: id, git sha, image per service (tag or digest), plain env. */
  release: Release;
  /** Secret env for services with releaseEnv. Default: none. */
  secretEnv?: pulumi.Input<Record<string, string>>;
  /** This host's own env, written over the release env (secretEnv still wins). Default: none. */
  hostEnv?: Record<string, string>;
  /** Backup sets (one per switch: the files it replaced and their manifest) kept on the host. Default: 5. */
  retainBackups?: number;
  /** Seconds the containers may take to run after `up -d`. Default: 90. */
  startTimeoutSeconds?: number;
  /** Consecutive 1-second checks that must see every container running. Default: 2. */
  stableChecks?: number;
  /** How images become digests. Default: "host" (pull on the host). */
  imageResolver?: ImageResolverKind;
  /** Registry login for private images. Default: none. */
  registryAuth?: RegistryCredentials;
  /** Set when this host drifted from the state (see config `reconcile`): re-runs the switch. */
  reconcileToken?: string | undefined;
}

export class RemoteComposeStack extends pulumi.ComponentResource {
  /** Pinned reference per service. */
  readonly images: pulumi.Output<Record<string, string>>;
  readonly composeFile: pulumi.Output<string>;
  readonly composeSha256: pulumi.Output<string>;
  readonly release: pulumi.Output<ReleaseRecord>;
  /** Backup files on the host after this deploy (absolute paths, oldest set first). */
  readonly backups: pulumi.Output<string[]>;
  readonly deploymentStatusPath: string;
  /** The steps before the switch: image pulls (host resolver) or the registry login (registry resolver). */
  readonly pullSteps: pulumi.Resource[];
  readonly switchStep: command.remote.Command;

  constructor(name: string, args: RemoteComposeStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("awareness:deploy:RemoteComposeStack", name, {}, opts);
    const serviceNames = Object.keys(args.services).sort();
    if (serviceNames.length === 0) throw new pulumi.ResourceError("RemoteComposeStack needs at least one service", this);
    // Own keys only (a service may be called "constructor").
    const releaseImage = (svc: string) => (Object.hasOwn(args.release.images, svc) ? args.release.images[svc] : undefined);
    for (const svc of serviceNames) {
      if (!releaseImage(svc) && !args.services[svc]?.image) {
        throw new pulumi.ResourceError(`service "${svc}" has no image in the release or its definition`, this);
      }
    }
    const retainBackups = args.retainBackups ?? 5;
    if (!Number.isInteger(retainBackups) || retainBackups < 1) {
      throw new pulumi.ResourceError(`retainBackups must be a positive integer (got ${retainBackups})`, this);
    }

    // 1. Every image resolved to a digest (and, with the host resolver, pulled onto the host).
    const resolver = createImageResolver(args.imageResolver ?? "host", {
      name,
      parent: this,
      connection: args.connection,
      registryAuth: args.registryAuth,
    });
    const pinned: Record<string, pulumi.Output<string>> = {};
    for (const svc of serviceNames) {
      pinned[svc] = resolver.resolve(svc, (releaseImage(svc) ?? args.services[svc]!.image)!);
    }
    this.images = pulumi.all(pinned) as pulumi.Output<Record<string, string>>;

    // 2. The files of this release: a pure function of config and digests.
    const colorPorts = args.layout.blueGreen ? Object.fromEntries(args.layout.blueGreen.routes.map((r) => [r.service, r.portEnv])) : undefined;
    const swarm = args.layout.swarm;
    this.composeFile = this.images.apply((images) =>
      swarm ? renderSwarmStackFile({ services: args.services, images, swarm }) : renderComposeFile({ services: args.services, images, colorPorts }),
    );
    this.composeSha256 = this.composeFile.apply(sha256Hex);
    const recordPrefix = pulumi
      .all([this.images, this.composeSha256])
      .apply(([images, composeSha256]) =>
        renderReleaseRecordPrefix({
          id: args.release.id,
          gitSha: args.release.gitSha ?? null,
          images,
          composeSha256,
          composeCommand: args.layout.composeCommand,
        }),
      );
    const script = this.images.apply((images) =>
      switchRelease({
        layout: args.layout,
        releaseId: args.release.id,
        services: serviceNames.map((svc) => ({
          name: svc,
          image: images[svc]!,
          waitHealthy: args.services[svc]!.waitHealthy,
        })),
        retainBackups,
        // Read with the service's own image, which the pulls before the switch put on the host.
        snapshotVolumes: serviceNames.flatMap((svc) =>
          volumesToSnapshot(args.services[svc]!).map((volume) => ({ service: svc, volume, image: images[svc]! })),
        ),
        startTimeoutSeconds: args.startTimeoutSeconds ?? 90,
        stableChecks: args.stableChecks ?? 2,
      }),
    );
    const stdin = pulumi
      .all([script, this.composeFile, pulumi.output(args.secretEnv ?? {}), recordPrefix])
      .apply(([script, compose, secretEnv, currentRecordPrefix]) =>
        switchReleaseStdin({ script, compose, env: renderEnvFile(args.release.env, secretEnv, args.hostEnv, Boolean(swarm)), currentRecordPrefix }),
      );

    // 3. The switch: only after every pull succeeded.
    const switchStep = new command.remote.Command(
      `${name}-switch`,
      {
        connection: args.connection,
        // A short command line (failure messages quote it); the script and files ride on stdin,
        // which holds the env file's secrets and is stored encrypted in state.
        create: this.images.apply((images) =>
          switchReleaseCommand({ layout: args.layout, releaseId: args.release.id, images, reconcileToken: args.reconcileToken }),
        ),
        stdin: pulumi.secret(stdin),
        delete: teardown(args.layout),
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: resolver.steps },
    );

    this.pullSteps = resolver.steps;
    this.switchStep = switchStep;
    const summary = switchStep.stdout.apply(parseSwitchOutput);
    this.backups = summary.apply((s) => s.backups);
    this.deploymentStatusPath = paths(args.layout).statusFile;
    this.release = pulumi
      .all([this.images, this.composeSha256, summary])
      .apply(([images, composeSha256, s]): ReleaseRecord => ({
        id: args.release.id,
        gitSha: args.release.gitSha ?? null,
        images,
        composeSha256,
        composeCommand: args.layout.composeCommand,
        deployedAt: s.deployedAt,
        host: args.hostName,
        appDir: args.layout.appDir,
      }));

    this.registerOutputs({
      images: this.images,
      composeSha256: this.composeSha256,
      release: this.release,
      backups: this.backups,
      deploymentStatusPath: this.deploymentStatusPath,
    });
  }
}
