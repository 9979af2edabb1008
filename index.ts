// The program for the plain Pulumi CLI (`pulumi up` with the nodejs runtime): the runtime
// calls a module's default-exported function and takes what it returns as stack outputs.
// The driver runs the same function inline (automation/), so the two paths cannot drift.
import { awarenessProgram } from "./components/program.js";

export default awarenessProgram;
