// Unit-test stack configs: plain values in, the raw `awareness:*` strings Pulumi hands the program out.
import { ConfigError, parseStackConfig } from "../../components/config/parse.js";

export const testSshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

/** Each key under `awareness:`, objects as JSON, as a stack's config file gives them. */
export function rawStackConfig(cfg: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`awareness:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** The config error's message, or "" when the config parses. */
export function configProblems(raw: Record<string, string>): string {
  try {
    parseStackConfig(raw);
    return "";
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}
