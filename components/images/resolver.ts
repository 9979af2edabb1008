// Turning an image reference (tag or digest) into an immutable `repo@sha256:…`, behind one
// interface. "host" (default): pull on the target host through @pulumi/command and read the
// RepoDigests there, so the image is on the host before the stack is touched. "registry": ask
// the registry through @pulumi/docker's getRegistryImage (for runners with the docker
// provider); the switch step then pulls the pinned digest before touching the stack.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { digestRefPattern } from "../config/schema.js";
import { pullAndResolveDigest, registryLogin, splitImageRef } from "../host-commands/images.js";

export interface ImageDigestResolver {
  /** The pinned reference for `service`'s image `ref`. */
  resolve(service: string, ref: string): pulumi.Output<string>;
  /** Resources that must finish before the running stack is touched. */
  readonly steps: pulumi.Resource[];
}

export interface RegistryCredentials {
  server: string;
  username: string;
  password: pulumi.Input<string>;
}

export interface ResolverContext {
  /** Prefix for child resource names (the component's name). */
  name: string;
  parent: pulumi.Resource;
  connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  registryAuth?: RegistryCredentials | undefined;
}

/** Accepts only one line of the form repo@sha256:<64 hex>. */
function parseDigestLine(service: string, stdout: string): string {
  const line = stdout.trim().split("\n").pop()?.trim() ?? "";
  if (!digestRefPattern.test(line)) {
    throw new Error(`service ${service}: the host did not report an image digest (got ${JSON.stringify(line.slice(0, 120))})`);
  }
  return line;
}

class HostPullResolver implements ImageDigestResolver {
  readonly steps: pulumi.Resource[] = [];
  constructor(private readonly ctx: ResolverContext) {}

  resolve(service: string, ref: string): pulumi.Output<string> {
    const auth = this.ctx.registryAuth;
    const pull = new command.remote.Command(
      `${this.ctx.name}-pull-${service}`,
      {
        connection: this.ctx.connection,
        create: pullAndResolveDigest(service, ref, auth ? { server: auth.server, username: auth.username } : undefined),
        // The registry password goes over stdin to `docker login --password-stdin`.
        ...(auth ? { stdin: pulumi.secret(auth.password) } : {}),
        addPreviousOutputInEnv: false,
      },
      { parent: this.ctx.parent },
    );
    this.steps.push(pull);
    // A digest is known before the pull (which prints exactly it): the switch's inputs are then
    // known at preview, so an update plan holds them (the switch still waits for the pull).
    const { repo, digest } = splitImageRef(ref);
    if (digest) return pulumi.output(`${repo}@${digest}`);
    return pull.stdout.apply((out) => parseDigestLine(service, out));
  }
}

class RegistryLookupResolver implements ImageDigestResolver {
  readonly steps: pulumi.Resource[] = [];
  private provider: docker.Provider | undefined;
  constructor(private readonly ctx: ResolverContext) {
    const auth = ctx.registryAuth;
    if (auth) {
      // The switch step pulls the pinned digests on the host: log the host in first.
      this.steps.push(
        new command.remote.Command(
          `${ctx.name}-registry-login`,
          {
            connection: ctx.connection,
            create: registryLogin({ server: auth.server, username: auth.username }),
            stdin: pulumi.secret(auth.password),
            addPreviousOutputInEnv: false,
          },
          { parent: ctx.parent },
        ),
      );
    }
  }

  private dockerProvider(): docker.Provider | undefined {
    const auth = this.ctx.registryAuth;
    if (!auth) return undefined;
    this.provider ??= new docker.Provider(
      `${this.ctx.name}-registry`,
      { registryAuth: [{ address: auth.server, username: auth.username, password: auth.password }] },
      { parent: this.ctx.parent },
    );
    return this.provider;
  }

  resolve(service: string, ref: string): pulumi.Output<string> {
    const { repo, digest } = splitImageRef(ref);
    if (digest) return pulumi.output(`${repo}@${digest}`);
    const provider = this.dockerProvider();
    const image = docker.getRegistryImageOutput({ name: ref }, { parent: this.ctx.parent, ...(provider ? { provider } : {}) });
    return image.sha256Digest.apply((d) => parseDigestLine(service, `${repo}@${d}`));
  }
}

export type ImageResolverKind = "host" | "registry";

export function createImageResolver(kind: ImageResolverKind, ctx: ResolverContext): ImageDigestResolver {
  return kind === "registry" ? new RegistryLookupResolver(ctx) : new HostPullResolver(ctx);
}
