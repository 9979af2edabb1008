// Writes (--write) or checks (--check, the default) the committed workflow files against
// their rendering. Exit 0 when in sync (or written), 1 when a file differs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { REGENERATE_COMMAND, renderAllWorkflows } from "./workflows/render.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function main(argv: string[]): number {
  const write = argv.includes("--write");
  let differing = 0;
  for (const [path, content] of renderAllWorkflows()) {
    const target = join(repoRoot, path);
    const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;
    if (current === content) continue;
    if (write) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      console.log(`wrote ${path}`);
    } else {
      console.error(`${path} differs from its rendering`);
      differing += 1;
    }
  }
  if (differing > 0) {
    console.error(`Run: ${REGENERATE_COMMAND}`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
