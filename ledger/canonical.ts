/**
 * Canonical JSON for ledger records: the RFC 8785 (JCS) subset that needs no number
 * formatting rules — object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings escaped as ECMAScript's JSON.stringify does (which is what JCS
 * specifies), UTF-8 bytes, and numbers restricted to safe integers (no floats, no
 * exponents, no -0). Decoding re-encodes and demands identical bytes, so any other
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

function encodeValue(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0))
        throw new NonCanonicalError(`${path}: ${v} is not a safe integer`);
      return String(v);
    case 'string':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v))
        return '[' + v.map((x, i) => encodeValue(x, `${path}[${i}]`)).join(',') + ']';
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        if (obj[k] === undefined) continue; // absent optional field
        parts.push(JSON.stringify(k) + ':' + encodeValue(obj[k], `${path}.${k}`));
      }
      return '{' + parts.join(',') + '}';
    }
    default:
      throw new NonCanonicalError(`${path}: ${typeof v} has no JSON form`);
  }
}

/** The canonical text of `value` (undefined object members are omitted). */
export function canonicalString(value: unknown): string {
  return encodeValue(value, '$');
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
  let again: string;
  try {
    again = canonicalString(value);
  } catch (e) {
    throw new NonCanonicalError((e as Error).message);
  }
  if (again !== text) throw new NonCanonicalError('valid JSON but not in canonical form');
  return value;
}
