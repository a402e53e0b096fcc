import { hash } from 'node:crypto';

/** Size in bytes of every hash in the ledger (SHA-256). */
export const HASH_SIZE = 32;

// node:crypto rather than @noble/hashes: verifying a million records hashes about a
// gigabyte, and the native digest is an order of magnitude faster there.
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  const d = hash('sha256', data, 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-256 as lowercase hex (one-shot, for fingerprints). */
export function sha256Hex(data: Uint8Array): string {
  return hash('sha256', data, 'hex');
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

// The prefixed input is assembled in one reused buffer: Buffer.concat per hash costs as
// much as hashing a record, and leaves are hashed once per record on every open and verify.
let scratch = Buffer.allocUnsafe(1 << 16);

function prefixedHash(prefix: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  const n = 1 + a.length + (b?.length ?? 0);
  if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  scratch[0] = prefix;
  scratch.set(a, 1);
  if (b) scratch.set(b, 1 + a.length);
  const d = hash('sha256', scratch.subarray(0, n), 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return prefixedHash(LEAF_PREFIX, entry);
}

/** RFC 9162 §2.1.1: interior node = SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return prefixedHash(NODE_PREFIX, left, right);
}

/** MTH of the empty tree = SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256();

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Strict lowercase-hex decode; undefined when `hex` is not exactly that. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
