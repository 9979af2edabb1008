// A stack still as the example left it: its host is a placeholder (a name reserved for
// documentation, RFC 2606), so there is no server to reach yet. Everything such a first run
// lacks is said at once, as one config error (exit 2): the host, the pinned host key, and
// whatever the config schema finds (the SSH key, a registry password). Without a placeholder
// the usual checks run in their order.
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { ConfigError, parseStackConfig, rawFromAutomationConfig, type ConfigProblem } from "../../components/config/parse.js";
import { localStackNames } from "../toolchain/backend.js";

/** Host names reserved for examples: example.com/.net/.org and below, and the .example and .invalid top-level domains. */
export function isPlaceholderHost(host: string): boolean {
  return /(^|\.)example\.(com|net|org)$|\.(example|invalid)$/i.test(host.replace(/\.$/, ""));
}

interface RawHost {
  host?: unknown;
  privateKey?: unknown;
  hostKey?: unknown;
}

function hostsOf(config: ConfigMap): RawHost[] {
  try {
    const hosts: unknown = JSON.parse(config["awareness:hosts"]?.value ?? "[]");
    return Array.isArray(hosts) ? hosts.filter((h): h is RawHost => typeof h === "object" && h !== null) : [];
  } catch {
    return [];
  }
}

/** Throws one ConfigError naming every first-run gap when a host is still a placeholder (never for the local sandbox). */
export function refuseUnconfiguredStack(stackName: string, config: ConfigMap): void {
  if (localStackNames.includes(stackName)) return;
  const hosts = hostsOf(config);
  if (!hosts.some((h) => typeof h.host === "string" && isPlaceholderHost(h.host))) return;
  const problems: ConfigProblem[] = [];
  hosts.forEach((h, i) => {
    const key = `awareness:hosts[${i}]`;
    if (typeof h.host === "string" && isPlaceholderHost(h.host)) {
      problems.push({ key: `${key}.host`, message: `${h.host} is the example's placeholder: set the server this stack deploys to` });
    }
    if (!h.hostKey) {
      problems.push({ key: `${key}.hostKey`, message: `not pinned: once the host is set, run \`npm run driver -- trust-host --stack ${stackName}\`` });
    }
  });
  // The schema checks the SSH key only once the rest parses: say it here, once, when it cannot have.
  const fromSchema = schemaProblems(config);
  const keyless = hosts.some((h) => !h.privateKey) && !config["awareness:sshPrivateKey"];
  if (keyless && !fromSchema.some((p) => p.key.endsWith(".privateKey"))) {
    problems.push({ key: "awareness:sshPrivateKey", message: "no SSH private key: pulumi config set --secret awareness:sshPrivateKey < deploy_key" });
  }
  throw new ConfigError([...problems, ...fromSchema]);
}

/** What the config schema finds besides (the SSH key, the registry password, …). */
function schemaProblems(config: ConfigMap): ConfigProblem[] {
  try {
    parseStackConfig(rawFromAutomationConfig(config));
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
