// Engine swarm without a swarm: its config rules, the stack file it deploys, the env file Swarm
// reads literally, and the observers' commands (services by the stack's label, exec in a task).
// The switch itself runs against a real swarm in test/e2e/swarm.test.ts.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderEnvFile } from "../../components/compose/render.js";
import { renderSwarmStackFile } from "../../components/compose/render-swarm.js";
import { parseStackConfig } from "../../components/config/parse.js";
import type { ServiceConfig } from "../../components/config/schema.js";
import * as hc from "../../components/host-commands/index.js";
import { hostLayoutOf } from "../../components/host-commands/layout.js";
import { execInService } from "../../components/host-commands/exec-check.js";
import { configProblems, rawStackConfig, testSshKey } from "../support/stack-config.js";

const digest = `sha256:${"d".repeat(64)}`;

function raw(extra: Record<string, unknown>, services?: Record<string, unknown>): Record<string, string> {
  const cfg: Record<string, unknown> = {
    hosts: [{ host: "manager.example.com" }],
    sshPrivateKey: testSshKey,
    services: services ?? { backend: { environment: { PORT: "8000", PRICE: "$5" }, restart: "unless-stopped" }, worker: { image: "worker:1", restart: "on-failure", dependsOn: ["backend"], releaseEnv: false } },
    release: { id: "r1", images: { backend: `ghcr.io/acme/backend@${digest}` } },
    engine: "swarm",
    ...extra,
  };
  return rawStackConfig(cfg);
}
const problems = configProblems;

describe("config: what engine swarm needs, checked before any remote command", () => {
  it("compose stays the default; swarm parses with its defaults, and the host layout carries them", () => {
    expect(parseStackConfig(raw({ engine: "compose" })).engine).toBe("compose");
    const cfg = parseStackConfig(raw({}));
    expect(cfg.swarm).toEqual({ mode: "replicated", replicas: 1, monitorSeconds: 10 });
    expect(hostLayoutOf(cfg, cfg.hosts[0]!).swarm).toEqual(cfg.swarm);
    expect(hostLayoutOf(parseStackConfig(raw({ engine: "compose" })), cfg.hosts[0]!).swarm).toBeUndefined();
  });

  it("refuses what swarm cannot run, naming the key: blue-green, several hosts, batches, another network, volume snapshots", () => {
    expect(problems(raw({ strategy: "blue-green", blueGreen: { routes: [{ service: "backend", listenPort: 8000, bluePort: 8101, greenPort: 8201 }] } }))).toMatch(/awareness:strategy: engine swarm updates the services itself/);
    expect(problems(raw({ hosts: [{ host: "m1.example.com" }, { host: "m2.example.com" }] }))).toMatch(/awareness:hosts: engine swarm deploys through one manager/);
    expect(problems(raw({ rollout: { canary: 1 } }))).toMatch(/awareness:rollout: engine swarm rolls the tasks out itself/);
    expect(problems(raw({}, { backend: { networkMode: "bridge" } }))).toMatch(/awareness:services\.backend\.networkMode: engine swarm runs services on the host network/);
    expect(problems(raw({}, { backend: { volumes: ["data:/data"], snapshotVolumes: true } }))).toMatch(/snapshotVolumes: volume snapshots are taken with compose/);
    expect(problems(raw({ swarm: { mode: "spread" } }))).toMatch(/awareness:swarm\.mode/);
    expect(problems(raw({ swarm: { replicas: 0 } }))).toMatch(/awareness:swarm\.replicas/);
  });
});

describe("the stack file", () => {
  const cfg = parseStackConfig(raw({ swarm: { monitorSeconds: 7, replicas: 2 } }));
  const images = { backend: `ghcr.io/acme/backend@${digest}`, worker: `worker@${digest}` };
  const file = renderSwarmStackFile({ services: cfg.services as Record<string, ServiceConfig>, images, swarm: cfg.swarm });
  const doc = parse(file) as { version: string; services: Record<string, Record<string, unknown>>; networks: Record<string, unknown> };

  it("each service on the node's own network (one task per node), stop-first updates that Swarm rolls back on failure, restart policies mapped", () => {
    expect(doc.version).toBe("3.8");
    expect(doc.networks).toEqual({ hostnet: { external: true, name: "host" } });
    expect(doc.services.backend).toEqual({
      image: images.backend,
      env_file: [".env"],
      environment: { PORT: "8000", PRICE: "$$5" },
      networks: ["hostnet"],
      deploy: {
        mode: "replicated",
        replicas: 2,
        placement: { max_replicas_per_node: 1 },
        update_config: { parallelism: 1, order: "stop-first", failure_action: "rollback", monitor: "7s" },
        rollback_config: { parallelism: 1, order: "stop-first", monitor: "7s" },
        restart_policy: { condition: "any" },
      },
    });
    // depends_on means nothing to Swarm; releaseEnv false: no env file.
    expect(doc.services.worker).not.toHaveProperty("depends_on");
    expect(doc.services.worker).not.toHaveProperty("env_file");
    expect((doc.services.worker!.deploy as { restart_policy: unknown }).restart_policy).toEqual({ condition: "on-failure" });
  });

  it("global mode has no replica count; the same inputs give the same bytes", () => {
    const global = parse(renderSwarmStackFile({ services: cfg.services as Record<string, ServiceConfig>, images, swarm: { ...cfg.swarm, mode: "global" } })) as typeof doc;
    expect(global.services.backend!.deploy).toMatchObject({ mode: "global" });
    expect(global.services.backend!.deploy).not.toHaveProperty("replicas");
    expect(global.services.backend!.deploy).not.toHaveProperty("placement");
    expect(renderSwarmStackFile({ services: cfg.services as Record<string, ServiceConfig>, images, swarm: cfg.swarm })).toBe(file);
  });

  it("a service without a pinned image is refused", () => {
    expect(() => renderSwarmStackFile({ services: cfg.services as Record<string, ServiceConfig>, images: { backend: images.backend }, swarm: cfg.swarm })).toThrow(/no pinned image for service "worker"/);
  });

  it("the env file is KEY=value, read literally by Swarm (no quotes to strip)", () => {
    expect(renderEnvFile({ A: "it's $HOME #1" }, { TOKEN: "t" }, {}, true)).toBe("A=it's $HOME #1\nTOKEN=t\n");
  });
});

describe("observing a swarm stack", () => {
  const cfg = parseStackConfig(raw({ composeProject: "shop" }));
  const layout = hostLayoutOf(cfg, cfg.hosts[0]!);

  it("what runs: the stack's services by its label, each with its spec image and running tasks", () => {
    const cmd = hc.runningServices(layout);
    expect(cmd).toContain("docker service ls --filter label=com.docker.stack.namespace=shop");
    expect(cmd).toContain("{{.Spec.TaskTemplate.ContainerSpec.Image}}");
    expect(hc.parseRunningServices("backend repo@sha256:1 running\nworker w@sha256:2 0/1-running\n")).toEqual([
      { service: "backend", image: "repo@sha256:1", state: "running" },
      { service: "worker", image: "w@sha256:2", state: "0/1-running" },
    ]);
  });

  it("an exec check runs in a task of the service on this node, or fails saying none runs here", () => {
    const cmd = execInService(layout, { service: "backend", command: ["redis-cli", "ping"], timeoutSeconds: 3 });
    expect(cmd).toContain("label=com.docker.swarm.service.name=shop_backend");
    expect(cmd).toContain('timeout 3 docker exec "$c" redis-cli ping');
    expect(cmd).toContain("no task of backend runs on this node");
  });

  it("destroy removes the stack, and nothing when there is none", () => {
    expect(hc.teardown(layout)).toContain("docker stack rm shop");
  });
});
