// When the deploy's up can be held to the preview's update plan: only when every image's
// digest is known before the host pulls it (a plan cannot hold a switch whose files are
// unknown at preview). The e2e (driver.test.ts) proves the hold on the real engine.
import { describe, expect, it } from "vitest";
import { parseStackConfig, rawFromAutomationConfig } from "../../components/config/parse.js";
import { renderMarkdown } from "../../automation/report/markdown.js";
import { newSummary, type RunSummary } from "../../automation/report/summary.js";
import { sandboxStackConfig } from "../../automation/sandbox/target.js";
import { digestsKnownOnlyOnPull } from "../../automation/stages/preview.js";
import { fakeSshKey, fakeTarget } from "../support/fake-target.js";

function configOf(byTag: boolean, overrides: Record<string, unknown> = {}) {
  const config = sandboxStackConfig(fakeTarget, "v1", { byTag, overrides });
  config["awareness:sshPrivateKey"] = fakeSshKey;
  return parseStackConfig(rawFromAutomationConfig(config));
}

describe("digestsKnownOnlyOnPull", () => {
  it("is empty when every image is pinned by digest: the up is held to the plan", () => {
    const cfg = configOf(false);
    expect(digestsKnownOnlyOnPull(cfg, cfg.release)).toEqual([]);
  });

  it("names every service whose image is a tag resolved on the host", () => {
    const cfg = configOf(true);
    expect(digestsKnownOnlyOnPull(cfg, cfg.release).sort()).toEqual(["backend", "frontend"]);
    // One service pinned by the release, the other still a tag.
    expect(digestsKnownOnlyOnPull(cfg, { images: { ...cfg.release.images, backend: fakeTarget.releases.v1!.backend! } })).toEqual(["frontend"]);
  });

  it("is empty with the registry resolver: it asks the registry for the digest at preview", () => {
    const cfg = configOf(true, { "awareness:imageResolver": "registry" });
    expect(cfg.imageResolver).toBe("registry");
    expect(digestsKnownOnlyOnPull(cfg, cfg.release)).toEqual([]);
  });
});

describe("the report on the plan", () => {
  const summary = (preview: RunSummary["preview"]): RunSummary => ({ ...newSummary("deploy", "sandbox"), outcome: "deployed-verified", preview });

  it("says when the up was held to the preview's plan", () => {
    const md = renderMarkdown(summary({ ops: { update: 2 }, plan: [], blocked: [], heldToPlan: true }));
    expect(md).toContain("The update was held to this preview's plan");
  });

  it("says why it was not, and never claims the hold", () => {
    const md = renderMarkdown(summary({ ops: { update: 2 }, plan: [], blocked: [], heldToPlan: false, planNote: "the image of frontend is a tag" }));
    expect(md).toContain("⚠️ the image of frontend is a tag");
    expect(md).not.toContain("held to this preview's plan");
  });
});
