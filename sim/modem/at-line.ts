/** One argument of an AT command: its text (quotes removed) and whether it was quoted. */
export interface AtArg {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * A parsed command line. `name` is upper-case: '' for a bare `AT`, 'I', 'E', '&W' for
 * basic commands, '+QFUPL' for extended ones. Basic commands carry their digits as `args[0]`.
 */
export interface AtCommand {
  readonly line: string;
  readonly name: string;
  readonly form: 'exec' | 'set' | 'read' | 'test';
  readonly args: readonly AtArg[];
}

/** Splits `a,"b,c",0xFF` into arguments; quotes protect commas. Null when quotes are unbalanced. */
export function splitArgs(text: string): AtArg[] | null {
  const out: AtArg[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return null;
      out.push({ text: text.slice(i + 1, end), quoted: true });
      i = end + 1;
      while (text[i] === ' ') i++;
      if (i < text.length && text[i] !== ',') return null;
    } else {
      const end = text.indexOf(',', i);
      const raw = end < 0 ? text.slice(i) : text.slice(i, end);
      out.push({ text: raw.trim(), quoted: false });
      i = end < 0 ? text.length : end;
    }
    if (i >= text.length) return out;
    i++; // the comma
  }
}

/**
 * Parses one command line (without its `\r`). Returns null for lines that are not AT
 * commands (real modules ignore them) and for malformed arguments.
 */
export function parseAtLine(line: string): AtCommand | null {
  if (!/^at/i.test(line)) return null;
  const body = line.slice(2);
  if (body === '') return { line, name: '', form: 'exec', args: [] };
  if (body[0] === '+') {
    const m = /^(\+[A-Za-z0-9]+)(=\?|\?|=)?(.*)$/.exec(body);
    if (!m) return null;
    const [, name, op, rest] = m;
    if (op === '=?' || op === '?') {
      if (rest.trim() !== '') return null;
      return { line, name: name.toUpperCase(), form: op === '?' ? 'read' : 'test', args: [] };
    }
    if (op === '=') {
      const args = splitArgs(rest);
      return args ? { line, name: name.toUpperCase(), form: 'set', args } : null;
    }
    return rest === '' ? { line, name: name.toUpperCase(), form: 'exec', args: [] } : null;
  }
  const m = /^(&?[A-Za-z])(\d*)(\?)?$/.exec(body);
  if (!m) return null;
  const [, name, digits, q] = m;
  return {
    line,
    name: name.toUpperCase(),
    form: q ? 'read' : 'exec',
    args: digits === '' ? [] : [{ text: digits, quoted: false }],
  };
}

/** A decimal integer argument, or null when absent or not a plain integer. */
export function intArg(args: readonly AtArg[], i: number): number | null {
  const a = args[i];
  if (!a || a.quoted || !/^\d{1,9}$/.test(a.text)) return null;
  return Number(a.text);
}
