import * as asn1js from 'asn1js';
import { sha256 } from '@noble/hashes/sha2.js';
import { MalformedInputError } from './errors.ts';

/** Small DER/PEM helpers shared by the PKI modules. Pure: no I/O. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex))
    throw new MalformedInputError('hex string', 'odd length or non-hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** A copy as a plain ArrayBuffer (asn1js and WebCrypto want those). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const ab = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(ab).set(bytes);
  return ab;
}

/** One DER TLV with a one-byte tag; used to assemble signed objects around exact TBS bytes. */
export function derTlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  const len = body.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else if (len < 0x100) header = [tag, 0x81, len];
  else if (len < 0x10000) header = [tag, 0x82, len >> 8, len & 0xff];
  else if (len < 0x1000000) header = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  else throw new MalformedInputError('DER element', 'longer than 16 MiB');
  return concatBytes(new Uint8Array(header), body);
}

/**
 * Certificate / CRL / CSR = SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }.
 * The TBS bytes go in untouched, so the signature stays over exactly what was planned.
 */
export function assembleSigned(
  tbsDer: Uint8Array,
  algorithmIdentifierDer: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  const bitString = derTlv(0x03, new Uint8Array([0]), signature);
  return derTlv(0x30, tbsDer, algorithmIdentifierDer, bitString);
}

/**
 * Parses exactly one DER element. asn1js ignores trailing bytes and reports errors in a field
 * rather than throwing; both are checked here.
 */
export function parseDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  return parseDerBuffer(toArrayBuffer(bytes), what);
}

/**
 * As parseDer, over a buffer the caller owns (and may wipe afterwards: the parsed values
 * view into it where asn1js does not copy).
 */
export function parseDerBuffer(buffer: ArrayBuffer, what: string): asn1js.AsnType {
  if (buffer.byteLength === 0) throw new MalformedInputError(what, 'empty input');
  const res = asn1js.fromBER(buffer);
  if (res.offset === -1 || res.result.error)
    throw new MalformedInputError(what, res.result.error || 'not valid BER/DER');
  if (res.offset !== buffer.byteLength)
    throw new MalformedInputError(
      what,
      `${buffer.byteLength - res.offset} trailing bytes after DER`,
    );
  return res.result;
}

/** Encodes an asn1js value to DER bytes. */
export function encodeDer(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array {
  return new Uint8Array(value.toBER(false));
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** PEM with LF line endings and 64-column base64, as openssl writes it. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block in `text`, in order (CRLF tolerated). */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2].replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body))
      throw new MalformedInputError(
        `PEM ${m[1]}`,
        'body is not base64 (headers are not supported)',
      );
    out.push({ label: m[1], der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return out;
}

/** The single PEM block with one of `labels`; errors say what was found instead. */
export function pemDecodeOne(text: string, labels: readonly string[], what: string): PemBlock {
  const blocks = pemDecodeAll(text).filter((b) => labels.includes(b.label));
  if (blocks.length === 0)
    throw new MalformedInputError(what, `no PEM block labelled ${labels.join(' or ')}`);
  return blocks[0];
}

/** Accepts DER bytes or PEM text for a certificate-like object. */
export function derFromInput(
  input: Uint8Array | string,
  labels: readonly string[],
  what: string,
): Uint8Array {
  if (typeof input === 'string') return pemDecodeOne(input, labels, what).der;
  if (input.length > 0 && input[0] === 0x2d /* '-' */) {
    return pemDecodeOne(Buffer.from(input).toString('utf8'), labels, what).der;
  }
  return input;
}
