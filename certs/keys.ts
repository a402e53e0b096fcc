import { createECDH } from 'node:crypto';
import * as asn1js from 'asn1js';
import { p256, p384 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  bytesEqual,
  concatBytes,
  derTlv,
  fromHex,
  parseDer,
  parseDerBuffer,
  toArrayBuffer,
} from './der.ts';
import { MalformedInputError, UnsupportedKeyError } from './errors.ts';
import { OID } from './oids.ts';

/**
 * Key encodings (SPKI, PKCS#8) for the two key types keyline holds: ECDSA P-256 (CA and
 * device keys) and Ed25519 (ledger). Secrets come from the OS CSPRNG through @noble/curves;
 * the P-256 public point is computed by OpenSSL.
 */

export type KeyAlgorithm = 'p256' | 'ed25519';
/** Public key algorithms keyline can verify (a customer root may be P-384). */
export type PublicKeyAlgorithm = KeyAlgorithm | 'p384';

export interface PublicKeyInfo {
  algorithm: PublicKeyAlgorithm;
  /** Raw key: uncompressed SEC1 point (65/97 bytes) for ECDSA, 32 bytes for Ed25519. */
  raw: Uint8Array;
}

/** A private key in memory. The caller owns `secret` and zeroizes it (`secret.fill(0)`). */
export interface PrivateKey {
  algorithm: KeyAlgorithm;
  /** P-256: the 32-byte scalar; Ed25519: the 32-byte seed. */
  secret: Uint8Array;
  /** Raw public key (65-byte uncompressed point, or 32 bytes). */
  publicKey: Uint8Array;
}

const P256_SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');
const ED25519_SPKI_PREFIX = fromHex('302a300506032b6570032100');
const ED25519_PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const P256_ALGORITHM_ID = fromHex('301306072a8648ce3d020106082a8648ce3d030107');

/**
 * The uncompressed public point of a P-256 scalar, computed by OpenSSL (about 15x faster
 * than the same multiplication in JS: two device keys per board, on the line's event loop).
 * OpenSSL holds a copy of the scalar in a BIGNUM that it clears when the ECDH object is
 * collected.
 */
function p256PublicKey(secret: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(secret);
  return new Uint8Array(ecdh.getPublicKey());
}

export function generateP256(): PrivateKey {
  const secret = p256.utils.randomSecretKey();
  return { algorithm: 'p256', secret, publicKey: p256PublicKey(secret) };
}

export function generateEd25519(): PrivateKey {
  const secret = ed25519.utils.randomSecretKey();
  return { algorithm: 'ed25519', secret, publicKey: ed25519.getPublicKey(secret) };
}

export function spkiFromRaw(algorithm: KeyAlgorithm, raw: Uint8Array): Uint8Array {
  return concatBytes(algorithm === 'p256' ? P256_SPKI_PREFIX : ED25519_SPKI_PREFIX, raw);
}

/**
 * PKCS#8 PrivateKeyInfo as openssl writes it. The returned buffer holds the secret: the
 * caller zeroizes it after use.
 */
export function encodePkcs8(key: PrivateKey): Uint8Array {
  if (key.algorithm === 'ed25519') return concatBytes(ED25519_PKCS8_PREFIX, key.secret);
  // RFC 5915 ECPrivateKey with the public key; curve named once, in the outer AlgorithmIdentifier.
  const ecPrivateKey = derTlv(
    0x30,
    fromHex('020101'),
    derTlv(0x04, key.secret),
    derTlv(0xa1, derTlv(0x03, new Uint8Array([0]), key.publicKey)),
  );
  const out = derTlv(0x30, fromHex('020100'), P256_ALGORITHM_ID, derTlv(0x04, ecPrivateKey));
  ecPrivateKey.fill(0);
  return out;
}

function oidOf(node: asn1js.AsnType | undefined): string | undefined {
  return node instanceof asn1js.ObjectIdentifier ? node.valueBlock.toString() : undefined;
}

/** Parses a DER SubjectPublicKeyInfo into algorithm + raw key. */
export function parseSpki(der: Uint8Array): PublicKeyInfo {
  const root = parseDer(der, 'SubjectPublicKeyInfo');
  if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length !== 2)
    throw new MalformedInputError('SubjectPublicKeyInfo', 'not a SEQUENCE of 2');
  const [alg, bits] = root.valueBlock.value;
  if (!(alg instanceof asn1js.Sequence) || !(bits instanceof asn1js.BitString))
    throw new MalformedInputError('SubjectPublicKeyInfo', 'unexpected structure');
  const algOid = oidOf(alg.valueBlock.value[0]);
  const raw = new Uint8Array(bits.valueBlock.valueHexView);
  if (algOid === OID.ed25519) {
    if (raw.length !== 32) throw new MalformedInputError('Ed25519 public key', 'not 32 bytes');
    return { algorithm: 'ed25519', raw };
  }
  if (algOid === OID.ecPublicKey) {
    const curve = oidOf(alg.valueBlock.value[1]);
    if (curve === OID.prime256v1) {
      p256.Point.fromBytes(raw); // throws if not on the curve
      return {
        algorithm: 'p256',
        raw: raw.length === 65 ? raw : p256.Point.fromBytes(raw).toBytes(false),
      };
    }
    if (curve === OID.secp384r1) {
      p384.Point.fromBytes(raw);
      return {
        algorithm: 'p384',
        raw: raw.length === 97 ? raw : p384.Point.fromBytes(raw).toBytes(false),
      };
    }
    throw new UnsupportedKeyError('EC curve', `OID ${curve ?? '(none)'}; only P-256 and P-384`);
  }
  throw new UnsupportedKeyError('public key algorithm', `OID ${algOid ?? '(none)'}`);
}

/**
 * Parses an unencrypted PKCS#8 PrivateKeyInfo (P-256 or Ed25519). The returned secret is a
 * fresh copy the caller must zeroize; the input is left untouched.
 */
export function decodePkcs8(der: Uint8Array, what = 'private key'): PrivateKey {
  const scratch = toArrayBuffer(der);
  try {
    return decodePkcs8In(scratch, what);
  } finally {
    new Uint8Array(scratch).fill(0);
  }
}

function decodePkcs8In(scratch: ArrayBuffer, what: string): PrivateKey {
  const root = parseDerBuffer(scratch, what);
  if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length < 3)
    throw new MalformedInputError(what, 'not a PKCS#8 PrivateKeyInfo');
  const [, alg, octets] = root.valueBlock.value;
  if (!(alg instanceof asn1js.Sequence) || !(octets instanceof asn1js.OctetString))
    throw new MalformedInputError(what, 'not a PKCS#8 PrivateKeyInfo');
  const algOid = oidOf(alg.valueBlock.value[0]);
  const inner = new Uint8Array(octets.valueBlock.valueHexView);
  try {
    if (algOid === OID.ed25519) {
      const seedNode = parseDer(inner, `${what} (Ed25519 seed)`);
      if (
        !(seedNode instanceof asn1js.OctetString) ||
        seedNode.valueBlock.valueHexView.length !== 32
      )
        throw new MalformedInputError(what, 'Ed25519 seed is not 32 bytes');
      const secret = new Uint8Array(seedNode.valueBlock.valueHexView);
      return { algorithm: 'ed25519', secret, publicKey: ed25519.getPublicKey(secret) };
    }
    if (algOid === OID.ecPublicKey) {
      const curve = oidOf(alg.valueBlock.value[1]);
      if (curve !== OID.prime256v1)
        throw new UnsupportedKeyError(
          'private key',
          `EC curve ${curve ?? '(none)'}; only P-256 keys can sign`,
        );
      const ec = parseDer(inner, `${what} (ECPrivateKey)`);
      const d = ec instanceof asn1js.Sequence ? ec.valueBlock.value[1] : undefined;
      if (!(d instanceof asn1js.OctetString))
        throw new MalformedInputError(what, 'ECPrivateKey has no private scalar');
      const dv = d.valueBlock.valueHexView;
      // Some encoders drop leading zero bytes of the scalar; pad back to 32.
      if (dv.length > 32) throw new MalformedInputError(what, 'P-256 scalar longer than 32 bytes');
      const secret = new Uint8Array(32);
      secret.set(dv, 32 - dv.length);
      let publicKey: Uint8Array;
      try {
        publicKey = p256.getPublicKey(secret, false);
      } catch {
        secret.fill(0);
        throw new MalformedInputError(what, 'P-256 scalar out of range');
      }
      return { algorithm: 'p256', secret, publicKey };
    }
    throw new UnsupportedKeyError('private key algorithm', `OID ${algOid ?? '(none)'}`);
  } finally {
    inner.fill(0);
  }
}

/** True when the private key's public half equals the given SPKI. */
export function keyMatchesSpki(key: PrivateKey, spkiDer: Uint8Array): boolean {
  const pub = parseSpki(spkiDer);
  return pub.algorithm === key.algorithm && bytesEqual(pub.raw, key.publicKey);
}

/** Wipes a private key's secret (see docs/pki.md for what zeroizing in JS can and cannot do). */
export function zeroizeKey(key: PrivateKey): void {
  key.secret.fill(0);
}
