/**
 * Canonical JSON for ledger records: the RFC 8785 (JCS) subset that needs no number
 * formatting rules — object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings escaped as ECMAScript's JSON.stringify does (which is what JCS
 * specifies), UTF-8 bytes, and numbers restricted to safe integers (no floats, no
 * exponents, no -0). Decoding checks the text is exactly that encoding, so any other
 * spelling of the same value (spaces, key order, duplicate keys, `\u0041`, `1.0`) is
 * rejected and every record has exactly one byte form and therefore one hash.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class NonCanonicalError extends Error {
  override name = 'NonCanonicalError';
}

/**
 * Writes the canonical text of `v` into `out`, checking every value is representable.
 * Keys are sorted here rather than by building a sorted object for JSON.stringify: JS
 * objects enumerate integer-like keys ("0", "10") first, whatever order they were added.
 * Strings go through JSON.stringify, whose escaping is the one JCS prescribes.
 */
function serialise(v: unknown, path: string, out: string[]): void {
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0))
        throw new NonCanonicalError(`${path}: ${v} is not a safe integer`);
      out.push(String(v));
      return;
    case 'object': {
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          serialise(v[i], `${path}[${i}]`, out);
        }
        out.push(']');
        return;
      }
      const obj = v as Record<string, unknown>;
      // An undefined member is an absent optional field.
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push('{');
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(keys[i]), ':');
        serialise(obj[keys[i]], `${path}.${keys[i]}`, out);
      }
      out.push('}');
      return;
    }
    default:
      throw new NonCanonicalError(`${path}: ${typeof v} has no JSON form`);
  }
}

/** The canonical text of `value` (undefined object members are omitted). */
export function canonicalString(value: unknown): string {
  const out: string[] = [];
  serialise(value, '$', out);
  return out.join('');
}

/** The canonical UTF-8 bytes of `value`. */
export function canonicalEncode(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalString(value), 'utf8'));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses canonical bytes; throws NonCanonicalError for anything else. */
export function canonicalDecode(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new NonCanonicalError('not valid UTF-8');
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new NonCanonicalError(`not JSON: ${(e as Error).message}`);
  }
  assertCanonicalText(text);
  return value;
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

// Scan state of assertCanonicalText, at module level rather than in closures: the check
// runs once per record, and per-call closures cost more than the scan of a short record.
// The scan is synchronous, so one state serves every call.
let text = '';
let i = 0;
// Position of the next backslash at or after the scan; strings before it need no escape
// check, so long base64 strings are skipped with one native indexOf each.
let backslash = 0;

function fail(why: string): never {
  throw new NonCanonicalError(`valid JSON but not in canonical form (${why} at ${i})`);
}

/** Reads the string starting at the quote at `i`; returns its value, moves `i` past it. */
function readString(): string {
  const start = i;
  let end = text.indexOf('"', start + 1);
  if (end < backslash) {
    i = end + 1;
    return text.slice(start + 1, end);
  }
  // Escapes inside: find the real closing quote, then demand JSON.stringify's spelling.
  end = start + 1;
  for (;;) {
    const c = text.charCodeAt(end);
    if (c === 0x5c) end += 2;
    else if (c === 0x22) break;
    else end++;
  }
  const raw = text.slice(start, end + 1);
  const decoded = JSON.parse(raw) as string;
  if (JSON.stringify(decoded) !== raw) fail('string escape');
  i = end + 1;
  backslash = text.indexOf('\\', i);
  if (backslash < 0) backslash = text.length;
  return decoded;
}

/**
 * Checks that `text`, already known to be valid JSON, is the one spelling
 * canonicalString would give its value: no whitespace, object keys strictly increasing
 * (so no duplicates), integers only in their shortest form, and strings escaped exactly
 * as JSON.stringify escapes them. One pass over the text instead of re-encoding the
 * parsed value and comparing: the verifier runs this on every record of a ledger.
 */
export function assertCanonicalText(json: string): void {
  text = json;
  i = 0;
  const n = json.length;
  backslash = json.indexOf('\\');
  if (backslash < 0) backslash = n;
  try {
    scan(n);
  } finally {
    text = '';
  }
}

function scan(n: number): void {
  // Per open container: whether it is an object, and its previous key.
  const lastKey: (string | undefined)[] = [];
  const isObject: boolean[] = [];
  let depth = -1;
  for (;;) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      isObject[depth] = c === 0x7b;
      lastKey[depth] = undefined;
      i++;
      const close = c === 0x7b ? 0x7d : 0x5d;
      if (text.charCodeAt(i) === close) {
        i++;
        depth--;
      } else {
        if (c === 0x7b) {
          if (text.charCodeAt(i) !== 0x22) fail('whitespace');
          lastKey[depth] = readString();
          if (text.charCodeAt(i) !== 0x3a) fail('whitespace');
          i++;
        }
        continue;
      }
    } else if (c === 0x22) {
      readString();
    } else if (c === 0x74 /* t */ || c === 0x6e /* n */) {
      i += 4;
    } else if (c === 0x66 /* f */) {
      i += 5;
    } else if (c === 0x2d || (c >= DIGIT_0 && c <= DIGIT_9)) {
      const start = i;
      if (c === 0x2d) i++;
      const first = text.charCodeAt(i);
      if (first < DIGIT_0 || first > DIGIT_9) fail('number');
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < DIGIT_0 || d > DIGIT_9) break;
        i++;
      }
      const d = text.charCodeAt(i);
      if (d === 0x2e || d === 0x65 || d === 0x45) fail('not an integer');
      if (first === DIGIT_0 && i - start > (c === 0x2d ? 2 : 1)) fail('number');
      const num = Number(text.slice(start, i));
      if (!Number.isSafeInteger(num) || Object.is(num, -0)) fail('not a safe integer');
    } else {
      fail('whitespace');
    }
    // After a value: the end of the text, or a comma or closing bracket of its container.
    for (;;) {
      if (depth < 0) {
        if (i !== n) fail('trailing text');
        return;
      }
      const d = text.charCodeAt(i);
      if (d === 0x2c /* , */) {
        i++;
        if (isObject[depth]) {
          if (text.charCodeAt(i) !== 0x22) fail('whitespace');
          const key = readString();
          if (!((lastKey[depth] as string) < key)) fail('keys not in sorted order');
          lastKey[depth] = key;
          if (text.charCodeAt(i) !== 0x3a) fail('whitespace');
          i++;
        }
        break;
      }
      if (d !== (isObject[depth] ? 0x7d : 0x5d)) fail('whitespace');
      i++;
      depth--;
    }
  }
}
