// Preview as a precheck: the plan the engine would carry out, and whether the replace
// policy allows it. Pure: engine events in, a plan and the blocking steps out.
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation/index.js";

export interface PlannedStep {
  urn: string;
  type: string;
  name: string;
  op: OpType;
  /** Properties whose change forces a replacement, when the engine says. */
  replaceKeys: string[];
}

export interface ReplaceAllowance {
  type: string;
  name?: string | undefined;
}

export interface PreviewPlan {
  steps: PlannedStep[];
  ops: Partial<Record<OpType, number>>;
  /** Steps that delete or replace something the policy does not name. */
  blocked: PlannedStep[];
}

const destructive: ReadonlySet<OpType> = new Set<OpType>([
  "delete",
  "replace",
  "create-replacement",
  "delete-replaced",
  "discard",
  "discard-replaced",
]);

/** Stack resource and provider plumbing never count against the policy. */
function isPlumbing(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

function nameOfUrn(urn: string): string {
  return urn.split("::").at(-1) ?? urn;
}

export function planFromEvents(events: EngineEvent[], allow: readonly ReplaceAllowance[]): PreviewPlan {
  const steps: PlannedStep[] = [];
  for (const event of events) {
    const meta = event.resourcePreEvent?.metadata;
    if (!meta) continue;
    steps.push({
      urn: meta.urn,
      type: meta.type,
      name: nameOfUrn(meta.urn),
      op: meta.op,
      replaceKeys: meta.keys ?? [],
    });
  }
  const ops: Partial<Record<OpType, number>> = {};
  for (const s of steps) ops[s.op] = (ops[s.op] ?? 0) + 1;
  const allowed = (s: PlannedStep) =>
    allow.some((a) => a.type === s.type && (a.name === undefined || a.name === s.name));
  const blocked = steps.filter((s) => destructive.has(s.op) && !isPlumbing(s.type) && !allowed(s));
  return { steps, ops, blocked };
}

/** One line per changing step, for the terminal and the report. */
export function describePlan(plan: PreviewPlan): string[] {
  return plan.steps
    .filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack")
    .map((s) => `${s.op.padEnd(18)} ${s.type} ${s.name}${s.replaceKeys.length ? ` (replace: ${s.replaceKeys.join(", ")})` : ""}`);
}
