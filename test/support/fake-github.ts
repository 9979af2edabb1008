// A local stand-in for the GitHub REST API, speaking exactly the endpoints the driver uses:
// workflow runs by head_sha, open issues by label (paginated with Link headers), create
// issue, create comment. Tests seed runs and read back what the driver created.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeWorkflowRun {
  id: number;
  head_sha: string;
  status: string;
  conclusion: string | null;
  created_at: string;
  html_url: string;
  run_number: number;
}

export interface FakeIssue {
  owner: string;
  repo: string;
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: "open" | "closed";
  /** Pull requests share the issues list (and its numbers) on GitHub. */
  isPullRequest: boolean;
  html_url: string;
}

export interface FakeComment {
  owner: string;
  repo: string;
  issueNumber: number;
  id: number;
  body: string;
  html_url: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  authorization: string | undefined;
}

export interface FakeGitHub {
  /** The API base URL to give the client, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly token: string;
  readonly issues: FakeIssue[];
  readonly comments: FakeComment[];
  readonly requests: RecordedRequest[];
  /** Declares a workflow file in a repository (without it, its runs endpoint answers 404). */
  addWorkflow(owner: string, repo: string, workflow: string): void;
  /** Adds a run (and declares the workflow); returns it. */
  seedRun(
    owner: string,
    repo: string,
    workflow: string,
    run: Partial<FakeWorkflowRun> & { head_sha: string },
  ): FakeWorkflowRun;
  /** Adds an issue (or a pull request) directly, as if someone opened it. */
  seedIssue(issue: Partial<FakeIssue> & { owner: string; repo: string; title: string }): FakeIssue;
  /** The next request answers with this status and body (once), e.g. a rate limit. */
  failNext(status: number, message: string, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export async function startFakeGitHub(options: { token?: string } = {}): Promise<FakeGitHub> {
  const token = options.token ?? "ghp_fake_test_token_0123456789";
  const runs = new Map<string, FakeWorkflowRun[]>();
  const issues: FakeIssue[] = [];
  const comments: FakeComment[] = [];
  const requests: RecordedRequest[] = [];
  let nextId = 1000;
  let pendingFailure: { status: number; message: string; headers: Record<string, string> } | undefined;
  let url = "";

  const workflowKey = (owner: string, repo: string, workflow: string) => `${owner}/${repo}/${workflow}`;
  const htmlBase = "https://github.example";

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => send(res, 500, { message: String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
    if (pendingFailure) {
      const failure = pendingFailure;
      pendingFailure = undefined;
      return send(res, failure.status, { message: failure.message }, failure.headers);
    }
    // Octokit sends "token <t>"; GitHub also takes "Bearer <t>".
    const auth = req.headers.authorization ?? "";
    const given = auth.replace(/^(token|bearer)\s+/i, "");
    if (given !== token || given === auth) {
      return send(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    }

    const parsed = new URL(req.url ?? "/", "http://fake");
    const parts = parsed.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const [root, owner, repo, ...rest] = parts;
    if (root !== "repos" || !owner || !repo) return notFound(res);

    // GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs
    if (req.method === "GET" && rest.length === 4 && rest[0] === "actions" && rest[1] === "workflows" && rest[3] === "runs") {
      const list = runs.get(workflowKey(owner, repo, rest[2]!));
      if (!list) return notFound(res);
      const sha = parsed.searchParams.get("head_sha");
      const matching = list
        .filter((r) => !sha || r.head_sha === sha)
        .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      const perPage = Number(parsed.searchParams.get("per_page") ?? 30);
      return send(res, 200, { total_count: matching.length, workflow_runs: matching.slice(0, perPage) });
    }

    // GET /repos/{owner}/{repo}/issues?state=open&labels=a,b&per_page=&page=
    if (req.method === "GET" && rest.length === 1 && rest[0] === "issues") {
      const state = parsed.searchParams.get("state") ?? "open";
      const wanted = (parsed.searchParams.get("labels") ?? "").split(",").filter(Boolean);
      const perPage = Number(parsed.searchParams.get("per_page") ?? 30);
      const page = Number(parsed.searchParams.get("page") ?? 1);
      const matching = issues
        .filter((i) => i.owner === owner && i.repo === repo)
        .filter((i) => state === "all" || i.state === state)
        .filter((i) => wanted.every((label) => i.labels.includes(label)))
        .sort((a, b) => b.number - a.number);
      const pageItems = matching.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < matching.length) {
        const next = new URL(parsed.pathname + parsed.search, url);
        next.searchParams.set("page", String(page + 1));
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return send(res, 200, pageItems.map(issueJson), headers);
    }

    // POST /repos/{owner}/{repo}/issues
    if (req.method === "POST" && rest.length === 1 && rest[0] === "issues") {
      const body = (await readJson(req)) as { title?: string; body?: string; labels?: string[] };
      if (!body.title) return send(res, 422, { message: "Validation Failed", errors: [{ field: "title", code: "missing_field" }] });
      const issue = addIssue({ owner, repo, title: body.title, body: body.body ?? "", labels: body.labels ?? [] });
      return send(res, 201, issueJson(issue));
    }

    // POST /repos/{owner}/{repo}/issues/{number}/comments
    if (req.method === "POST" && rest.length === 3 && rest[0] === "issues" && rest[2] === "comments") {
      const number = Number(rest[1]);
      const issue = issues.find((i) => i.owner === owner && i.repo === repo && i.number === number);
      if (!issue) return notFound(res);
      const body = (await readJson(req)) as { body?: string };
      const id = nextId++;
      const comment: FakeComment = {
        owner,
        repo,
        issueNumber: number,
        id,
        body: body.body ?? "",
        html_url: `${issue.html_url}#issuecomment-${id}`,
      };
      comments.push(comment);
      return send(res, 201, { id, body: comment.body, html_url: comment.html_url });
    }

    return notFound(res);
  }

  function addWorkflow(owner: string, repo: string, workflow: string): void {
    if (!runs.has(workflowKey(owner, repo, workflow))) runs.set(workflowKey(owner, repo, workflow), []);
  }

  function addIssue(issue: Partial<FakeIssue> & { owner: string; repo: string; title: string }): FakeIssue {
    const number = issues.filter((i) => i.owner === issue.owner && i.repo === issue.repo).length + 1;
    const kind = issue.isPullRequest ? "pull" : "issues";
    const full: FakeIssue = {
      body: "",
      labels: [],
      state: "open",
      isPullRequest: false,
      ...issue,
      number,
      html_url: `${htmlBase}/${issue.owner}/${issue.repo}/${kind}/${number}`,
    };
    issues.push(full);
    return full;
  }

  function issueJson(issue: FakeIssue) {
    return {
      id: 1_000_000 + issue.number,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      html_url: issue.html_url,
      labels: issue.labels.map((name) => ({ name })),
      ...(issue.isPullRequest ? { pull_request: { url: issue.html_url } } : {}),
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    issues,
    comments,
    requests,
    addWorkflow,
    seedRun(owner, repo, workflow, run) {
      addWorkflow(owner, repo, workflow);
      const id = run.id ?? nextId++;
      const full: FakeWorkflowRun = {
        id,
        status: "completed",
        conclusion: "success",
        created_at: new Date().toISOString(),
        html_url: `${htmlBase}/${owner}/${repo}/actions/runs/${id}`,
        run_number: id,
        ...run,
      };
      runs.get(workflowKey(owner, repo, workflow))!.push(full);
      return full;
    },
    seedIssue: addIssue,
    failNext(status, message, headers = {}) {
      pendingFailure = { status, message, headers };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse): void {
  send(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}
