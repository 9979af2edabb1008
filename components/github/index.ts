// The GitHub part: config schema, components, and the workflow renderer.
export { githubConfigSchema, githubSecretPaths, type GitHubConfig } from "./config.js";
export { GitHubDelivery, type GitHubDeliveryArgs } from "./delivery.js";
export { Environments, type EnvironmentsArgs } from "./environments.js";
export { WorkflowFiles, type WorkflowFilesArgs } from "./workflow-files.js";
export { renderAllWorkflows } from "./workflows/render.js";
