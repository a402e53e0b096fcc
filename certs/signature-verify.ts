import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { OID } from './oids.ts';
import type { PublicKeyInfo } from './keys.ts';

// A chain check verifies thousands of leaves under the same issuing-CA key: keep its
// KeyObject instead of re-importing the point for every certificate.
const ecKeyCache = new Map<string, KeyObject>();
const EC_KEY_CACHE_MAX = 64;

function ecKeyObject(algorithm: 'p256' | 'p384', raw: Uint8Array): KeyObject {
  const id = `${algorithm}:${Buffer.from(raw).toString('hex')}`;
  const hit = ecKeyCache.get(id);
  if (hit) return hit;
  const n = algorithm === 'p256' ? 32 : 48;
  if (raw.length !== 1 + 2 * n || raw[0] !== 0x04)
    throw new RangeError('not an uncompressed point');
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: algorithm === 'p256' ? 'P-256' : 'P-384',
      x: b64(raw.subarray(1, 1 + n)),
      y: b64(raw.subarray(1 + n)),
    },
    format: 'jwk',
  });
  if (ecKeyCache.size >= EC_KEY_CACHE_MAX)
    ecKeyCache.delete(ecKeyCache.keys().next().value as string);
  ecKeyCache.set(id, key);
  return key;
}

/**
 * Verifies an X.509-style signature (certificate, CRL, CSR). ECDSA goes through
 * node:crypto (OpenSSL): DER signatures, high-S accepted as X.509 requires, about fifty
 * times faster than a pure-JS verify, which matters when a server or `ledger verify`
 * checks the chain of every device in a large export. Ed25519 uses noble (strict RFC 8032).
 *
 * Returns false for a wrong or malformed signature; undefined for an algorithm/key
 * combination keyline does not support.
 */
export function verifyX509Signature(
  algorithmOid: string,
  key: PublicKeyInfo,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  try {
    if (algorithmOid === OID.ed25519) {
      return key.algorithm === 'ed25519' ? ed25519.verify(signature, data, key.raw) : undefined;
    }
    let digest: 'sha256' | 'sha384';
    if (algorithmOid === OID.ecdsaWithSha256) digest = 'sha256';
    else if (algorithmOid === OID.ecdsaWithSha384) digest = 'sha384';
    else return undefined;
    if (key.algorithm !== 'p256' && key.algorithm !== 'p384') return undefined;
    return nodeVerify(
      digest,
      data,
      { key: ecKeyObject(key.algorithm, key.raw), dsaEncoding: 'der' },
      signature,
    );
  } catch {
    return false;
  }
}
