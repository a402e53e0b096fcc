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

/**
 * Checks every value is representable and, with `sortedOnly`, that object keys are
 * already in canonical order; otherwise returns a copy with sorted keys. The text itself
 * comes from JSON.stringify, whose string escaping is the one JCS prescribes.
 */
function normalise(v: unknown, path: string, sortedOnly: boolean): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0))
        throw new NonCanonicalError(`${path}: ${v} is not a safe integer`);
      return v;
    case 'object': {
      if (Array.isArray(v)) {
        if (sortedOnly) {
          for (let i = 0; i < v.length; i++) normalise(v[i], path, true);
          return v;
        }
        return v.map((x, i) => normalise(x, `${path}[${i}]`, false));
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (sortedOnly) {
        for (let i = 0; i < keys.length; i++) {
          if (i > 0 && !(keys[i - 1] < keys[i]))
            throw new NonCanonicalError(`${path}: keys are not in sorted order`);
          normalise(obj[keys[i]], path, true);
        }
        return v;
      }
      // fromEntries defines own properties, so even a "__proto__" key stays data.
      return Object.fromEntries(
        keys
          .sort()
          .filter((k) => obj[k] !== undefined) // absent optional field
          .map((k) => [k, normalise(obj[k], `${path}.${k}`, false)]),
      );
    }
    default:
      throw new NonCanonicalError(`${path}: ${typeof v} has no JSON form`);
  }
}

/** The canonical text of `value` (undefined object members are omitted). */
export function canonicalString(value: unknown): string {
  return JSON.stringify(normalise(value, '$', false));
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
  // Keys in order and integers only, then the one spelling JSON.stringify gives: together
  // that rejects whitespace, duplicates (parse keeps one, so the text differs), escapes
  // like \u0041 and number forms like 1.0 or 1e2.
  normalise(value, '$', true);
  if (JSON.stringify(value) !== text)
    throw new NonCanonicalError('valid JSON but not in canonical form');
  return value;
}
