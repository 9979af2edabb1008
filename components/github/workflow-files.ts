// The rendered workflows as files in the repository (@pulumi/github RepositoryFile): the
// same bytes as the committed .github/workflows/*.yml (a unit test keeps the two equal).
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { renderAllWorkflows } from "./workflows/render.js";

export interface WorkflowFilesArgs {
  /** Repository name (without owner; the provider carries the owner). */
  repository: pulumi.Input<string>;
  /** Branch the files are committed to. Default: main. */
  branch?: pulumi.Input<string>;
}

export class WorkflowFiles extends pulumi.ComponentResource {
  /** One RepositoryFile per workflow, by path (.github/workflows/<name>.yml). */
  public readonly files: Record<string, github.RepositoryFile>;
  public readonly paths: pulumi.Output<string[]>;

  constructor(name: string, args: WorkflowFilesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("awareness:github:WorkflowFiles", name, args, opts);
    if (!args.repository) throw new pulumi.ResourceError("WorkflowFiles needs a repository", this);
    this.files = {};
    for (const [path, content] of renderAllWorkflows()) {
      const fileName = path.split("/").at(-1)!.replace(/\.yml$/, "");
      this.files[path] = new github.RepositoryFile(
        `${name}-${fileName}`,
        {
          repository: args.repository,
          branch: args.branch ?? "main",
          file: path,
          content,
          commitMessage: `Update ${path} (rendered by components/github)`,
          // The files are committed in this repository too: take them over rather than fail.
          overwriteOnCreate: true,
        },
        { parent: this },
      );
    }
    this.paths = pulumi.output(Object.keys(this.files));
    this.registerOutputs({ paths: this.paths });
  }
}
