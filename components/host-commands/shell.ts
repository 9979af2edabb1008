// The ONE quoting helper. Every value that reaches a host's shell goes through `sh`, which
// single-quotes each interpolated value unless it is a fragment marked trusted with `raw`
// (operators, or text another builder already made safe).

/** Shell text built by a builder in this folder: inserted as is. */
export class ShellFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Marks trusted shell text (operators, other builders' output). Never pass config values here. */
export function raw(text: string): ShellFragment {
  return new ShellFragment(text);
}

const plainWord = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quoting: the result is always exactly one word, whatever the value holds. */
export function shellQuote(value: string | number): string {
  const text = String(value);
  if (text.includes("\0")) throw new Error("a NUL character cannot be passed to a shell");
  if (plainWord.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

type Interpolated = string | number | ShellFragment | readonly (string | number | ShellFragment)[];

function render(value: Interpolated): string {
  if (value instanceof ShellFragment) return value.text;
  if (Array.isArray(value)) return value.map((v) => render(v as Interpolated)).join(" ");
  return shellQuote(value as string | number);
}

/** Tagged template: `sh\`docker pull ${ref}\`` quotes `ref`; arrays become several quoted words. */
export function sh(strings: TemplateStringsArray, ...values: Interpolated[]): string {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return out;
}

/** A value that goes into a one-line record on the host (lock holder, reason): no line breaks. */
export function oneLine(label: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`${label} must be a single line`);
  return value;
}
