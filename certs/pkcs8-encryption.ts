import * as asn1js from 'asn1js';
import { derTlv, parseDer, pemDecodeAll, pemEncode, toArrayBuffer } from './der.ts';
import { MalformedInputError, UnsupportedKeyError, WrongPassphraseError } from './errors.ts';
import { decodePkcs8, encodePkcs8, type PrivateKey } from './keys.ts';
import { OID } from './oids.ts';

/**
 * Keys at rest: PKCS#8 EncryptedPrivateKeyInfo with PBES2 = PBKDF2-HMAC-SHA256 +
 * AES-256-CBC (RFC 8018), the format `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, so
 * station keys and customer keys share one format and openssl can read either. Crypto runs
 * in Node's WebCrypto (globalThis.crypto.subtle); nothing here touches files.
 */

/** Default PBKDF2 work factor for keys keyline writes (OWASP 2023 figure for HMAC-SHA256). */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;

const PRF_HASH: Record<string, string> = {
  '1.2.840.113549.2.7': 'SHA-1',
  [OID.hmacWithSha256]: 'SHA-256',
  '1.2.840.113549.2.10': 'SHA-384',
  '1.2.840.113549.2.11': 'SHA-512',
};
const AES_CBC_KEY_BITS: Record<string, number> = {
  '2.16.840.1.101.3.4.1.2': 128,
  '2.16.840.1.101.3.4.1.22': 192,
  [OID.aes256Cbc]: 256,
};

function derOid(oid: string): Uint8Array {
  return new Uint8Array(new asn1js.ObjectIdentifier({ value: oid }).toBER(false));
}

function derUint(n: number): Uint8Array {
  return new Uint8Array(new asn1js.Integer({ value: n }).toBER(false));
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

async function deriveAesKey(
  passphrase: string,
  salt: Uint8Array,
  iterations: number,
  hash: string,
  keyBits: number,
  usage: 'encrypt' | 'decrypt',
): Promise<CryptoKey> {
  const pass = new TextEncoder().encode(passphrase);
  let bits: ArrayBuffer | undefined;
  try {
    const base = await subtle().importKey('raw', pass, 'PBKDF2', false, ['deriveBits']);
    bits = await subtle().deriveBits(
      { name: 'PBKDF2', salt: toArrayBuffer(salt), iterations, hash },
      base,
      keyBits,
    );
    return await subtle().importKey('raw', bits, 'AES-CBC', false, [usage]);
  } finally {
    pass.fill(0);
    if (bits) new Uint8Array(bits).fill(0);
  }
}

export interface EncryptOptions {
  /** PBKDF2 iterations (default DEFAULT_PBKDF2_ITERATIONS; tests use fewer). */
  iterations?: number;
}

/** Encrypts a PKCS#8 PrivateKeyInfo; returns EncryptedPrivateKeyInfo DER. */
export async function encryptPkcs8(
  pkcs8: Uint8Array,
  passphrase: string,
  opts: EncryptOptions = {},
): Promise<Uint8Array> {
  if (passphrase.length === 0) throw new MalformedInputError('passphrase', 'must not be empty');
  const iterations = opts.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const key = await deriveAesKey(passphrase, salt, iterations, 'SHA-256', 256, 'encrypt');
  const scratch = toArrayBuffer(pkcs8);
  let ciphertext: Uint8Array;
  try {
    ciphertext = new Uint8Array(
      await subtle().encrypt({ name: 'AES-CBC', iv: toArrayBuffer(iv) }, key, scratch),
    );
  } finally {
    new Uint8Array(scratch).fill(0);
  }
  const pbkdf2Params = derTlv(
    0x30,
    derTlv(0x04, salt),
    derUint(iterations),
    derTlv(0x30, derOid(OID.hmacWithSha256), new Uint8Array([0x05, 0x00])),
  );
  const pbes2Params = derTlv(
    0x30,
    derTlv(0x30, derOid(OID.pbkdf2), pbkdf2Params),
    derTlv(0x30, derOid(OID.aes256Cbc), derTlv(0x04, iv)),
  );
  return derTlv(0x30, derTlv(0x30, derOid(OID.pbes2), pbes2Params), derTlv(0x04, ciphertext));
}

interface Pbes2Params {
  salt: Uint8Array;
  iterations: number;
  hash: string;
  keyBits: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function oidAt(seq: asn1js.AsnType | undefined, i: number): string | undefined {
  const n = seq instanceof asn1js.Sequence ? seq.valueBlock.value[i] : undefined;
  return n instanceof asn1js.ObjectIdentifier ? n.valueBlock.toString() : undefined;
}

function child(seq: asn1js.AsnType | undefined, i: number): asn1js.AsnType | undefined {
  return seq instanceof asn1js.Sequence ? seq.valueBlock.value[i] : undefined;
}

function parseEncryptedPkcs8(der: Uint8Array, keyName: string): Pbes2Params {
  const what = `encrypted private key ${keyName}`;
  const root = parseDer(der, what);
  const alg = child(root, 0);
  const data = child(root, 1);
  if (!(data instanceof asn1js.OctetString))
    throw new MalformedInputError(what, 'not a PKCS#8 EncryptedPrivateKeyInfo');
  const scheme = oidAt(alg, 0);
  if (scheme !== OID.pbes2)
    throw new UnsupportedKeyError(
      what,
      `encryption scheme ${scheme ?? '(none)'}; only PBES2 (re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc)`,
    );
  const params = child(alg, 1);
  const kdf = child(params, 0);
  const enc = child(params, 1);
  if (oidAt(kdf, 0) !== OID.pbkdf2)
    throw new UnsupportedKeyError(what, `key derivation ${oidAt(kdf, 0) ?? '(none)'}; only PBKDF2`);
  const kdfParams = child(kdf, 1);
  const salt = child(kdfParams, 0);
  const iter = child(kdfParams, 1);
  if (!(salt instanceof asn1js.OctetString) || !(iter instanceof asn1js.Integer))
    throw new MalformedInputError(what, 'PBKDF2 parameters');
  // Optional keyLength INTEGER, then optional PRF (default HMAC-SHA1).
  let prfNode = child(kdfParams, 2);
  if (prfNode instanceof asn1js.Integer) prfNode = child(kdfParams, 3);
  const prfOid = prfNode ? oidAt(prfNode, 0) : '1.2.840.113549.2.7';
  const hash = prfOid ? PRF_HASH[prfOid] : undefined;
  if (!hash) throw new UnsupportedKeyError(what, `PBKDF2 PRF ${prfOid ?? '(none)'}`);
  const encOid = oidAt(enc, 0);
  const keyBits = encOid ? AES_CBC_KEY_BITS[encOid] : undefined;
  const iv = child(enc, 1);
  if (!keyBits || !(iv instanceof asn1js.OctetString))
    throw new UnsupportedKeyError(what, `cipher ${encOid ?? '(none)'}; only AES-CBC`);
  const iterations = iter.valueBlock.valueDec;
  if (!(iterations >= 1 && iterations <= 10_000_000))
    throw new MalformedInputError(what, `PBKDF2 iteration count ${iterations}`);
  return {
    salt: new Uint8Array(salt.valueBlock.valueHexView),
    iterations,
    hash,
    keyBits,
    iv: new Uint8Array(iv.valueBlock.valueHexView),
    ciphertext: new Uint8Array(data.valueBlock.valueHexView),
  };
}

/**
 * Decrypts an EncryptedPrivateKeyInfo to a private key. A wrong passphrase (bad padding or
 * plaintext that is not a PKCS#8 key) throws WrongPassphraseError naming `keyName`.
 */
export async function decryptPkcs8(
  encrypted: Uint8Array,
  passphrase: string,
  keyName: string,
): Promise<PrivateKey> {
  const p = parseEncryptedPkcs8(encrypted, keyName);
  const key = await deriveAesKey(passphrase, p.salt, p.iterations, p.hash, p.keyBits, 'decrypt');
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await subtle().decrypt(
        { name: 'AES-CBC', iv: toArrayBuffer(p.iv) },
        key,
        toArrayBuffer(p.ciphertext),
      ),
    );
  } catch {
    throw new WrongPassphraseError(keyName);
  }
  try {
    return decodePkcs8(plain, keyName);
  } catch (e) {
    // CBC padding passes by chance about once in 256 wrong guesses; the plaintext then fails
    // to parse. Unsupported-but-well-formed keys keep their own error.
    if (e instanceof MalformedInputError) throw new WrongPassphraseError(keyName);
    throw e;
  } finally {
    plain.fill(0);
  }
}

/** Encrypts a private key to an "ENCRYPTED PRIVATE KEY" PEM. */
export async function encryptPrivateKeyPem(
  key: PrivateKey,
  passphrase: string,
  opts: EncryptOptions = {},
): Promise<string> {
  const pkcs8 = encodePkcs8(key);
  try {
    return pemEncode('ENCRYPTED PRIVATE KEY', await encryptPkcs8(pkcs8, passphrase, opts));
  } finally {
    pkcs8.fill(0);
  }
}

/** Decrypts an "ENCRYPTED PRIVATE KEY" PEM; any other key PEM is refused with a hint. */
export async function decryptPrivateKeyPem(
  pem: string,
  passphrase: string,
  keyName: string,
): Promise<PrivateKey> {
  const blocks = pemDecodeAll(pem);
  const enc = blocks.find((b) => b.label === 'ENCRYPTED PRIVATE KEY');
  if (!enc) {
    const found = blocks.map((b) => b.label).join(', ') || 'no PEM block';
    throw new MalformedInputError(
      keyName,
      `expected an encrypted PKCS#8 key (BEGIN ENCRYPTED PRIVATE KEY), found ${found}; ` +
        'convert with openssl pkcs8 -topk8 -v2 aes-256-cbc',
    );
  }
  return decryptPkcs8(enc.der, passphrase, keyName);
}
