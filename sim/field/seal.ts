import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/**
 * The firmware's envelope sealer, written from docs/envelope.md alone (independent of the
 * server's reference in server/envelope), so the field test checks two implementations
 * against each other and against the documented vectors.
 */

const INFO = 'keyline/e2e/v1 device->server';
const MAX_PAYLOAD = 4096;

/** The per-device envelope key K and the key ID, derived once at boot and cached in RAM. */
export interface SealingKey {
  /** 8 bytes: SHA-256(uncompressed MCU public key)[0..8]. */
  keyId: Uint8Array;
  /** 32 bytes; zeroize with `forgetSealingKey`. */
  k: Uint8Array;
}

export class SealError extends Error {
  override name = 'SealError';
}

/** ECDH(d_m, Q_s) → HKDF-SHA-256 with salt SHA-256(Q_m ‖ Q_s) (docs/envelope.md "Derivation"). */
export function deriveSealingKey(
  mcuPrivateKey: Uint8Array,
  serverPublicKey: Uint8Array,
): SealingKey {
  const qm = p256.getPublicKey(mcuPrivateKey, false);
  let point: Uint8Array;
  try {
    point = p256.getSharedSecret(mcuPrivateKey, serverPublicKey, false);
  } catch {
    throw new SealError('server public key is not a valid P-256 point');
  }
  const z = point.slice(1, 33);
  point.fill(0);
  const salt = createHash('sha256').update(qm).update(serverPublicKey).digest();
  const k = new Uint8Array(hkdfSync('sha256', z, salt, INFO, 32));
  z.fill(0);
  return { keyId: new Uint8Array(createHash('sha256').update(qm).digest().subarray(0, 8)), k };
}

export function forgetSealingKey(key: SealingKey): void {
  key.k.fill(0);
}

/** One envelope: header (magic, version, suite, key ID, counter) ‖ AES-256-GCM body ‖ tag. */
export function seal(key: SealingKey, counter: bigint, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD) throw new SealError(`payload over ${MAX_PAYLOAD} bytes`);
  if (counter < 0n || counter > 0xffffffffffffffffn) throw new SealError('counter out of range');
  const header = new Uint8Array(20);
  header.set([0x4b, 0x45, 1, 1], 0);
  header.set(key.keyId, 4);
  new DataView(header.buffer).setBigUint64(12, counter, false);
  const nonce = new Uint8Array(12);
  nonce.set([0, 0, 0, 1], 0);
  nonce.set(header.subarray(12, 20), 4);
  const gcm = createCipheriv('aes-256-gcm', key.k, nonce);
  gcm.setAAD(header);
  const body = Buffer.concat([gcm.update(payload), gcm.final()]);
  return new Uint8Array(Buffer.concat([header, body, gcm.getAuthTag()]));
}
