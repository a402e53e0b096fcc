/**
 * The firmware's reader of the credential blob, written from docs/credential-blob.md alone
 * (not from the station's encoder), so a misreading of the format on either side fails a
 * test instead of being mirrored.
 */

/** A blob that is not there, not intact, or not for this chip. */
export class CredentialBlobReadError extends Error {
  override name = 'CredentialBlobReadError';
  constructor(
    readonly check: string,
    message: string,
  ) {
    super(`credential blob: ${message}`);
  }
}

/** What firmware uses from the blob. `mcuPrivateKey` is a copy the caller must zeroize. */
export interface FieldCredentials {
  deviceId: string;
  /** 24 lowercase hex digits, address order. */
  mcuUid: string;
  mcuPrivateKey: Uint8Array;
  modemCertSha256: Uint8Array;
  /** Uncompressed P-256 point, 65 bytes. */
  serverPublicKey: Uint8Array;
  mcuCertificateDer: Uint8Array;
  serverCaCertificateDer: Uint8Array | null;
}

const MAGIC = 0x42434c4b; // "KLCB" read as a little-endian uint32
const HEADER_SIZE = 212;
const MAX_SIZE = 65536;
const FLAG_CA_CERT = 1;

let crcTable: Uint32Array | undefined;

/** zlib CRC-32 (reflected 0xEDB88320, init and final XOR 0xFFFFFFFF). */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const pad4 = (n: number) => (n + 3) & ~3;

/**
 * Parses the blob at the start of `page` (the reserved flash page as the MCU sees it) and
 * checks it belongs to the chip whose UID registers hold `chipUid` (hex, address order).
 */
export function readCredentialBlob(page: Uint8Array, chipUid: string): FieldCredentials {
  const fail = (check: string, msg: string): never => {
    throw new CredentialBlobReadError(check, msg);
  };
  if (page.length < HEADER_SIZE + 4) fail('size', `page of ${page.length} bytes is too small`);
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (v.getUint32(0, true) !== MAGIC) fail('magic', 'no blob (magic missing; page erased?)');
  const version = v.getUint16(4, true);
  if (version !== 1) fail('version', `unknown version ${version}`);
  if (v.getUint16(6, true) !== HEADER_SIZE) fail('header', 'header size is not 212');
  const total = v.getUint32(8, true);
  if (total < HEADER_SIZE + 4 || total > Math.min(MAX_SIZE, page.length) || total % 4 !== 0)
    fail('length', `impossible total length ${total}`);
  const stored = v.getUint32(total - 4, true);
  const computed = crc32(page.subarray(0, total - 4));
  if (stored !== computed) fail('crc', 'CRC mismatch (corrupt or half-written page)');
  const flags = v.getUint32(12, true);
  const certOffset = v.getUint32(16, true);
  const certLength = v.getUint32(20, true);
  const caOffset = v.getUint32(24, true);
  const caLength = v.getUint32(28, true);
  if (certOffset !== HEADER_SIZE || certLength === 0) fail('layout', 'MCU certificate misplaced');
  const certEnd = certOffset + pad4(certLength);
  const hasCa = (flags & FLAG_CA_CERT) !== 0;
  if (hasCa) {
    if (caOffset !== certEnd || caLength === 0) fail('layout', 'CA certificate misplaced');
    if (caOffset + pad4(caLength) !== total - 4) fail('layout', 'CA certificate overruns');
  } else if (caOffset !== 0 || caLength !== 0 || certEnd !== total - 4)
    fail('layout', 'certificate offsets do not follow the layout');
  const idField = page.subarray(32, 64);
  const nul = idField.indexOf(0);
  if (nul < 0) fail('device-id', 'device ID is not NUL-terminated');
  const deviceId = new TextDecoder().decode(idField.subarray(0, nul));
  const mcuUid = Buffer.from(page.subarray(64, 76)).toString('hex');
  if (mcuUid !== chipUid.toLowerCase())
    fail('uid', `blob is for chip ${mcuUid}, this chip is ${chipUid.toLowerCase()}`);
  const serverPublicKey = page.slice(144, 209);
  if (serverPublicKey[0] !== 4) fail('server-key', 'server key is not an uncompressed point');
  return {
    deviceId,
    mcuUid,
    mcuPrivateKey: page.slice(80, 112),
    modemCertSha256: page.slice(112, 144),
    serverPublicKey,
    mcuCertificateDer: page.slice(certOffset, certOffset + certLength),
    serverCaCertificateDer: hasCa ? page.slice(caOffset, caOffset + caLength) : null,
  };
}
