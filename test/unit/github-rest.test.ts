import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ciStateOf, GitHubApiError, GitHubRest, maxIssueBodyChars } from "../../automation/github/rest.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";

const owner = "acme";
const repo = "awareness";
const sha = "0123456789abcdef0123456789abcdef01234567";
let github: FakeGitHub;
let client: GitHubRest;

beforeAll(async () => {
  github = await startFakeGitHub();
  client = new GitHubRest({ token: github.token, baseUrl: github.url });
});

afterAll(() => github.close());

afterEach(() => {
  github.issues.length = 0;
  github.comments.length = 0;
  github.requests.length = 0;
});

async function rejection(promise: Promise<unknown>): Promise<GitHubApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitHubApiError);
  return error as GitHubApiError;
}

describe("ciStatusForCommit", () => {
  it("is success when the newest run for the sha succeeded, with its URL", async () => {
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: sha, conclusion: "failure", created_at: "2026-01-01T10:00:00Z" });
    const newest = github.seedRun(owner, repo, "ci-cd.yml", {
      head_sha: sha,
      conclusion: "success",
      created_at: "2026-01-01T11:00:00Z",
    });
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: "f".repeat(40), conclusion: "failure" });

    const status = await client.ciStatusForCommit({ owner, repo, sha, workflow: "ci-cd.yml" });
    expect(status).toEqual({ state: "success", runUrl: newest.html_url, conclusion: "success", runStatus: "completed" });
    const [request] = github.requests;
    expect(request?.url).toContain(`/repos/acme/awareness/actions/workflows/ci-cd.yml/runs?`);
    expect(request?.url).toContain(`head_sha=${sha}`);
    expect(request?.authorization).toBe(`token ${github.token}`);
  });

  it("is failure when the newest run failed, even after an older success (a re-run that broke)", async () => {
    const sha2 = "1".repeat(40);
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: sha2, conclusion: "success", created_at: "2026-01-02T10:00:00Z" });
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: sha2, conclusion: "cancelled", created_at: "2026-01-02T12:00:00Z" });
    expect(await client.ciStatusForCommit({ owner, repo, sha: sha2 })).toMatchObject({
      state: "failure",
      conclusion: "cancelled",
    });
  });

  it("is pending while the newest run is still running", async () => {
    const sha3 = "2".repeat(40);
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: sha3, status: "in_progress", conclusion: null });
    const status = await client.ciStatusForCommit({ owner, repo, sha: sha3 });
    expect(status).toMatchObject({ state: "pending", runStatus: "in_progress" });
    expect(status.conclusion).toBeUndefined();
  });

  it("is missing when no run exists for the sha", async () => {
    github.addWorkflow(owner, repo, "ci-cd.yml");
    expect(await client.ciStatusForCommit({ owner, repo, sha: "3".repeat(40) })).toEqual({ state: "missing" });
  });

  it("folds GitHub's run status and conclusion into a gate state", () => {
    expect(ciStateOf("completed", "success")).toBe("success");
    expect(ciStateOf("completed", "timed_out")).toBe("failure");
    expect(ciStateOf("completed", "skipped")).toBe("failure");
    expect(ciStateOf("queued", null)).toBe("pending");
    expect(ciStateOf("waiting", undefined)).toBe("pending");
  });

  it("names the workflow and repository when the workflow does not exist (404)", async () => {
    const error = await rejection(client.ciStatusForCommit({ owner, repo: "other", sha, workflow: "ci-cd.yml" }));
    expect(error.status).toBe(404);
    expect(error.message).toBe("workflow ci-cd.yml not found in acme/other (or the token cannot see the repository)");
  });

  it("says the token was rejected on 401, without ever showing the token", async () => {
    const wrongToken = "ghp_wrong_secret_value_987654321";
    const rejected = new GitHubRest({ token: wrongToken, baseUrl: github.url });
    const error = await rejection(rejected.ciStatusForCommit({ owner, repo, sha }));
    expect(error.status).toBe(401);
    expect(error.message).toContain("GITHUB_TOKEN rejected");
    expect(error.message).not.toContain(wrongToken);
    expect(JSON.stringify(error)).not.toContain(wrongToken);
  });

  it("reports a rate limit with its reset time", async () => {
    github.failNext(403, "API rate limit exceeded", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767225600" });
    const error = await rejection(client.ciStatusForCommit({ owner, repo, sha }));
    expect(error.message).toBe(
      `GitHub API rate limit reached until 2026-01-01T00:00:00.000Z; could not read the ci-cd.yml runs of acme/awareness`,
    );
  });

  it("names the base URL and the cause when the API cannot be reached", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));

    const offline = new GitHubRest({ token: github.token, baseUrl: deadUrl });
    const error = await rejection(offline.ciStatusForCommit({ owner, repo, sha }));
    expect(error.status).toBeUndefined();
    expect(error.message).toContain(`GitHub API at ${deadUrl} could not be reached`);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("gives up on a server that does not answer within the timeout", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const slowUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const impatient = new GitHubRest({ token: github.token, baseUrl: slowUrl, timeoutMs: 200 });
      const error = await rejection(impatient.ciStatusForCommit({ owner, repo, sha }));
      expect(error.message).toContain("no answer in time");
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("configuration", () => {
  it("reads GITHUB_API_URL and GITHUB_TOKEN, defaulting to api.github.com", async () => {
    const fromEnv = new GitHubRest({ env: { GITHUB_TOKEN: github.token, GITHUB_API_URL: `${github.url}/` } });
    expect(fromEnv.baseUrl).toBe(github.url);
    github.seedRun(owner, repo, "ci-cd.yml", { head_sha: "4".repeat(40) });
    expect(await fromEnv.ciStatusForCommit({ owner, repo, sha: "4".repeat(40) })).toMatchObject({ state: "success" });
    expect(new GitHubRest({ env: { GITHUB_TOKEN: "x" } }).baseUrl).toBe("https://api.github.com");
  });

  it("builds without a token, but every call then fails saying which variable to set, sending nothing", async () => {
    const tokenless = new GitHubRest({ env: { GITHUB_API_URL: github.url } });
    const error = await rejection(tokenless.ciStatusForCommit({ owner, repo, sha }));
    expect(error.message).toBe(
      "GITHUB_TOKEN is not set, so the driver cannot read the ci-cd.yml runs of acme/awareness: give it a token with actions:read and issues:write",
    );
    expect(github.requests).toHaveLength(0);
  });
});

describe("openFailureIssue", () => {
  const title = "Deploy of release r42 to production failed";

  it("opens an issue with its labels when none is open with that title", async () => {
    const issue = await client.openFailureIssue({ owner, repo, title, body: "## Summary\nrolled back", labels: ["deployment", "incident"] });
    expect(issue).toEqual({ number: 1, url: "https://github.example/acme/awareness/issues/1", action: "created" });
    expect(github.issues).toMatchObject([{ title, body: "## Summary\nrolled back", labels: ["deployment", "incident"], state: "open" }]);
    const list = github.requests.find((r) => r.method === "GET");
    expect(list?.url).toContain("state=open");
    expect(list?.url).toContain("labels=deployment%2Cincident");
  });

  it("comments on the open issue with the same title instead of opening a duplicate", async () => {
    github.seedIssue({ owner, repo, title, labels: ["deployment"] });
    const again = await client.openFailureIssue({ owner, repo, title, body: "failed again", labels: ["deployment"] });
    expect(again).toMatchObject({ number: 1, action: "commented" });
    expect(again.commentUrl).toMatch(/^https:\/\/github\.example\/acme\/awareness\/issues\/1#issuecomment-\d+$/);
    expect(github.issues).toHaveLength(1);
    expect(github.comments).toMatchObject([{ issueNumber: 1, body: "failed again" }]);
  });

  it("opens a new issue when the same title is only closed, or only a pull request", async () => {
    github.seedIssue({ owner, repo, title, labels: ["deployment"], state: "closed" });
    github.seedIssue({ owner, repo, title, labels: ["deployment"], isPullRequest: true });
    const issue = await client.openFailureIssue({ owner, repo, title, body: "b", labels: ["deployment"] });
    expect(issue).toMatchObject({ number: 3, action: "created" });
    expect(github.comments).toHaveLength(0);
  });

  it("finds the open issue beyond the first page of results", async () => {
    github.seedIssue({ owner, repo, title, labels: ["deployment"] });
    for (let i = 0; i < 120; i++) github.seedIssue({ owner, repo, title: `other ${i}`, labels: ["deployment"] });
    const issue = await client.openFailureIssue({ owner, repo, title, body: "b", labels: ["deployment"] });
    expect(issue).toMatchObject({ number: 1, action: "commented" });
    expect(github.requests.filter((r) => r.method === "GET")).toHaveLength(2);
  });

  it("truncates a body longer than GitHub accepts", async () => {
    await client.openFailureIssue({ owner, repo, title, body: "x".repeat(70_000) });
    const body = github.issues[0]?.body ?? "";
    expect(body.length).toBeLessThan(65_536);
    expect(body.startsWith("x".repeat(maxIssueBodyChars))).toBe(true);
    expect(body).toContain("(truncated");
  });

  it("says issues are disabled on 410", async () => {
    github.failNext(410, "Issues are disabled for this repo");
    const error = await rejection(client.openFailureIssue({ owner, repo, title, body: "b" }));
    expect(error.message).toBe("issues are disabled in acme/awareness: enable them or drop the failure issue");
  });

  it("names the missing permission on 403", async () => {
    github.failNext(403, "Resource not accessible by integration");
    const error = await rejection(client.openFailureIssue({ owner, repo, title, body: "b" }));
    expect(error.message).toBe(
      "GITHUB_TOKEN may not list the open issues of acme/awareness (403 Resource not accessible by integration): give it actions:read and issues:write on acme/awareness",
    );
  });
});
