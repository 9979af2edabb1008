/**
 * The docker/* actions of the build job, against the sandbox's dockerd and registry.
 *
 * docker/setup-buildx-action v3.11.1 — real: downloads buildx if needed, creates and boots a
 * docker-container builder, outputs its `name`. Stand-in: uses the daemon's default builder
 * (`docker version` must answer) and outputs `name=default`.
 *
 * docker/login-action v3.4.0 — real: `docker login <registry>` with username/password (stdin),
 * and `docker logout` in its post step. Stand-in: `docker login` to the registry that stands in
 * for the one named (settings.registries, e.g. ghcr.io → the sandbox registry); no logout.
 *
 * docker/build-push-action v6.18.0 — real: `docker buildx build` of `context` with `tags`,
 * pushing with `push: true`, outputs `imageid`, `digest`, `metadata`. Stand-in: `docker build`
 * and `docker push` of each tag (registry rewritten as above), outputs the pushed `digest`. The
 * daemon has no Docker Hub: the images settings.hubImages names are tagged from local ones first.
 */
import { exec, requireInput, type ActionContext, type StandIn } from "./context.js";

/** A ref whose registry host is swapped for its stand-in (ghcr.io/o/x:t → 127.0.0.1:5000/o/x:t). */
export function standInRef(ctx: ActionContext, ref: string): string {
  const [host, ...rest] = ref.split("/");
  const replacement = host === undefined ? undefined : ctx.settings.registries?.[host];
  return replacement && rest.length > 0 ? [replacement, ...rest].join("/") : ref;
}

export const setupBuildx: StandIn = {
  uses: "docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435",
  async run(ctx) {
    await exec(ctx, ["docker", "version", "--format", "{{.Server.Version}}"]);
    ctx.setOutput("name", "default");
  },
};

export const login: StandIn = {
  uses: "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772",
  async run(ctx) {
    const registry = standInRef(ctx, `${requireInput(ctx, "registry")}/x`).replace(/\/x$/, "");
    const username = requireInput(ctx, "username");
    const password = requireInput(ctx, "password");
    await exec(ctx, ["docker", "login", registry, "--username", username, "--password-stdin"], ctx.workspace, password);
    ctx.log(`logged in to ${registry}`);
  },
};

export const buildPush: StandIn = {
  uses: "docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83",
  async run(ctx) {
    const context = ctx.with.context || ".";
    const tags = requireInput(ctx, "tags").split(/[\n,]/).map((t) => t.trim()).filter(Boolean).map((t) => standInRef(ctx, t));
    for (const [hubName, local] of Object.entries(ctx.settings.hubImages ?? {})) await exec(ctx, ["docker", "tag", local, hubName]);
    await exec(ctx, ["docker", "build", "--quiet", ...tags.flatMap((t) => ["--tag", t]), context]);
    if (ctx.with.push !== "true") return;
    let digest = "";
    for (const tag of tags) {
      const pushed = await exec(ctx, ["docker", "push", tag]);
      digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1] ?? digest;
    }
    if (!digest) throw new Error("stand-in: docker push reported no digest");
    ctx.setOutput("digest", digest);
  },
};
