// `${{ }}` evaluation with GitHub's own expression engine (@actions/expressions). The status
// functions (success, failure, cancelled, always) are the runner's, not the library's: they are
// supplied here from the job's state.
//
// The parser turns `a ${{ x }} b` into `format('a {0} b', x)`, but 0.3.61 (built for the editor)
// gets two things wrong for execution, so such strings are interpolated here instead:
// a block scalar's format string is its raw YAML source (indentation kept, so a heredoc's
// terminator no longer matches), and the lexer unescapes only the first `''` of a string literal
// (`replace`, not `replaceAll`), so `tr ' ' '_'` in a script came out with stray quotes.
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import { truthy } from "@actions/expressions/result";
import { isBasicExpression, isLiteral, isMapping } from "@actions/workflow-parser";
import type { BasicExpressionToken } from "@actions/workflow-parser/templates/tokens/basic-expression-token";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { parse as parseYaml } from "yaml";

/** What the status functions answer: the job so far. */
export interface JobStatus {
  failed: boolean;
  cancelled: boolean;
  /** A job's own `if:`: a job it needs was skipped, so `success()` is false (and `failure()` too). */
  needSkipped?: boolean;
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
    fn("success", () => !status.failed && !status.cancelled && !status.needSkipped),
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
  if (isBasicExpression(token)) {
    const text = interpolatedText(token);
    return text === undefined ? evaluate(token.expression, scope).coerceString() : interpolate(text, scope);
  }
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

/** The string a `format(...)` token was built from, decoded as YAML decodes it (undefined if not one). */
function interpolatedText(token: BasicExpressionToken): string | undefined {
  if (token.originalExpressions === undefined || token.source === undefined) return undefined;
  const multiLine = token.range !== undefined && token.range.start.line !== token.range.end.line;
  if (!multiLine) return token.source; // already the decoded value
  const header = token.blockScalarHeader ?? "";
  return String((parseYaml(`value: ${header}\n${token.source}`) as { value: unknown }).value);
}

/** `a ${{ x }} b` with each expression evaluated; the scan is the parser's (quotes hide `}}`). */
export function interpolate(text: string, scope: ExpressionScope): string {
  let out = "";
  let i = 0;
  for (let start = text.indexOf("${{"); start >= 0; start = text.indexOf("${{", i)) {
    out += text.slice(i, start);
    let end = -1;
    let inString = false;
    for (let j = start + 3; j < text.length; j++) {
      if (text[j] === "'") inString = !inString;
      else if (!inString && text[j] === "}" && text[j - 1] === "}") {
        end = j;
        break;
      }
    }
    if (end < 0) throw new Error("The expression is not closed: '${{' without '}}'");
    out += evaluate(text.slice(start + 3, end - 1).trim(), scope).coerceString();
    i = end + 1;
  }
  return out + text.slice(i);
}
