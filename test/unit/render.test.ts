// The files a release puts on the host, as exact text: same config, same bytes.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderComposeFile, renderEnvFile, renderReleaseRecordPrefix, sha256Hex } from "../../components/compose/render.js";
import { parseStackConfig } from "../../components/config/parse.js";
import { releaseRecordSchema } from "../../components/host-commands/status.js";

const d = `sha256:${"c".repeat(64)}`;
const cfg = parseStackConfig({
  "awareness:hosts": '[{"host":"h"}]',
  "awareness:sshPrivateKey": "k",
  "awareness:services": JSON.stringify({
    redis: { image: "redis:7", volumes: ["redis-data:/data"], releaseEnv: false },
    nginx: { image: "nginx:1", dependsOn: ["backend"], networkMode: "bridge", restart: "always" },
    backend: { environment: { PORT: "8000", PRICE: "5$ $(id)" } },
  }),
  "awareness:release": JSON.stringify({ id: "v1", images: { backend: "b:1" } }),
});
const images = { backend: `b@${d}`, redis: `redis@${d}`, nginx: `nginx@${d}` };

describe("renderComposeFile", () => {
  it("pins digests, sorts services and keys, host networking, no version/name keys, env values double-quoted, $ escaped", () => {
    expect(renderComposeFile({ services: cfg.services, images })).toBe(
      [
        "# Written by the awareness Pulumi program: edits here are replaced by the next deploy.",
        "services:",
        "  backend:",
        `    image: b@${d}`,
        "    network_mode: host",
        "    restart: unless-stopped",
        "    env_file:",
        "      - .env",
        "    environment:",
        '      PORT: "8000"',
        '      PRICE: "5$$ $$(id)"',
        "  nginx:",
        `    image: nginx@${d}`,
        "    network_mode: bridge",
        "    restart: always",
        "    env_file:",
        "      - .env",
        "    depends_on:",
        "      - backend",
        "  redis:",
        `    image: redis@${d}`,
        "    network_mode: host",
        "    restart: unless-stopped",
        "    volumes:",
        "      - redis-data:/data",
        "volumes:",
        "  redis-data: {}",
        "",
      ].join("\n"),
    );
  });

  it("quotes what YAML 1.1 (docker-compose v1) or 1.2 (compose v2) would read as another type, so both read the same strings", () => {
    const tricky = parseStackConfig({
      "awareness:hosts": '[{"host":"h"}]',
      "awareness:sshPrivateKey": "k",
      "awareness:services": JSON.stringify({
        on: { image: "redis:7", environment: { N: "yes", DEBUG: "off", TIMEOUT: "1:20", BIG: "1_000", DAY: "2026-11-27", Y: "~", M: "<<", T: "a\tb" } },
        "0o26": { image: "redis:7", dependsOn: ["1e3"] },
        "1e3": { image: "redis:7" },
      }),
      "awareness:release": JSON.stringify({ id: "v1", images: {} }),
    });
    const text = renderComposeFile({ services: tricky.services, images: { on: `redis@${d}`, "0o26": `redis@${d}`, "1e3": `redis@${d}` } });
    const env = { N: "yes", DEBUG: "off", TIMEOUT: "1:20", BIG: "1_000", DAY: "2026-11-27", Y: "~", M: "<<", T: "a\tb" };
    for (const version of ["1.1", "1.2"] as const) {
      const doc = parse(text, { version }) as { services: Record<string, { environment: Record<string, unknown>; depends_on?: unknown[] }> };
      expect(Object.keys(doc.services).sort(), version).toEqual(["0o26", "1e3", "on"]);
      expect(doc.services["0o26"]!.depends_on, version).toEqual(["1e3"]);
      expect(doc.services.on!.environment, version).toEqual(env);
    }
  });

  it("is deterministic (same config, same hash) and refuses a service without a pinned image", () => {
    const a = renderComposeFile({ services: cfg.services, images });
    const b = renderComposeFile({ services: cfg.services, images: { nginx: images.nginx, redis: images.redis, backend: images.backend } });
    expect(sha256Hex(a)).toBe(sha256Hex(b));
    expect(sha256Hex(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(() => renderComposeFile({ services: cfg.services, images: { backend: images.backend } })).toThrow(/no pinned image for service "nginx"/);
    const named = { constructor: cfg.services.redis! };
    expect(() => renderComposeFile({ services: named, images: {} })).toThrow(/no pinned image for service "constructor"/);
  });
});

describe("renderEnvFile", () => {
  it("writes release env and secret env as sorted KEY='value' lines, quotes escaped", () => {
    expect(renderEnvFile({ B: "2", A: "1" }, { TOKEN: "x'y $z #c " })).toBe("A='1'\nB='2'\nTOKEN='x\\'y $z #c '\n");
    expect(renderEnvFile({}, {})).toBe("");
  });

  it("a host's own env is written over the release env; the secret env still wins", () => {
    expect(renderEnvFile({ PORT: "1", REGION: "eu" }, { TOKEN: "t" }, { PORT: "2", TOKEN: "host" })).toBe("PORT='2'\nREGION='eu'\nTOKEN='t'\n");
  });
});

describe("renderReleaseRecordPrefix", () => {
  it("is the release's JSON object without its closing brace (the host appends deployedAt)", () => {
    const prefix = renderReleaseRecordPrefix({
      id: "v1",
      gitSha: null,
      images: { z: "z@sha256:1", a: "a@sha256:2" },
      composeSha256: "abc",
      composeCommand: "docker compose",
    });
    expect(prefix).toBe(
      '{"id":"v1","gitSha":null,"images":{"a":"a@sha256:2","z":"z@sha256:1"},"composeSha256":"abc","composeCommand":"docker compose"',
    );
    expect(JSON.parse(`${prefix},"deployedAt":"T"}`).deployedAt).toBe("T");
  });

  it("with the host's deployedAt it is a record releaseRecordSchema accepts, unchanged", () => {
    const record = {
      id: "2026.11.27-1",
      gitSha: "0123456",
      images: { backend: `ghcr.io/acme/backend@${d}` },
      composeSha256: sha256Hex("services: {}\n"),
      composeCommand: "docker-compose" as const,
    };
    const onHost = JSON.parse(`${renderReleaseRecordPrefix(record)},"deployedAt":"2026-11-27T06:00:00Z"}`);
    expect(releaseRecordSchema.parse(onHost)).toEqual({ ...record, deployedAt: "2026-11-27T06:00:00Z" });
  });
});
