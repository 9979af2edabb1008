// A stack name as the driver accepts it, checked before the engine is opened: Pulumi's
// characters (letters, digits, -, _, .), at most 100, starting with a letter or digit so it can
// never read as an option or a relative path ("-x", "..").
import { UsageError } from "./errors.js";

const stackNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A value for a one-line message: JSON-quoted, anything but printable ASCII escaped, cut at 80. */
export function printable(value: string): string {
  const text = JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The name, or a UsageError saying what a stack name may be. */
export function checkStackName(name: string): string {
  if (!stackNamePattern.test(name)) {
    throw new UsageError(
      `Bad stack name ${printable(name)}: expected letters, digits, -, _ and . (at most 100, starting with a letter or digit). Nothing was run.`,
    );
  }
  return name;
}
