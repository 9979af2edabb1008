// How a `run:` step becomes a command line, as GitHub's runner does on Linux: the script is
// written to a file under RUNNER_TEMP and `{0}` in the shell's template is that file's path.
// https://docs.github.com/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const templates: Record<string, { template: string; extension: string }> = {
  // Unspecified: `bash -e {0}` (GitHub falls back to sh when bash is missing; runners have bash).
  "": { template: "bash -e {0}", extension: ".sh" },
  bash: { template: "bash --noprofile --norc -eo pipefail {0}", extension: ".sh" },
  sh: { template: "sh -e {0}", extension: ".sh" },
  python: { template: "python {0}", extension: ".py" },
  pwsh: { template: "pwsh -command \". '{0}'\"", extension: ".ps1" },
};

/** The argv for a step's script, writing the script file. A custom shell must contain `{0}`. */
export function shellCommand(shell: string, script: string, tempDir: string, stepNumber: number): string[] {
  const known = templates[shell];
  if (!known && !shell.includes("{0}")) {
    throw new Error(`shell '${shell}' is neither a known shell (bash, sh, python, pwsh) nor a template with {0}`);
  }
  const { template, extension } = known ?? { template: shell, extension: "" };
  const file = join(tempDir, `step-${stepNumber}-${Math.random().toString(36).slice(2)}${extension}`);
  writeFileSync(file, script);
  // The runner splits the template on whitespace: the first word is the program.
  return template.split(/\s+/).filter(Boolean).map((part) => part.replaceAll("{0}", file));
}
