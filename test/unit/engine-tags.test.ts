// The engine door's stack tags: one tag call at a time per stack (detached doors included), and a
// `null` from `tag ls` (a diy tags file read while written) read again, never taken as "no tags".
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it } from "vitest";
import { Engine } from "../../automation/runner.js";

/** A stack whose tag calls take a while and record how many ran at once. */
function fakeStack(listResults: unknown[]) {
  const tags: Record<string, string> = {};
  const seen = { inFlight: 0, most: 0, lists: 0 };
  const busy = async <T>(work: () => T): Promise<T> => {
    seen.inFlight++;
    seen.most = Math.max(seen.most, seen.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen.inFlight--;
    return work();
  };
  const stack = {
    name: "fake",
    listTags: () => busy(() => (seen.lists < listResults.length ? listResults[seen.lists++] : { ...tags })),
    setTag: (k: string, v: string) => busy(() => void (tags[k] = v)),
  } as unknown as Stack;
  return { stack, seen, tags };
}

describe("engine door: stack tags", () => {
  it("tag calls of a door and its detached doors never overlap, and each write lands", async () => {
    const { stack, seen, tags } = fakeStack([]);
    const engine = new Engine(stack, "file:///x", undefined);
    await Promise.all([engine.setTag("a", "1"), engine.tags(), engine.detached().setTag("b", "2"), engine.detached().tags(), engine.setTag("c", "3")]);
    expect(seen.most).toBe(1);
    expect(tags).toEqual({ a: "1", b: "2", c: "3" });
  });

  it("a call that fails does not stop the next one", async () => {
    const { stack, tags } = fakeStack([]);
    (stack as unknown as { setTag: unknown }).setTag = async (k: string, v: string) => {
      if (k === "bad") throw new Error("backend refused");
      tags[k] = v;
    };
    const engine = new Engine(stack, "file:///x", undefined);
    const [bad, good] = await Promise.allSettled([engine.setTag("bad", "x"), engine.setTag("good", "y")]);
    expect(bad.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
    expect(tags).toEqual({ good: "y" });
  });

  it("a null read is read again: the tags come back", async () => {
    const { stack, seen } = fakeStack([null, null, { "awareness:verified-releases": "v1@7" }]);
    expect(await new Engine(stack, "file:///x", undefined).tags()).toEqual({ "awareness:verified-releases": "v1@7" });
    expect(seen.lists).toBe(3);
  });

  it("only nulls: a clear error, never an empty set of tags", async () => {
    const { stack, seen } = fakeStack([null, null, null, null, null]);
    await expect(new Engine(stack, "file:///x", undefined).tags()).rejects.toThrow(/the backend gave no stack tags for fake \(null, 4 reads\)/);
    expect(seen.lists).toBe(4);
  });
});
