import * as asn1js from 'asn1js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assembleSigned, derTlv, encodeDer, fromHex } from './der.ts';
import { IssuanceError } from './errors.ts';
import { parseSpki } from './keys.ts';
import type { SignatureAlgorithm, Signer } from './signer.ts';

/**
 * DER building blocks for certificates and CRLs: primitives come from asn1js, and the
 * structures are assembled around them byte-exactly, so the TBS that is hashed for the
 * ledger intent is the TBS that is signed.
 */

const SEQ = 0x30;
const SET = 0x31;

export function derOid(oid: string): Uint8Array {
  return encodeDer(new asn1js.ObjectIdentifier({ value: oid }));
}

export function derUtf8(s: string): Uint8Array {
  return encodeDer(new asn1js.Utf8String({ value: s }));
}

export function derSmallInt(n: number): Uint8Array {
  return encodeDer(new asn1js.Integer({ value: n }));
}

/** DER INTEGER from unsigned big-endian magnitude bytes (adds the 0x00 sign byte if needed). */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0] & 0x80 ? derTlv(0x02, new Uint8Array([0]), m) : derTlv(0x02, m);
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv(0x04, bytes);
}

export const DER_TRUE = new Uint8Array([0x01, 0x01, 0xff]);

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function derTime(date: Date): Uint8Array {
  if (Number.isNaN(date.getTime())) throw new IssuanceError('encode time', 'invalid date');
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  const bytes = (s: string) => new TextEncoder().encode(s);
  if (year >= 1950 && year < 2050) return derTlv(0x17, bytes(digits.slice(2)));
  return derTlv(0x18, bytes(digits));
}

/** One attribute of a distinguished name, in order from the root (O, OU, CN). */
export interface NameAttribute {
  oid: string;
  value: string;
}

/** A Name with one attribute per RDN (pkijs would put several in one SET). */
export function encodeName(attrs: readonly NameAttribute[]): Uint8Array {
  return derTlv(
    SEQ,
    ...attrs.map((a) => derTlv(SET, derTlv(SEQ, derOid(a.oid), derUtf8(a.value)))),
  );
}

export function encodeExtension(oid: string, critical: boolean, valueDer: Uint8Array): Uint8Array {
  return critical
    ? derTlv(SEQ, derOid(oid), DER_TRUE, derOctetString(valueDer))
    : derTlv(SEQ, derOid(oid), derOctetString(valueDer));
}

export function basicConstraintsValue(ca: boolean, pathLen?: number): Uint8Array {
  if (!ca) return derTlv(SEQ);
  return pathLen === undefined
    ? derTlv(SEQ, DER_TRUE)
    : derTlv(SEQ, DER_TRUE, derSmallInt(pathLen));
}

export type KeyUsageBit =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';
export const KEY_USAGE_BITS: readonly KeyUsageBit[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
];

/** KeyUsage as a DER named-bit BIT STRING (trailing zero bits dropped). */
export function keyUsageValue(usages: readonly KeyUsageBit[]): Uint8Array {
  let v = 0;
  let highest = 0;
  for (const u of usages) {
    const bit = KEY_USAGE_BITS.indexOf(u);
    v |= 0x80 >> bit;
    highest = Math.max(highest, bit);
  }
  return derTlv(0x03, new Uint8Array([7 - highest, v]));
}

export function extKeyUsageValue(oids: readonly string[]): Uint8Array {
  return derTlv(SEQ, ...oids.map(derOid));
}

export function subjectAltNameUris(uris: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  for (const u of uris)
    if (!/^[\x21-\x7e]+$/.test(u))
      throw new IssuanceError('encode SAN', `URI is not IA5 printable: ${u}`);
  return derTlv(SEQ, ...uris.map((u) => derTlv(0x86, enc.encode(u))));
}

/**
 * Key identifier: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits
 * (RFC 7093 §2 method 1).
 */
export function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  return sha256(parseSpki(spkiDer).raw).subarray(0, 20);
}

export function authorityKeyIdentifierValue(keyId: Uint8Array): Uint8Array {
  return derTlv(SEQ, derTlv(0x80, keyId));
}

const ALGORITHM_IDENTIFIERS: Record<SignatureAlgorithm, Uint8Array> = {
  // ecdsa-with-SHA256 with parameters absent (RFC 5758 §3.2)
  'ecdsa-p256-sha256': fromHex('300a06082a8648ce3d040302'),
  ed25519: fromHex('300506032b6570'),
};

/** The AlgorithmIdentifier DER a signer's signatures carry. */
export function signatureAlgorithmDer(algorithm: SignatureAlgorithm): Uint8Array {
  return ALGORITHM_IDENTIFIERS[algorithm];
}

export interface TbsCertificateFields {
  serial: Uint8Array;
  signatureAlgorithm: SignatureAlgorithm;
  issuerNameDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subjectNameDer: Uint8Array;
  subjectPublicKeySpki: Uint8Array;
  extensions: readonly Uint8Array[];
}

/** TBSCertificate v3 DER. */
export function encodeTbsCertificate(f: TbsCertificateFields): Uint8Array {
  return derTlv(
    SEQ,
    derTlv(0xa0, derSmallInt(2)),
    derUnsignedInteger(f.serial),
    signatureAlgorithmDer(f.signatureAlgorithm),
    f.issuerNameDer,
    derTlv(SEQ, derTime(f.notBefore), derTime(f.notAfter)),
    f.subjectNameDer,
    f.subjectPublicKeySpki,
    derTlv(0xa3, derTlv(SEQ, ...f.extensions)),
  );
}

/**
 * Signs TBS bytes through the signer (wherever its key lives) and assembles the signed
 * object (certificate or CRL) around exactly those bytes.
 */
export async function signTbs(
  tbsDer: Uint8Array,
  signer: Signer,
  step: string,
): Promise<Uint8Array> {
  let signature: Uint8Array;
  try {
    signature = await signer.sign(tbsDer);
  } catch (e) {
    throw new IssuanceError(step, `signer ${signer.location} failed: ${(e as Error).message}`);
  }
  return assembleSigned(tbsDer, signatureAlgorithmDer(signer.algorithm), signature);
}

/** A random positive serial of exactly 16 bytes (128 bits, first byte non-zero). */
export function randomSerial(): Uint8Array {
  const s = new Uint8Array(16);
  do globalThis.crypto.getRandomValues(s);
  while (s[0] === 0);
  return s;
}
