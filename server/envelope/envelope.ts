import { createCipheriv, createDecipheriv, hkdfSync, createHash } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/**
 * The end-to-end envelope an MCU seals for the server (docs/envelope.md, byte by byte).
 *
 * Static-static ECDH P-256 between the MCU key (provisioned into flash, never on the bus
 * afterwards) and the server's end-to-end key (its public half provisioned in the
 * credential blob) gives a per-device secret only those two ends can compute; HKDF-SHA-256
 * turns it into an AES-256-GCM key; a 64-bit monotonic counter is the nonce and the
 * server's replay window. The header is authenticated as AAD, so neither the key ID nor
 * the counter can be altered on the wire.
 */
export const ENVELOPE_MAGIC = 0x4b45; // "KE"
export const ENVELOPE_VERSION = 1;
export const SUITE_P256_HKDF_SHA256_AES256GCM = 1;
export const HEADER_LENGTH = 20;
export const TAG_LENGTH = 16;
/** Largest plaintext a single envelope carries; bounds work done on untrusted input. */
export const MAX_PLAINTEXT = 4096;

const KDF_INFO = new TextEncoder().encode('keyline/e2e/v1 device->server');
/** Nonce prefix for the device→server direction; leaves room for a server→device direction. */
const DIRECTION_DEVICE_TO_SERVER = Uint8Array.of(0, 0, 0, 1);

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(
    readonly reason: 'malformed' | 'unsupported' | 'too-large' | 'bad-key',
    message: string,
  ) {
    super(message);
  }
}

export interface EnvelopeHeader {
  version: number;
  suite: number;
  /** First 8 bytes of SHA-256 over the MCU's uncompressed public key, hex. */
  keyIdHex: string;
  counter: bigint;
}

/** Key ID the server indexes devices by: SHA-256(uncompressed MCU public key)[0..8]. */
export function envelopeKeyId(mcuPublicKeyUncompressed: Uint8Array): Uint8Array {
  if (mcuPublicKeyUncompressed.length !== 65 || mcuPublicKeyUncompressed[0] !== 4) {
    throw new EnvelopeError(
      'bad-key',
      'MCU public key must be an uncompressed P-256 point (65 bytes)',
    );
  }
  return new Uint8Array(
    createHash('sha256').update(mcuPublicKeyUncompressed).digest().subarray(0, 8),
  );
}

/** The AES-256-GCM key both ends derive. Callers zeroize it after use. */
export function deriveEnvelopeKey(
  ownPrivateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  mcuPublicKey: Uint8Array,
  serverPublicKey: Uint8Array,
): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = p256.getSharedSecret(ownPrivateKey, peerPublicKey, true);
  } catch {
    throw new EnvelopeError('bad-key', 'ECDH failed: peer public key is not a valid P-256 point');
  }
  const z = shared.subarray(1, 33);
  // Binding both public keys into the salt ties the key to this exact pair of identities.
  const salt = createHash('sha256').update(mcuPublicKey).update(serverPublicKey).digest();
  const key = new Uint8Array(hkdfSync('sha256', z, salt, KDF_INFO, 32));
  shared.fill(0);
  return key;
}

function encodeHeader(keyId: Uint8Array, counter: bigint): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  const v = new DataView(h.buffer);
  v.setUint16(0, ENVELOPE_MAGIC);
  h[2] = ENVELOPE_VERSION;
  h[3] = SUITE_P256_HKDF_SHA256_AES256GCM;
  h.set(keyId, 4);
  v.setBigUint64(12, counter);
  return h;
}

function nonceFor(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  n.set(DIRECTION_DEVICE_TO_SERVER, 0);
  new DataView(n.buffer).setBigUint64(4, counter);
  return n;
}

export function parseEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  if (envelope.length < HEADER_LENGTH + TAG_LENGTH) {
    throw new EnvelopeError(
      'malformed',
      `envelope is ${envelope.length} bytes, shorter than header + tag`,
    );
  }
  const v = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  if (v.getUint16(0) !== ENVELOPE_MAGIC) throw new EnvelopeError('malformed', 'bad magic');
  if (envelope[2] !== ENVELOPE_VERSION)
    throw new EnvelopeError('unsupported', `envelope version ${envelope[2]}`);
  if (envelope[3] !== SUITE_P256_HKDF_SHA256_AES256GCM)
    throw new EnvelopeError('unsupported', `suite ${envelope[3]}`);
  if (envelope.length - HEADER_LENGTH - TAG_LENGTH > MAX_PLAINTEXT) {
    throw new EnvelopeError('too-large', `ciphertext over ${MAX_PLAINTEXT} bytes`);
  }
  return {
    version: envelope[2],
    suite: envelope[3],
    keyIdHex: Buffer.from(envelope.subarray(4, 12)).toString('hex'),
    counter: v.getBigUint64(12),
  };
}

export interface SealInput {
  mcuPrivateKey: Uint8Array;
  mcuPublicKey: Uint8Array;
  serverPublicKey: Uint8Array;
  /** Strictly increasing per device; firmware persists it across resets. */
  counter: bigint;
  plaintext: Uint8Array;
}

/** What firmware does for every payload (reference for the C implementation). */
export function sealForServer(input: SealInput): Uint8Array {
  if (input.plaintext.length > MAX_PLAINTEXT)
    throw new EnvelopeError('too-large', `plaintext over ${MAX_PLAINTEXT} bytes`);
  if (input.counter < 0n || input.counter >= 1n << 64n)
    throw new EnvelopeError('malformed', 'counter out of range');
  const header = encodeHeader(envelopeKeyId(input.mcuPublicKey), input.counter);
  const key = deriveEnvelopeKey(
    input.mcuPrivateKey,
    input.serverPublicKey,
    input.mcuPublicKey,
    input.serverPublicKey,
  );
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonceFor(input.counter));
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
    const out = new Uint8Array(HEADER_LENGTH + body.length + TAG_LENGTH);
    out.set(header, 0);
    out.set(body, HEADER_LENGTH);
    out.set(cipher.getAuthTag(), HEADER_LENGTH + body.length);
    return out;
  } finally {
    key.fill(0);
  }
}

export type OpenResult =
  | { ok: true; header: EnvelopeHeader; plaintext: Uint8Array }
  | { ok: false; reason: 'bad-tag'; header: EnvelopeHeader };

/**
 * Opens an envelope with the server's key and the MCU public key the ledger holds for the
 * envelope's key ID. Authentication failure is a result, not an exception: the caller
 * logs it as a rejection reason.
 */
export function openFromDevice(
  envelope: Uint8Array,
  serverPrivateKey: Uint8Array,
  serverPublicKey: Uint8Array,
  mcuPublicKey: Uint8Array,
): OpenResult {
  const header = parseEnvelopeHeader(envelope);
  const expectedId = Buffer.from(envelopeKeyId(mcuPublicKey)).toString('hex');
  if (expectedId !== header.keyIdHex)
    throw new EnvelopeError('bad-key', 'envelope key ID does not match the MCU key given');
  const key = deriveEnvelopeKey(serverPrivateKey, mcuPublicKey, mcuPublicKey, serverPublicKey);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(header.counter));
    decipher.setAAD(envelope.subarray(0, HEADER_LENGTH));
    decipher.setAuthTag(envelope.subarray(envelope.length - TAG_LENGTH));
    const body = envelope.subarray(HEADER_LENGTH, envelope.length - TAG_LENGTH);
    try {
      const plaintext = new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
      return { ok: true, header, plaintext };
    } catch {
      return { ok: false, reason: 'bad-tag', header };
    }
  } finally {
    key.fill(0);
  }
}
