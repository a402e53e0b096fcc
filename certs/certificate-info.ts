import * as asn1js from 'asn1js';
import { pkijs } from './pkijs-engine.ts';
import { derFromInput, encodeDer, parseDer, sha256Hex, toHex } from './der.ts';
import { MalformedInputError } from './errors.ts';
import { parseSpki, type PublicKeyInfo } from './keys.ts';
import { OID } from './oids.ts';
import { hardwareIdsFromSanUris, type SanIds } from './san.ts';
import { KEY_USAGE_BITS, type KeyUsageBit } from './x509-build.ts';
import type { HardwareIds } from './hardware-ids.ts';

/** Which of a board's two certificates this is (subject OU). */
export type DeviceRole = 'modem' | 'mcu';

/**
 * What the server, the ledger view and the pipeline need to know about a certificate,
 * read from its DER. Dates are Date objects; binary values are lowercase hex.
 */
export interface CertificateDescription {
  /** RFC 4514 string, most specific first: "CN=kl1-…,OU=modem,O=Acme". */
  subject: string;
  issuer: string;
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  /** Unsigned serial, lowercase hex without a sign byte (what ledger records hold). */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 over the whole certificate DER. */
  fingerprintSha256Hex: string;
  sanUris: string[];
  /** Hardware IDs bound in the SAN (plain mode) and ID hashes (hashed mode). */
  hardwareIds: Partial<HardwareIds>;
  hardwareIdHashes: SanIds['hashes'];
  /** 'modem' / 'mcu' for keyline device certificates (from the OU). */
  role?: DeviceRole;
  isCa: boolean;
  pathLenConstraint?: number;
  /** undefined when the certificate has no keyUsage extension. */
  keyUsage?: KeyUsageBit[];
  extendedKeyUsage: string[];
  publicKey: PublicKeyInfo;
  subjectKeyIdentifierHex?: string;
  authorityKeyIdentifierHex?: string;
  signatureAlgorithmOid: string;
  selfIssued: boolean;
}

/** A parsed certificate with the raw pieces chain verification needs. */
export interface ParsedCertificate extends CertificateDescription {
  der: Uint8Array;
  tbsDer: Uint8Array;
  signature: Uint8Array;
  subjectNameDer: Uint8Array;
  issuerNameDer: Uint8Array;
  spkiDer: Uint8Array;
  /** OIDs of extensions marked critical. */
  criticalExtensions: string[];
}

const ATTR_SHORT: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.5': 'serialNumber',
};

function escapeRdnValue(v: string): string {
  return v.replace(/([,+"\\<>;])/g, '\\$1').replace(/^([ #])/, '\\$1');
}

function readName(name: pkijs.RelativeDistinguishedNames): {
  text: string;
  attrs: Map<string, string>;
  der: Uint8Array;
} {
  const attrs = new Map<string, string>();
  const parts: string[] = [];
  for (const tv of name.typesAndValues) {
    const value = String((tv.value as { valueBlock: { value: unknown } }).valueBlock.value ?? '');
    if (!attrs.has(tv.type)) attrs.set(tv.type, value);
    parts.push(`${ATTR_SHORT[tv.type] ?? tv.type}=${escapeRdnValue(value)}`);
  }
  return { text: parts.reverse().join(','), attrs, der: new Uint8Array(name.valueBeforeDecode) };
}

function seqItems(node: asn1js.AsnType, what: string): asn1js.AsnType[] {
  if (!(node instanceof asn1js.Sequence)) throw new MalformedInputError(what, 'not a SEQUENCE');
  return node.valueBlock.value;
}

function parseKeyUsage(value: Uint8Array): KeyUsageBit[] {
  const bits = parseDer(value, 'keyUsage extension');
  if (!(bits instanceof asn1js.BitString))
    throw new MalformedInputError('keyUsage extension', 'not a BIT STRING');
  const bytes = bits.valueBlock.valueHexView;
  return KEY_USAGE_BITS.filter((_, i) => (bytes[i >> 3] ?? 0) & (0x80 >> (i & 7)));
}

/** Parses a certificate (DER bytes or PEM text) into a ParsedCertificate. */
export function parseCertificate(input: Uint8Array | string): ParsedCertificate {
  const der = derFromInput(input, ['CERTIFICATE'], 'certificate');
  const schema = parseDer(der, 'certificate');
  let cert: pkijs.Certificate;
  try {
    cert = new pkijs.Certificate({ schema });
  } catch (e) {
    throw new MalformedInputError('certificate', (e as Error).message);
  }
  const subject = readName(cert.subject);
  const issuer = readName(cert.issuer);
  const spkiDer = encodeDer(cert.subjectPublicKeyInfo.toSchema());
  const serialBytes = cert.serialNumber.valueBlock.valueHexView;
  let s = 0;
  while (s < serialBytes.length - 1 && serialBytes[s] === 0) s++;

  const out: ParsedCertificate = {
    subject: subject.text,
    issuer: issuer.text,
    commonName: subject.attrs.get(OID.commonName),
    organization: subject.attrs.get(OID.organizationName),
    organizationalUnit: subject.attrs.get(OID.organizationalUnitName),
    serialHex: toHex(serialBytes.subarray(s)),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    fingerprintSha256Hex: sha256Hex(der),
    sanUris: [],
    hardwareIds: {},
    hardwareIdHashes: {},
    isCa: false,
    extendedKeyUsage: [],
    publicKey: parseSpki(spkiDer),
    signatureAlgorithmOid: cert.signatureAlgorithm.algorithmId,
    selfIssued: false,
    der,
    tbsDer: new Uint8Array(cert.tbsView),
    signature: new Uint8Array(cert.signatureValue.valueBlock.valueHexView),
    subjectNameDer: subject.der,
    issuerNameDer: issuer.der,
    spkiDer,
    criticalExtensions: [],
  };
  out.selfIssued = toHex(out.subjectNameDer) === toHex(out.issuerNameDer);
  const ou = out.organizationalUnit;
  if (ou === 'modem' || ou === 'mcu') out.role = ou;

  for (const ext of cert.extensions ?? []) {
    const value = new Uint8Array(ext.extnValue.valueBlock.valueHexView);
    if (ext.critical) out.criticalExtensions.push(ext.extnID);
    const what = `extension ${ext.extnID}`;
    switch (ext.extnID) {
      case OID.basicConstraints: {
        const items = seqItems(parseDer(value, what), what);
        let i = 0;
        if (items[i] instanceof asn1js.Boolean)
          out.isCa = (items[i++] as asn1js.Boolean).valueBlock.value;
        if (items[i] instanceof asn1js.Integer)
          out.pathLenConstraint = (items[i] as asn1js.Integer).valueBlock.valueDec;
        break;
      }
      case OID.keyUsage:
        out.keyUsage = parseKeyUsage(value);
        break;
      case OID.extKeyUsage:
        out.extendedKeyUsage = seqItems(parseDer(value, what), what).map((n) =>
          n instanceof asn1js.ObjectIdentifier ? n.valueBlock.toString() : '?',
        );
        break;
      case OID.subjectAltName:
        for (const gn of seqItems(parseDer(value, what), what)) {
          // uniformResourceIdentifier [6] IMPLICIT IA5String
          if (gn.idBlock.tagClass === 3 && gn.idBlock.tagNumber === 6) {
            const bytes = (gn as asn1js.Primitive).valueBlock.valueHexView;
            out.sanUris.push(Buffer.from(bytes).toString('latin1'));
          }
        }
        break;
      case OID.subjectKeyIdentifier: {
        const n = parseDer(value, what);
        if (n instanceof asn1js.OctetString)
          out.subjectKeyIdentifierHex = toHex(n.valueBlock.valueHexView);
        break;
      }
      case OID.authorityKeyIdentifier: {
        const first = seqItems(parseDer(value, what), what)[0];
        if (first && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 0)
          out.authorityKeyIdentifierHex = toHex(
            (first as asn1js.Primitive).valueBlock.valueHexView,
          );
        break;
      }
    }
  }
  const san = hardwareIdsFromSanUris(out.sanUris);
  out.hardwareIds = san.ids;
  out.hardwareIdHashes = san.hashes;
  return out;
}

/**
 * Describes a certificate (DER or PEM): subject, issuer, serial, validity, fingerprint, SAN
 * URIs mapped back to hardware IDs, role, CA flags and key identifiers.
 */
export function describeCertificate(input: Uint8Array | string): CertificateDescription {
  return toDescription(parseCertificate(input));
}

/** Drops the raw DER pieces of a ParsedCertificate. */
export function toDescription(p: ParsedCertificate): CertificateDescription {
  const {
    der: _der,
    tbsDer: _tbs,
    signature: _sig,
    subjectNameDer: _s,
    issuerNameDer: _i,
    spkiDer: _spki,
    criticalExtensions: _c,
    ...description
  } = p;
  return description;
}
