import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import type { SignatureAlgorithm } from '../certs/signer.ts';

// The two SubjectPublicKeyInfo shapes a checkpoint key can have; each is a fixed DER
// header followed by the raw key, so matching the header is a complete parse.
const SPKI_HEADERS: Record<SignatureAlgorithm, { header: string; keyLength: number }> = {
  ed25519: { header: '302a300506032b6570032100', keyLength: 32 },
  'ecdsa-p256-sha256': {
    header: '3059301306072a8648ce3d020106082a8648ce3d030107034200',
    keyLength: 65,
  },
};

export class PublicKeyError extends Error {
  override name = 'PublicKeyError';
}

/** The algorithm and raw public key inside a DER SPKI (Ed25519 or uncompressed P-256). */
export function parseSpki(spki: Uint8Array): { algorithm: SignatureAlgorithm; raw: Uint8Array } {
  const hex = Buffer.from(spki).toString('hex');
  for (const [algorithm, { header, keyLength }] of Object.entries(SPKI_HEADERS)) {
    if (hex.startsWith(header) && spki.length === header.length / 2 + keyLength)
      return { algorithm: algorithm as SignatureAlgorithm, raw: spki.subarray(header.length / 2) };
  }
  throw new PublicKeyError('public key is neither an Ed25519 nor a P-256 SubjectPublicKeyInfo');
}

/**
 * Verifies a signature made through a `Signer`: Ed25519 (raw 64 bytes) or ECDSA P-256
 * over SHA-256 (DER, either S form as tokens produce both). False on any mismatch,
 * including a key whose algorithm differs from `algorithm`.
 */
export function verifySignature(
  algorithm: SignatureAlgorithm,
  spki: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  let key;
  try {
    key = parseSpki(spki);
  } catch {
    return false;
  }
  if (key.algorithm !== algorithm) return false;
  try {
    if (algorithm === 'ed25519') return ed25519.verify(signature, message, key.raw);
    return p256.verify(signature, message, key.raw, { format: 'der', lowS: false });
  } catch {
    return false;
  }
}

export function spkiToPem(spki: Uint8Array): string {
  const b64 = Buffer.from(spki)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}
