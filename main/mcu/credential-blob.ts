/**
 * The MCU credential blob, format version 1 (docs/credential-blob.md is the reference
 * for firmware authors; the worked example there is checked against this encoder).
 *
 * A fixed 212-byte little-endian header with every fixed-size field at a fixed offset,
 * then the MCU certificate and the optional server CA certificate (DER, each zero-padded
 * to 4 bytes), then a CRC-32 of everything before it. Magic and total length come first
 * so firmware can find and check the blob with a handful of loads.
 */
import { p256 } from '@noble/curves/nist.js';
import { crc32 } from './crc32.ts';

/** "KLCB" in memory order (0x42434C4B when read as a little-endian uint32). */
export const BLOB_MAGIC = Uint8Array.of(0x4b, 0x4c, 0x43, 0x42);
export const BLOB_VERSION = 1;
export const BLOB_HEADER_SIZE = 212;
/** Upper bound firmware may rely on; far above a page holding two certificates. */
export const BLOB_MAX_SIZE = 0x10000;
export const FLAG_CA_CERT = 0x1;

/** Byte offsets of the header fields (mirrors the C struct in the docs). */
export const OFFSET = {
  magic: 0,
  version: 4,
  headerSize: 6,
  totalLength: 8,
  flags: 12,
  mcuCertOffset: 16,
  mcuCertLength: 20,
  caCertOffset: 24,
  caCertLength: 28,
  deviceId: 32,
  mcuUid: 64,
  reserved0: 76,
  mcuPrivateKey: 80,
  modemCertSha256: 112,
  serverPublicKey: 144,
  reserved1: 209,
} as const;

const DEVICE_ID_FIELD = 32;

/** What a credential blob carries. */
export interface CredentialBlobFields {
  /** The derived device ID (certificate CN), printable ASCII, at most 31 characters. */
  deviceId: string;
  /** 24 lowercase hex digits, the 12 UID bytes in address order. */
  mcuUid: string;
  /** P-256 private scalar, 32 bytes big-endian. Secret: zeroize after use. */
  mcuPrivateKey: Uint8Array;
  /** The MCU certificate, DER. */
  mcuCertificateDer: Uint8Array;
  /** The server's end-to-end P-256 public key, uncompressed (0x04 ‖ X ‖ Y, 65 bytes). */
  serverPublicKey: Uint8Array;
  /** Optional server CA certificate, DER. */
  serverCaCertificateDer?: Uint8Array;
  /** SHA-256 of the modem's TLS client certificate (DER). */
  modemCertSha256: Uint8Array;
}

export type CredentialBlobProblem =
  'truncated' | 'magic' | 'version' | 'header' | 'length' | 'crc' | 'field';

/** A blob that cannot be encoded or does not decode; never includes key bytes. */
export class CredentialBlobError extends Error {
  override name = 'CredentialBlobError';
  constructor(
    readonly problem: CredentialBlobProblem,
    detail: string,
  ) {
    super(`credential blob ${problem}: ${detail}`);
  }
}

const pad4 = (n: number) => (n + 3) & ~3;

function fieldError(detail: string): CredentialBlobError {
  return new CredentialBlobError('field', detail);
}

function checkFields(f: CredentialBlobFields): void {
  if (!/^[\x21-\x7e]{1,31}$/.test(f.deviceId))
    throw fieldError('deviceId must be 1–31 printable ASCII characters');
  if (!/^[0-9a-f]{24}$/.test(f.mcuUid)) throw fieldError('mcuUid must be 24 lowercase hex digits');
  if (f.mcuPrivateKey.length !== 32 || !p256.utils.isValidSecretKey(f.mcuPrivateKey))
    throw fieldError('mcuPrivateKey is not a valid P-256 scalar (32 bytes, 1 ≤ d < n)');
  if (
    f.serverPublicKey.length !== 65 ||
    f.serverPublicKey[0] !== 0x04 ||
    !p256.utils.isValidPublicKey(f.serverPublicKey, false)
  )
    throw fieldError(
      'serverPublicKey must be an uncompressed P-256 point on the curve (65 bytes, 0x04 first)',
    );
  if (f.modemCertSha256.length !== 32) throw fieldError('modemCertSha256 must be 32 bytes');
  for (const [name, der] of [
    ['mcuCertificateDer', f.mcuCertificateDer],
    ['serverCaCertificateDer', f.serverCaCertificateDer],
  ] as const) {
    if (der === undefined) continue;
    if (der.length < 2 || der[0] !== 0x30)
      throw fieldError(`${name} is not DER (must start with a SEQUENCE)`);
  }
}

/** Encodes the fields as a version-1 blob (length a multiple of 4). Validates every field. */
export function encodeCredentialBlob(f: CredentialBlobFields): Uint8Array {
  checkFields(f);
  const ca = f.serverCaCertificateDer;
  const mcuCertOffset = BLOB_HEADER_SIZE;
  const caOffset = ca ? mcuCertOffset + pad4(f.mcuCertificateDer.length) : 0;
  const end = ca ? caOffset + pad4(ca.length) : mcuCertOffset + pad4(f.mcuCertificateDer.length);
  const total = end + 4;
  if (total > BLOB_MAX_SIZE)
    throw fieldError(`blob would be ${total} bytes, more than ${BLOB_MAX_SIZE}`);

  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(BLOB_MAGIC, OFFSET.magic);
  v.setUint16(OFFSET.version, BLOB_VERSION, true);
  v.setUint16(OFFSET.headerSize, BLOB_HEADER_SIZE, true);
  v.setUint32(OFFSET.totalLength, total, true);
  v.setUint32(OFFSET.flags, ca ? FLAG_CA_CERT : 0, true);
  v.setUint32(OFFSET.mcuCertOffset, mcuCertOffset, true);
  v.setUint32(OFFSET.mcuCertLength, f.mcuCertificateDer.length, true);
  v.setUint32(OFFSET.caCertOffset, caOffset, true);
  v.setUint32(OFFSET.caCertLength, ca ? ca.length : 0, true);
  out.set(new TextEncoder().encode(f.deviceId), OFFSET.deviceId);
  out.set(hexToBytes(f.mcuUid), OFFSET.mcuUid);
  out.set(f.mcuPrivateKey, OFFSET.mcuPrivateKey);
  out.set(f.modemCertSha256, OFFSET.modemCertSha256);
  out.set(f.serverPublicKey, OFFSET.serverPublicKey);
  out.set(f.mcuCertificateDer, mcuCertOffset);
  if (ca) out.set(ca, caOffset);
  v.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/** The decoded fields plus the format facts a reader may want. */
export interface DecodedCredentialBlob extends CredentialBlobFields {
  version: number;
  /** Bytes the blob occupies (anything after it, e.g. erased flash, is ignored). */
  totalLength: number;
}

/**
 * Decodes and checks a blob at the start of `bytes` (trailing bytes such as the rest of
 * an erased page are ignored). Any structural fault, wrong version, truncation or CRC
 * mismatch throws CredentialBlobError. The returned private key is a copy: zeroize it.
 */
export function decodeCredentialBlob(bytes: Uint8Array): DecodedCredentialBlob {
  if (bytes.length < 16)
    throw new CredentialBlobError(
      'truncated',
      `${bytes.length} bytes is shorter than the fixed prefix`,
    );
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!BLOB_MAGIC.every((b, i) => bytes[i] === b))
    throw new CredentialBlobError('magic', 'does not start with "KLCB"');
  const version = v.getUint16(OFFSET.version, true);
  if (version !== BLOB_VERSION)
    throw new CredentialBlobError(
      'version',
      `version ${version} is not supported (this reader knows ${BLOB_VERSION})`,
    );
  const headerSize = v.getUint16(OFFSET.headerSize, true);
  if (headerSize !== BLOB_HEADER_SIZE)
    throw new CredentialBlobError(
      'header',
      `header size ${headerSize}, expected ${BLOB_HEADER_SIZE} for version 1`,
    );
  const total = v.getUint32(OFFSET.totalLength, true);
  if (total < BLOB_HEADER_SIZE + 4 || total > BLOB_MAX_SIZE || total % 4 !== 0)
    throw new CredentialBlobError('length', `total length ${total} is impossible`);
  if (bytes.length < total)
    throw new CredentialBlobError(
      'truncated',
      `${bytes.length} bytes available, header says ${total}`,
    );
  const stored = v.getUint32(total - 4, true);
  const computed = crc32(bytes.subarray(0, total - 4));
  if (stored !== computed)
    throw new CredentialBlobError('crc', 'CRC-32 trailer does not match the contents');

  const flags = v.getUint32(OFFSET.flags, true);
  if ((flags & ~FLAG_CA_CERT) !== 0) throw fieldError(`unknown flag bits 0x${flags.toString(16)}`);
  const certAt = v.getUint32(OFFSET.mcuCertOffset, true);
  const certLen = v.getUint32(OFFSET.mcuCertLength, true);
  const caAt = v.getUint32(OFFSET.caCertOffset, true);
  const caLen = v.getUint32(OFFSET.caCertLength, true);
  const hasCa = (flags & FLAG_CA_CERT) !== 0;
  const certEnd = certAt + pad4(certLen);
  const expectedEnd = hasCa ? caAt + pad4(caLen) : certEnd;
  if (
    certAt !== BLOB_HEADER_SIZE ||
    certLen === 0 ||
    (hasCa ? caAt !== certEnd || caLen === 0 : caAt !== 0 || caLen !== 0) ||
    expectedEnd + 4 !== total
  )
    throw fieldError('certificate offsets and lengths are inconsistent');
  const zeroRanges: Array<[number, number]> = [
    [OFFSET.reserved0, OFFSET.mcuPrivateKey],
    [OFFSET.reserved1, BLOB_HEADER_SIZE],
    [certAt + certLen, certEnd],
  ];
  if (hasCa) zeroRanges.push([caAt + caLen, expectedEnd]);
  for (const [a, b] of zeroRanges)
    if (bytes.subarray(a, b).some((x) => x !== 0))
      throw fieldError(`reserved or padding bytes ${a}…${b - 1} are not zero`);

  const idField = bytes.subarray(OFFSET.deviceId, OFFSET.deviceId + DEVICE_ID_FIELD);
  const nul = idField.indexOf(0);
  if (nul < 1 || idField.subarray(nul).some((x) => x !== 0))
    throw fieldError('deviceId is not a NUL-padded string');
  const fields: DecodedCredentialBlob = {
    version,
    totalLength: total,
    deviceId: new TextDecoder().decode(idField.subarray(0, nul)),
    mcuUid: bytesToHex(bytes.subarray(OFFSET.mcuUid, OFFSET.mcuUid + 12)),
    mcuPrivateKey: bytes.slice(OFFSET.mcuPrivateKey, OFFSET.mcuPrivateKey + 32),
    modemCertSha256: bytes.slice(OFFSET.modemCertSha256, OFFSET.modemCertSha256 + 32),
    serverPublicKey: bytes.slice(OFFSET.serverPublicKey, OFFSET.serverPublicKey + 65),
    mcuCertificateDer: bytes.slice(certAt, certAt + certLen),
  };
  if (hasCa) fields.serverCaCertificateDer = bytes.slice(caAt, caAt + caLen);
  try {
    checkFields(fields);
  } catch (e) {
    fields.mcuPrivateKey.fill(0);
    throw e;
  }
  return fields;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
