// ci-cd: every push to main and every pull request installs and tests; pull requests also get
// a `preview` of the production stack as a check (after a production reviewer's approval); on
// main the images are built, pushed to GHCR tagged with the commit sha, and the same digests
// deployed to staging, then, once staging passed and a reviewer approved, to production.
import { pinnedActions, uses } from "../pins.js";
import { PREVIEW_ENVIRONMENT } from "../config.js";
import type { Job, Step, WorkflowFile } from "./model.js";
import {
  DRIVER,
  ENGINE_ENV,
  RUNNER,
  backendSecretEnv,
  checkout,
  driverSetup,
  npmCi,
  script,
  setupNode,
} from "./steps.js";

/** An image the pipeline builds from this repository. */
export interface BuiltImage {
  /** The compose service it runs as (release images key). */
  service: string;
  /** Docker build context, relative to the repository root. */
  context: string;
}

/**
 * The repository variable naming the registry CI pushes to (default GHCR); with it,
 * `<it>_USERNAME` (variable) and `<it>_PASSWORD` (secret) log in.
 */
export const IMAGE_REGISTRY_VAR = "IMAGE_REGISTRY";

/** Images CI builds: the app's own services (redis and the database run upstream images). */
export const CI_BUILT_IMAGES: readonly BuiltImage[] = [{ service: "backend", context: "app/backend" }];

const onMain = "github.event_name == 'push' && github.ref == 'refs/heads/main'";
// Fork pull requests get no secrets, so only same-repository pull requests can preview.
const sameRepoPullRequest = "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository";

/** Job names the deploy workflow's CI gate looks for in a CI/CD run of the commit (verify-ci). */
const TEST_JOB_NAME = "Install and test";
const BUILD_JOB_NAME = "Build and push images";
export const CI_GATE_JOBS: readonly string[] = [TEST_JOB_NAME, BUILD_JOB_NAME];

/** Where CI/CD deploys, in order: each environment after the one before it passed. */
export const PROMOTION_ORDER = ["staging", "production"] as const;

function stepId(service: string): string {
  return `build-${service}`;
}

function testJob(): Job {
  return {
    name: TEST_JOB_NAME,
    "runs-on": RUNNER,
    "timeout-minutes": 30,
    permissions: { contents: "read" },
    steps: [
      checkout(),
      setupNode(),
      npmCi(),
      { name: "Type-check", run: "npm run typecheck" },
      // The unit tests include the workflow linters (actionlint, zizmor): they provision themselves.
      { name: "Unit tests", run: "npm run test:unit" },
    ],
  };
}

function previewJob(): Job {
  return {
    // The preview environment has production's reviewers: a branch's code reads the
    // production stack's secrets only once one of them approved the run.
    name: "Preview (production)",
    needs: ["test"],
    if: sameRepoPullRequest,
    "runs-on": RUNNER,
    "timeout-minutes": 20,
    permissions: { contents: "read" },
    environment: { name: PREVIEW_ENVIRONMENT },
    steps: [
      ...driverSetup(),
      {
        name: "Preview the production stack with this change",
        env: { ...ENGINE_ENV, ...backendSecretEnv(), PR_NUMBER: "${{ github.event.pull_request.number }}" },
        run: script(`${DRIVER} preview --stack production --release "pr-\${PR_NUMBER}"`),
      },
    ],
  };
}

function buildJob(images: readonly BuiltImage[]): Job {
  const buildSteps: Step[] = images.map((image) => ({
    name: `Build and push ${image.service}`,
    id: stepId(image.service),
    uses: uses(pinnedActions.dockerBuildPush),
    with: {
      context: image.context,
      push: true,
      tags: `\${{ steps.names.outputs.prefix }}/${image.service}:\${{ github.sha }}`,
    },
  }));
  const digestEnv = Object.fromEntries(
    images.map((image) => [`DIGEST_${image.service.toUpperCase().replace(/-/g, "_")}`, `\${{ steps.${stepId(image.service)}.outputs.digest }}`]),
  );
  const pairs = images.map(
    (image) => `${image.service}=\${PREFIX}/${image.service}@\${DIGEST_${image.service.toUpperCase().replace(/-/g, "_")}}`,
  );
  return {
    name: BUILD_JOB_NAME,
    needs: ["test"],
    if: onMain,
    "runs-on": RUNNER,
    "timeout-minutes": 30,
    permissions: { contents: "read", packages: "write" },
    outputs: { images: "${{ steps.digests.outputs.images }}" },
    steps: [
      checkout(),
      {
        name: "Name the images",
        id: "names",
        env: { REGISTRY: `\${{ vars.${IMAGE_REGISTRY_VAR} || 'ghcr.io' }}` },
        // Registry paths must be lowercase; the owner may not be.
        run: script('echo "registry=${REGISTRY}" >> "${GITHUB_OUTPUT}"', 'echo "prefix=${REGISTRY}/${GITHUB_REPOSITORY,,}" >> "${GITHUB_OUTPUT}"'),
      },
      { name: "Set up Docker Buildx", uses: uses(pinnedActions.dockerSetupBuildx) },
      {
        name: "Log in to the registry",
        uses: uses(pinnedActions.dockerLogin),
        // GHCR takes the run's token; another registry its own user and password.
        with: {
          registry: "${{ steps.names.outputs.registry }}",
          username: `\${{ vars.${IMAGE_REGISTRY_VAR}_USERNAME || github.actor }}`,
          password: `\${{ secrets.${IMAGE_REGISTRY_VAR}_PASSWORD || secrets.GITHUB_TOKEN }}`,
        },
      },
      ...buildSteps,
      {
        name: "Hand the digests on",
        id: "digests",
        env: { PREFIX: "${{ steps.names.outputs.prefix }}", ...digestEnv },
        run: script(`echo "images=${pairs.join(" ")}" >> "\${GITHUB_OUTPUT}"`),
      },
    ],
  };
}

/** Deploys the images built by this run to `environment`, after the environment before it in the promotion order. */
function deployJob(environment: string, after?: string): Job {
  return {
    // The called job shows as "<this name> / Deploy to <environment>": the status workflow reads that name.
    name: `Deploy to ${environment}`,
    needs: after ? ["build", deployJobId(after)] : ["build"],
    // The called workflow can only narrow these: they are what its jobs need.
    permissions: { contents: "read", actions: "read", issues: "write" },
    uses: "./.github/workflows/deploy.yml",
    with: {
      environment,
      release: "${{ github.sha }}",
      // The same digests everywhere: what passed staging is what production gets.
      images: "${{ needs.build.outputs.images }}",
      // The environment's own reviewers (production's) gate its deploy job.
      "require-approval": false,
    },
  };
}

const deployJobId = (environment: string) => `deploy-${environment}`;

export function ciCdWorkflow(images: readonly BuiltImage[] = CI_BUILT_IMAGES): WorkflowFile {
  return {
    fileName: "ci-cd.yml",
    workflow: {
      name: "CI/CD",
      on: {
        push: { branches: ["main"] },
        pull_request: { branches: ["main"] },
      },
      permissions: {},
      // Pull requests only: a newer push to a pull request replaces its older run. A push to
      // main gets a group of its own (its run id): never cancelled, never queued behind a run
      // whose deploy waits for approval (the deploy jobs queue per environment instead).
      concurrency: {
        group: "ci-cd-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}",
        "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
      },
      jobs: {
        test: testJob(),
        preview: previewJob(),
        build: buildJob(images),
        ...Object.fromEntries(PROMOTION_ORDER.map((environment, i) => [deployJobId(environment), deployJob(environment, PROMOTION_ORDER[i - 1])])),
      },
    },
  };
}
