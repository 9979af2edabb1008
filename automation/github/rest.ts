// The GitHub REST calls the driver makes itself: the commit's CI status (a precheck) and a
// failure issue (after a failed deploy). @octokit/rest does the HTTP; this module picks
// the endpoints and turns HTTP failures into errors that say what to fix.
import { Octokit } from "@octokit/rest";

const defaultGitHubApiUrl = "https://api.github.com";
/** The CI/CD workflow whose success a deploy requires (the seed's `.github/workflows/ci-cd.yml`). */
const defaultCiWorkflow = "ci-cd.yml";
/** GitHub refuses issue and comment bodies over 65 536 characters; leave room for the note. */
export const maxIssueBodyChars = 65_000;

/** A GitHub call failed; the message names the cause and the next step, never the token. */
export class GitHubApiError extends Error {
  override name = "GitHubApiError";
  constructor(
    message: string,
    /** The HTTP status, when GitHub answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface GitHubRestOptions {
  /** Default: $GITHUB_TOKEN. Without one, every call fails with a GitHubApiError saying so. */
  token?: string;
  /** Default: $GITHUB_API_URL, else https://api.github.com (GitHub Enterprise: https://HOST/api/v3). */
  baseUrl?: string;
  /** Time each request may take. Default: 15 000 ms. */
  timeoutMs?: number;
  /** Where the defaults are read from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface RepoRef {
  owner: string;
  repo: string;
}

export type CiState = "success" | "failure" | "pending" | "missing";

export interface CiStatus {
  /** success: the newest run succeeded; failure: it ended otherwise; pending: still running; missing: no run for the sha. */
  state: CiState;
  runUrl?: string;
  /** GitHub's conclusion of the newest run (success, failure, cancelled, timed_out, …). */
  conclusion?: string;
  /** GitHub's status of the newest run (queued, in_progress, completed, …). */
  runStatus?: string;
}

export interface FailureIssue {
  number: number;
  /** The issue's page. */
  url: string;
  /** "created": a new issue; "commented": an open issue with the same title got a comment. */
  action: "created" | "commented";
  /** The comment's page, when commented. */
  commentUrl?: string;
}

/** The shape of @octokit/request-error's RequestError, matched by duck type (not a direct dependency). */
interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined> };
  cause?: unknown;
}

function isHttpError(error: unknown): error is HttpErrorLike {
  return error instanceof Error && typeof (error as Partial<HttpErrorLike>).status === "number";
}

export class GitHubRest {
  readonly baseUrl: string;
  private readonly octokit: Octokit;
  private readonly timeoutMs: number;
  private readonly hasToken: boolean;

  constructor(options: GitHubRestOptions = {}) {
    const env = options.env ?? process.env;
    const token = options.token ?? env.GITHUB_TOKEN;
    this.baseUrl = (options.baseUrl ?? (env.GITHUB_API_URL || defaultGitHubApiUrl)).replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 15_000;
    // A missing token is reported by the first call (as a failed precheck, say), not here:
    // building a client must not crash a command that may never use it.
    this.hasToken = !!token;
    this.octokit = new Octokit({
      ...(token ? { auth: token } : {}),
      baseUrl: this.baseUrl,
      userAgent: "awareness-deploy",
      // Keep deprecation warnings; failed requests are not logged here because every
      // failure is thrown as a GitHubApiError that the caller reports once.
      log: { debug: () => {}, info: () => {}, warn: console.warn, error: () => {} },
    });
  }

  /**
   * The CI/CD state of a commit: the newest run of `workflow` for `sha` decides.
   * GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs?head_sha={sha}
   */
  async ciStatusForCommit(args: RepoRef & { sha: string; workflow?: string }): Promise<CiStatus> {
    const workflow = args.workflow ?? defaultCiWorkflow;
    const { data } = await this.call(`read the ${workflow} runs of ${args.owner}/${args.repo}`, { ...args, workflow }, () =>
      this.octokit.rest.actions.listWorkflowRuns({
        owner: args.owner,
        repo: args.repo,
        workflow_id: workflow,
        head_sha: args.sha,
        per_page: 20,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      }),
    );
    const newest = [...data.workflow_runs].sort(
      (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id,
    )[0];
    if (!newest) return { state: "missing" };
    const status: CiStatus = { state: ciStateOf(newest.status, newest.conclusion), runUrl: newest.html_url };
    if (newest.conclusion) status.conclusion = newest.conclusion;
    if (newest.status) status.runStatus = newest.status;
    return status;
  }

  /**
   * Opens an issue for a failure, or comments on the open issue with the same title (so a
   * failing release repeated does not open a pile of issues).
   * GET /repos/{owner}/{repo}/issues?state=open&labels=…, then POST …/issues or …/issues/{n}/comments
   */
  async openFailureIssue(args: RepoRef & { title: string; body: string; labels?: readonly string[] }): Promise<FailureIssue> {
    const labels = [...(args.labels ?? [])];
    const body = truncateBody(args.body);
    const where = `${args.owner}/${args.repo}`;
    const open = await this.call(`list the open issues of ${where}`, args, () =>
      this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
        owner: args.owner,
        repo: args.repo,
        state: "open",
        ...(labels.length > 0 ? { labels: labels.join(",") } : {}),
        per_page: 100,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      }),
    );
    // The issues list also holds pull requests; only a real issue may take the comment.
    const existing = open.find((issue) => !issue.pull_request && issue.title === args.title);
    if (existing) {
      const { data: comment } = await this.call(`comment on issue #${existing.number} of ${where}`, args, () =>
        this.octokit.rest.issues.createComment({
          owner: args.owner,
          repo: args.repo,
          issue_number: existing.number,
          body,
          request: { signal: AbortSignal.timeout(this.timeoutMs) },
        }),
      );
      return { number: existing.number, url: existing.html_url, action: "commented", commentUrl: comment.html_url };
    }
    const { data: created } = await this.call(`open an issue in ${where}`, args, () =>
      this.octokit.rest.issues.create({
        owner: args.owner,
        repo: args.repo,
        title: args.title,
        body,
        labels,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      }),
    );
    return { number: created.number, url: created.html_url, action: "created" };
  }

  /** Runs one API call and maps its failure to a GitHubApiError. */
  private async call<T>(action: string, context: RepoRef & { workflow?: string }, run: () => Promise<T>): Promise<T> {
    if (!this.hasToken) {
      throw new GitHubApiError(
        `GITHUB_TOKEN is not set, so the driver cannot ${action}: give it a token with actions:read and issues:write`,
      );
    }
    try {
      return await run();
    } catch (error) {
      throw this.domainError(error, action, context);
    }
  }

  private domainError(error: unknown, action: string, context: RepoRef & { workflow?: string }): GitHubApiError {
    const where = `${context.owner}/${context.repo}`;
    if (!isHttpError(error) || !error.response) {
      // No answer: the request never reached GitHub (DNS, refused, TLS, our timeout).
      const cause = describeCause(error);
      return new GitHubApiError(
        `GitHub API at ${this.baseUrl} could not be reached to ${action}: ${cause}` +
          " (check GITHUB_API_URL and the network)",
      );
    }
    const { status } = error;
    const headers = error.response.headers ?? {};
    switch (status) {
      case 401:
        return new GitHubApiError(
          `GITHUB_TOKEN rejected by ${this.baseUrl} (401 ${error.message}): renew the token or check GITHUB_API_URL`,
          status,
        );
      case 403:
      case 429:
        if (String(headers["x-ratelimit-remaining"]) === "0" || status === 429) {
          const reset = Number(headers["x-ratelimit-reset"]);
          const when = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : "";
          return new GitHubApiError(`GitHub API rate limit reached${when}; could not ${action}`, status);
        }
        return new GitHubApiError(
          `GITHUB_TOKEN may not ${action} (${status} ${error.message}): give it actions:read and issues:write on ${where}`,
          status,
        );
      case 404:
        return new GitHubApiError(
          context.workflow
            ? `workflow ${context.workflow} not found in ${where} (or the token cannot see the repository)`
            : `repository ${where} not found (or the token cannot see it)`,
          status,
        );
      case 410:
        return new GitHubApiError(`issues are disabled in ${where}: enable them or drop the failure issue`, status);
      default:
        return new GitHubApiError(`GitHub API answered ${status} when trying to ${action}: ${error.message}`, status);
    }
  }
}

/** GitHub's run status and conclusion, folded into what a deploy gate needs. */
export function ciStateOf(status: string | null | undefined, conclusion: string | null | undefined): CiState {
  if (status !== "completed") return "pending";
  return conclusion === "success" ? "success" : "failure";
}

function truncateBody(body: string): string {
  if (body.length <= maxIssueBodyChars) return body;
  return `${body.slice(0, maxIssueBodyChars)}\n\n… (truncated: the full report is in the run's summary and JSON report)`;
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause instanceof Error ? error.cause : undefined;
  if (inner?.name === "TimeoutError" || error.name === "TimeoutError") return "no answer in time";
  const code = (inner?.cause as { code?: string } | undefined)?.code ?? (inner as { code?: string } | undefined)?.code;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
