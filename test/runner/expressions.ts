// `${{ }}` evaluation with GitHub's own expression engine (@actions/expressions). The workflow
// parser already turns `a ${{ x }} b` into `format('a {0} b', x)`, so a token is either a literal or
// one expression. The status functions (success, failure, cancelled, always) are the runner's,
// not the library's: they are supplied here from the job's state.
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import { truthy } from "@actions/expressions/result";
import { isBasicExpression, isLiteral, isMapping } from "@actions/workflow-parser";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";

/** What the status functions answer: the job so far. */
export interface JobStatus {
  failed: boolean;
  cancelled: boolean;
}

export interface ExpressionScope {
  contexts: Record<string, unknown>;
  status: JobStatus;
}

function statusFunctions(status: JobStatus): Map<string, FunctionDefinition> {
  const fn = (name: string, value: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) },
  ];
  return new Map([
    fn("success", () => !status.failed && !status.cancelled),
    fn("failure", () => status.failed && !status.cancelled),
    fn("cancelled", () => status.cancelled),
    fn("always", () => true),
  ]);
}

export function evaluate(expression: string, scope: ExpressionScope): data.ExpressionData {
  const functions = statusFunctions(scope.status);
  const tokens = new Lexer(expression).lex().tokens;
  const ast = new Parser(tokens, Object.keys(scope.contexts), [...functions.values()]).parse();
  const context = JSON.parse(JSON.stringify(scope.contexts), data.reviver) as data.Dictionary;
  return new Evaluator(ast, context, functions).evaluate();
}

export function isTrue(expression: string, scope: ExpressionScope): boolean {
  return truthy(evaluate(expression, scope));
}

/** A scalar token as the string a step sees (an expression is evaluated; null is ""). */
export function tokenString(token: TemplateToken | undefined, scope: ExpressionScope): string | undefined {
  if (token === undefined) return undefined;
  if (isBasicExpression(token)) return evaluate(token.expression, scope).coerceString();
  if (isLiteral(token)) return token.isScalar && token.toString() !== undefined ? literalString(token) : "";
  throw new Error(`expected a string, got a ${token.typeName()}`);
}

function literalString(token: TemplateToken): string {
  const value = (token as unknown as { value?: unknown }).value;
  return value === undefined || value === null ? "" : String(value);
}

/** A mapping token (env, with) as strings, each value evaluated in `scope` in order. */
export function tokenMap(token: TemplateToken | undefined, scope: ExpressionScope): Record<string, string> {
  const out: Record<string, string> = {};
  if (token === undefined) return out;
  if (isBasicExpression(token)) {
    const value = evaluate(token.expression, scope);
    if (!(value instanceof data.Dictionary)) throw new Error(`expected a mapping from ${token.expression}`);
    for (const pair of value.pairs()) out[pair.key] = pair.value.coerceString();
    return out;
  }
  if (!isMapping(token)) throw new Error(`expected a mapping, got a ${token.typeName()}`);
  for (const pair of token) out[String(literalString(pair.key))] = tokenString(pair.value, scope) ?? "";
  return out;
}

/** A number-valued key (timeout-minutes) or undefined. */
export function tokenNumber(token: TemplateToken | undefined, scope: ExpressionScope): number | undefined {
  const text = tokenString(token, scope);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`expected a positive number, got '${text}'`);
  return value;
}
