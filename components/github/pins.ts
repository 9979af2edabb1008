// Every action the workflows use, pinned to a full commit SHA (tags can be moved; commits
// cannot). Each SHA was checked against public workflows that pin the same release; the
// version is rendered as a comment beside it. Bump both together, then run
// `tsx components/github/render-workflows.ts --write`.

export interface PinnedAction {
  /** owner/repo (optionally /path) */
  readonly action: string;
  /** Full 40-hex commit SHA of the release. */
  readonly sha: string;
  /** The release that commit is. */
  readonly version: string;
}

export const pinnedActions = {
  checkout: { action: "actions/checkout", sha: "08c6903cd8c0fde910a37f88322edcfb5dd907a8", version: "v5.0.0" },
  setupNode: { action: "actions/setup-node", sha: "a0853c24544627f65ddf259abe73b1d18a591444", version: "v5.0.0" },
  pulumi: { action: "pulumi/actions", sha: "df5a93ad715135263c732ba288301bd044c383c0", version: "v6.3.0" },
  dockerLogin: { action: "docker/login-action", sha: "74a5d142397b4f367a81961eba4e8cd7edddf772", version: "v3.4.0" },
  dockerSetupBuildx: { action: "docker/setup-buildx-action", sha: "e468171a9de216ec08956ac3ada2f0791b6bd435", version: "v3.11.1" },
  dockerBuildPush: { action: "docker/build-push-action", sha: "263435318d21b8e681c14492fe198d362a7d2c83", version: "v6.18.0" },
} as const satisfies Record<string, PinnedAction>;

/** The `uses:` value of a pinned action. */
export function uses(pin: PinnedAction): string {
  return `${pin.action}@${pin.sha}`;
}

/** Version comment for a `uses:` value, or undefined when it is not one of ours. */
export function versionOf(usesValue: string): string | undefined {
  return Object.values(pinnedActions).find((pin) => uses(pin) === usesValue)?.version;
}
