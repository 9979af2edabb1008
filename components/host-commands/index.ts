// Every shell command the host runs, built as data. Only components (through
// @pulumi/command) and the driver's host runner execute them.
export * from "./shell.js";
export * from "./layout.js";
export * from "./images.js";
export * from "./deploy.js";
export * from "./status.js";
export * from "./lock.js";
export * from "./precheck.js";
export * from "./backups.js";
export { probeFromHost } from "./probe.js";
export * from "./running.js";
export * from "./registry.js";
export * from "./observe.js";
export * from "./volumes.js";
export * from "./audit.js";
export * from "./exec-check.js";
export * from "./pause.js";
export { parseColorStates, readColorStates, type ColorStates } from "./idle-color.js";
