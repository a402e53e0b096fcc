import { p256, p384 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { OID } from './oids.ts';
import type { PublicKeyInfo } from './keys.ts';

/**
 * Verifies an X.509-style signature (certificate, CRL, CSR) in pure TypeScript.
 * noble's defaults do not match X.509 (compact format, low-S only, internal hashing), so
 * every option is explicit: DER signatures, high-S accepted (OpenSSL and WebCrypto emit
 * both), and the digest named by the signature algorithm computed here.
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
    let digest: Uint8Array;
    if (algorithmOid === OID.ecdsaWithSha256) digest = sha256(data);
    else if (algorithmOid === OID.ecdsaWithSha384) digest = sha384(data);
    else return undefined;
    const opts = { prehash: false, format: 'der', lowS: false } as const;
    if (key.algorithm === 'p256') return p256.verify(signature, digest, key.raw, opts);
    if (key.algorithm === 'p384') return p384.verify(signature, digest, key.raw, opts);
    return undefined;
  } catch {
    return false;
  }
}
