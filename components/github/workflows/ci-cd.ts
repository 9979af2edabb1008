// ci-cd: every push to main and every pull request installs and tests; pull requests also get
// a `preview` of the production stack as a check; on main the images are built, pushed to GHCR
// tagged with the commit sha, and their digests handed to the deploy workflow.
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

/** Images CI builds: the app's own services (redis and the database run upstream images). */
export const CI_BUILT_IMAGES: readonly BuiltImage[] = [{ service: "backend", context: "app/backend" }];

const onMain = "github.event_name == 'push' && github.ref == 'refs/heads/main'";
// Fork pull requests get no secrets, so only same-repository pull requests can preview.
const sameRepoPullRequest = "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository";

function stepId(service: string): string {
  return `build-${service}`;
}

function testJob(): Job {
  return {
    name: "Install and test",
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
    name: "Build and push images",
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
        // GHCR names must be lowercase; the owner may not be.
        run: script('echo "prefix=ghcr.io/${GITHUB_REPOSITORY,,}" >> "${GITHUB_OUTPUT}"'),
      },
      { name: "Set up Docker Buildx", uses: uses(pinnedActions.dockerSetupBuildx) },
      {
        name: "Log in to GHCR",
        uses: uses(pinnedActions.dockerLogin),
        with: { registry: "ghcr.io", username: "${{ github.actor }}", password: "${{ secrets.GITHUB_TOKEN }}" },
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

function deployJob(): Job {
  return {
    name: "Deploy to production",
    needs: ["build"],
    // The called workflow can only narrow these: they are what its jobs need.
    permissions: { contents: "read", actions: "read", issues: "write" },
    uses: "./.github/workflows/deploy.yml",
    with: {
      environment: "production",
      release: "${{ github.sha }}",
      images: "${{ needs.build.outputs.images }}",
      "require-approval": false,
    },
  };
}

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
      // A newer push to a pull request replaces its older run; runs on main are never cancelled
      // (they may be deploying).
      concurrency: {
        group: "ci-cd-${{ github.ref }}",
        "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
      },
      jobs: {
        test: testJob(),
        preview: previewJob(),
        build: buildJob(images),
        deploy: deployJob(),
      },
    },
  };
}
