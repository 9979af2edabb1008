// Image commands: pull a reference and print its immutable digest, check presence, and the
// keep-previous-images policy (nothing of a kept release is ever removed).
import { raw, sh } from "./shell.js";

export interface RegistryLogin {
  server: string;
  username: string;
}

/** Splits "repo:tag@sha256:…" into the repository and the digest (if pinned). */
export function splitImageRef(ref: string): { repo: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  const hasTag = colon > slash;
  return {
    repo: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** `docker login` with the password read from stdin (never on the command line). */
export function registryLogin(login: RegistryLogin, context = ""): string {
  return sh`docker login --username ${login.username} --password-stdin ${login.server} >/dev/null 2>&1 || { echo ${`${context}docker login to ${login.server} failed`} >&2; exit 1; }`;
}

/**
 * Pulls `ref` onto the host and prints exactly one line, `repo@sha256:…` (the registry's
 * manifest digest from RepoDigests). With `login`, the registry password is read from stdin
 * (never on the command line). Failures name the service and quote docker's last lines.
 */
export function pullAndResolveDigest(service: string, ref: string, login?: RegistryLogin): string {
  const { repo, digest } = splitImageRef(ref);
  const loginStep = login ? `${registryLogin(login, `service ${service}: `)}\n` : "";
  if (digest) {
    // Already immutable: make sure it is on the host, print it in canonical form.
    return (
      loginStep +
      sh`docker image inspect ${`${repo}@${digest}`} >/dev/null 2>&1 || out=$(docker pull ${`${repo}@${digest}`} 2>&1) || { printf '%s\\n' ${`service ${service}: pull of ${ref} failed:`} "$(printf '%s\\n' "$out" | tail -n 3 | cut -c1-300)" >&2; exit 1; }` +
      "\n" +
      sh`echo ${`${repo}@${digest}`}`
    );
  }
  return (
    loginStep +
    sh`out=$(docker pull ${ref} 2>&1) || { printf '%s\\n' ${`service ${service}: pull of ${ref} failed:`} "$(printf '%s\\n' "$out" | tail -n 3 | cut -c1-300)" >&2; exit 1; }` +
    "\n" +
    sh`docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' ${ref} | awk -v want=${`${repo}@`} ${raw(
      `'index($0, want) == 1 { print; found = 1; exit } NF && first == "" { first = $0 } END { if (!found && first != "") { sub(/^[^@]*@/, "", first); print want first } else if (!found) exit 1 }'`,
    )} || { echo ${`service ${service}: ${ref} has no registry digest on the host`} >&2; exit 1; }`
  );
}

/** Prints "present REF" or "missing REF" for each reference (no pulls). */
export function imagesPresent(refs: readonly string[]): string {
  return sh`for ref in ${refs}; do if docker image inspect "$ref" >/dev/null 2>&1; then echo "present $ref"; else echo "missing $ref"; fi; done`;
}

export function parseImagesPresent(stdout: string): { present: string[]; missing: string[] } {
  const present: string[] = [];
  const missing: string[] = [];
  for (const line of stdout.split("\n")) {
    const [state, ref] = line.trim().split(/\s+/);
    if (state === "present" && ref) present.push(ref);
    if (state === "missing" && ref) missing.push(ref);
  }
  return { present, missing };
}

/**
 * Keep-previous-images policy: removes images of the given repositories EXCEPT the kept
 * references (current, previous and last verified release), so a rollback never needs a
 * registry. The deploy itself never prunes; this is for an explicit cleanup.
 */
export function removeImagesExcept(repos: readonly string[], keep: readonly string[]): string {
  return sh`keep=${` ${keep.join(" ")} `}; for repo in ${repos}; do docker images --digests --format '{{.Repository}}@{{.Digest}}' "$repo" | while read -r ref; do case "$keep" in *" $ref "*) ;; *) case "$ref" in *@sha256:*) docker image rm "$ref" >/dev/null 2>&1 && echo "removed $ref" ;; esac ;; esac; done; done`;
}
