import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { Signer, SignatureAlgorithm } from '../../certs/signer.ts';
import { SignerDisposedError } from '../../certs/signer.ts';

/**
 * Station keys inside a PKCS#11 token (an HSM in production, SoftHSM2 in tests). Private
 * keys are generated inside the token as sensitive and never extractable; the station
 * only ever holds handles and asks the token to sign.
 */

// PKCS#11 3.0 EdDSA identifiers (absent from pkcs11js's 2.40 constant table).
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;

const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex'); // OID prime256v1
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex'); // OID id-Ed25519
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type TokenKeyKind = 'p256' | 'ed25519';

export interface Pkcs11Config {
  /** Path of the PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  tokenLabel: string;
}

export class Pkcs11TokenError extends Error {
  override name = 'Pkcs11TokenError';
  constructor(
    readonly code:
      | 'module'
      | 'no-token'
      | 'wrong-pin'
      | 'pin-locked'
      | 'no-key'
      | 'key-mismatch'
      | 'unsupported'
      | 'device',
    message: string,
    readonly pkcs11Code?: number,
  ) {
    super(message);
  }
}

export interface TokenKey {
  label: string;
  kind: TokenKeyKind;
  /** CKA_ID, hex. */
  idHex: string;
  privateHandle: Buffer;
  publicHandle: Buffer;
}

interface LoadedModule {
  lib: pkcs11js.PKCS11;
  refs: number;
  /**
   * Per token (slot ID hex): a keyed hash of the PIN this process logged in with. PKCS#11
   * login state is shared by all sessions of a process, so a second C_Login answers
   * CKR_USER_ALREADY_LOGGED_IN whatever PIN it is given; the PIN is then checked here.
   */
  logins: Map<string, Buffer>;
  pinKey: Buffer;
}
const modules = new Map<string, LoadedModule>();

function acquireModule(path: string): pkcs11js.PKCS11 {
  const existing = modules.get(path);
  if (existing) {
    existing.refs++;
    return existing.lib;
  }
  const lib = new pkcs11js.PKCS11();
  const entry: LoadedModule = { lib, refs: 1, logins: new Map(), pinKey: randomBytes(32) };
  try {
    lib.load(path);
    lib.C_Initialize();
  } catch (e) {
    throw new Pkcs11TokenError(
      'module',
      `cannot load PKCS#11 module ${path}: ${(e as Error).message}`,
    );
  }
  modules.set(path, entry);
  return lib;
}

function releaseModule(path: string): void {
  const m = modules.get(path);
  if (!m) return;
  if (--m.refs > 0) return;
  modules.delete(path);
  try {
    m.lib.C_Finalize();
  } catch {
    // Finalize errors at shutdown leave nothing to recover.
  }
}

function pinDigest(m: LoadedModule, pin: string): Buffer {
  return createHmac('sha256', m.pinKey).update(pin, 'utf8').digest();
}

function rememberLogin(path: string, slot: Buffer, pin: string): void {
  const m = modules.get(path);
  if (m) m.logins.set(slot.toString('hex'), pinDigest(m, pin));
}

/** False unless this process logged in to `slot` with exactly this PIN. */
function sameLoginPin(path: string, slot: Buffer, pin: string): boolean {
  const m = modules.get(path);
  const known = m?.logins.get(slot.toString('hex'));
  return !!m && !!known && timingSafeEqual(known, pinDigest(m, pin));
}

function p11code(e: unknown): number | undefined {
  return typeof (e as { code?: unknown }).code === 'number'
    ? (e as { code: number }).code
    : undefined;
}

/** DER OCTET STRING unwrap (CKA_EC_POINT is wrapped in one by most tokens). */
function unwrapOctetString(v: Buffer): Buffer {
  if (v[0] !== 0x04) return v;
  let len = v[1];
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | v[2 + i];
    off = 2 + n;
  }
  return off + len === v.length ? v.subarray(off) : v;
}

/** Raw r||s (what CKM_ECDSA returns) to the DER SEQUENCE X.509 wants. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0] & 0x80) v = Uint8Array.from([0, ...v]);
    return Uint8Array.from([0x02, v.length, ...v]);
  };
  const r = int(raw.subarray(0, half));
  const s = int(raw.subarray(half));
  return Uint8Array.from([0x30, r.length + s.length, ...r, ...s]);
}

export class Pkcs11Token {
  private session: Buffer | null;

  private constructor(
    private readonly lib: pkcs11js.PKCS11,
    private readonly config: Pkcs11Config,
    private readonly slot: Buffer,
    session: Buffer,
  ) {
    this.session = session;
  }

  /** Opens a read-write session on the token with this label and logs in as user. */
  static open(config: Pkcs11Config, pin: string): Pkcs11Token {
    const lib = acquireModule(config.modulePath);
    let session: Buffer | undefined;
    try {
      const slot = lib
        .C_GetSlotList(true)
        .find((s) => lib.C_GetTokenInfo(s).label.trim() === config.tokenLabel);
      if (!slot)
        throw new Pkcs11TokenError(
          'no-token',
          `no PKCS#11 token labelled "${config.tokenLabel}" in ${config.modulePath}`,
        );
      session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, pin);
        rememberLogin(config.modulePath, slot, pin);
      } catch (e) {
        const code = p11code(e);
        if (code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
          // Another session of this process logged in; the token did not check this PIN.
          if (!sameLoginPin(config.modulePath, slot, pin))
            throw new Pkcs11TokenError(
              'wrong-pin',
              `wrong PIN for token "${config.tokenLabel}"`,
              pkcs11js.CKR_PIN_INCORRECT,
            );
        } else if (code === pkcs11js.CKR_PIN_INCORRECT) {
          throw new Pkcs11TokenError(
            'wrong-pin',
            `wrong PIN for token "${config.tokenLabel}"`,
            code,
          );
        } else if (code === pkcs11js.CKR_PIN_LOCKED) {
          throw new Pkcs11TokenError(
            'pin-locked',
            `token "${config.tokenLabel}" has locked its user PIN`,
            code,
          );
        } else {
          throw new Pkcs11TokenError(
            'device',
            `login to token "${config.tokenLabel}" failed: ${(e as Error).message}`,
            code,
          );
        }
      }
      return new Pkcs11Token(lib, config, slot, session);
    } catch (e) {
      if (session) lib.C_CloseSession(session);
      releaseModule(config.modulePath);
      throw e;
    }
  }

  get label(): string {
    return this.config.tokenLabel;
  }

  private get s(): Buffer {
    if (!this.session)
      throw new Pkcs11TokenError(
        'device',
        `session on token "${this.config.tokenLabel}" is closed`,
      );
    return this.session;
  }

  supportsEd25519(): boolean {
    const mechs = this.lib.C_GetMechanismList(this.slot);
    return mechs.includes(CKM_EDDSA) && mechs.includes(CKM_EC_EDWARDS_KEY_PAIR_GEN);
  }

  /** Generates a key pair inside the token: sensitive, never extractable, persistent. */
  generateKeyPair(kind: TokenKeyKind, label: string): TokenKey {
    if (this.findKey(label))
      throw new Pkcs11TokenError(
        'key-mismatch',
        `token "${this.label}" already holds a key labelled "${label}"`,
      );
    if (kind === 'ed25519' && !this.supportsEd25519()) {
      throw new Pkcs11TokenError('unsupported', `token "${this.label}" does not offer CKM_EDDSA`);
    }
    const id = randomBytes(16);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id },
    ];
    const pub = [
      ...common,
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_EC_PARAMS, value: kind === 'p256' ? P256_PARAMS : ED25519_PARAMS },
    ];
    const priv = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    ];
    const mech = {
      mechanism: kind === 'p256' ? pkcs11js.CKM_EC_KEY_PAIR_GEN : CKM_EC_EDWARDS_KEY_PAIR_GEN,
    };
    const kp = this.lib.C_GenerateKeyPair(this.s, mech, pub, priv);
    return {
      label,
      kind,
      idHex: id.toString('hex'),
      privateHandle: kp.privateKey,
      publicHandle: kp.publicKey,
    };
  }

  private findOne(template: pkcs11js.Template): Buffer | null {
    this.lib.C_FindObjectsInit(this.s, template);
    try {
      const found = this.lib.C_FindObjects(this.s, 2);
      if (found.length > 1)
        throw new Pkcs11TokenError(
          'key-mismatch',
          `more than one object matches on token "${this.label}"`,
        );
      return found[0] ?? null;
    } finally {
      this.lib.C_FindObjectsFinal(this.s);
    }
  }

  /** Finds a key pair by label; null when absent. */
  findKey(label: string): TokenKey | null {
    const privateHandle = this.findOne([
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    if (!privateHandle) return null;
    const [idAttr, typeAttr] = this.lib.C_GetAttributeValue(this.s, privateHandle, [
      { type: pkcs11js.CKA_ID },
      { type: pkcs11js.CKA_KEY_TYPE },
    ]);
    const id = idAttr.value as Buffer;
    // CK_ULONG is 8 bytes on 64-bit Linux; key types are small, the low 4 bytes suffice.
    const keyType = (typeAttr.value as Buffer).readUInt32LE(0);
    const kind: TokenKeyKind | null =
      keyType === pkcs11js.CKK_EC ? 'p256' : keyType === CKK_EC_EDWARDS ? 'ed25519' : null;
    if (!kind)
      throw new Pkcs11TokenError(
        'unsupported',
        `key "${label}" on token "${this.label}" is neither P-256 nor Ed25519`,
      );
    const publicHandle = this.findOne([
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_ID, value: id },
    ]);
    if (!publicHandle)
      throw new Pkcs11TokenError(
        'no-key',
        `key "${label}" on token "${this.label}" has no public half`,
      );
    return { label, kind, idHex: id.toString('hex'), privateHandle, publicHandle };
  }

  /** DER SubjectPublicKeyInfo of a token key. */
  publicKeySpki(key: TokenKey): Uint8Array {
    const [pointAttr] = this.lib.C_GetAttributeValue(this.s, key.publicHandle, [
      { type: pkcs11js.CKA_EC_POINT },
    ]);
    const point = unwrapOctetString(pointAttr.value as Buffer);
    const prefix = key.kind === 'p256' ? P256_SPKI_PREFIX : ED25519_SPKI_PREFIX;
    const expected = key.kind === 'p256' ? 65 : 32;
    if (point.length !== expected)
      throw new Pkcs11TokenError(
        'unsupported',
        `unexpected public point length ${point.length} for ${key.label}`,
      );
    return new Uint8Array(Buffer.concat([prefix, point]));
  }

  /** Signs with a token key. ECDSA hashes with SHA-256 here and returns DER; Ed25519 is raw. */
  sign(key: TokenKey, data: Uint8Array): Uint8Array {
    const input =
      key.kind === 'p256' ? createHash('sha256').update(data).digest() : Buffer.from(data);
    this.lib.C_SignInit(
      this.s,
      { mechanism: key.kind === 'p256' ? pkcs11js.CKM_ECDSA : CKM_EDDSA },
      key.privateHandle,
    );
    const raw = this.lib.C_Sign(this.s, input, Buffer.alloc(key.kind === 'p256' ? 64 : 64));
    return key.kind === 'p256' ? ecdsaRawToDer(raw) : new Uint8Array(raw);
  }

  /** A `Signer` backed by this token key; disposing it does not close the token. */
  signer(key: TokenKey): Signer {
    const algorithm: SignatureAlgorithm = key.kind === 'p256' ? 'ecdsa-p256-sha256' : 'ed25519';
    const spki = this.publicKeySpki(key);
    const location = `pkcs11:token=${this.label};object=${key.label}`;
    let disposed = false;
    return {
      algorithm,
      location,
      publicKeySpki: () => spki.slice(),
      sign: async (data: Uint8Array) => {
        if (disposed) throw new SignerDisposedError(location);
        return this.sign(key, data);
      },
      dispose: () => {
        disposed = true;
      },
    };
  }

  /**
   * Raw attribute access, for proving in tests that the token refuses to reveal a key.
   * Returns the PKCS#11 error code name, or 'returned' if the token handed the value out.
   */
  tryReadPrivateValue(key: TokenKey): string {
    try {
      this.lib.C_GetAttributeValue(this.s, key.privateHandle, [{ type: pkcs11js.CKA_VALUE }]);
      return 'returned';
    } catch (e) {
      return (e as Error).message.split(':')[0];
    }
  }

  /** Tries to wrap (export) a private key under a fresh AES key; returns the error name. */
  tryWrapPrivateKey(key: TokenKey): string {
    const aes = this.lib.C_GenerateKey(this.s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_WRAP, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    ]);
    try {
      this.lib.C_WrapKey(
        this.s,
        { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD },
        aes,
        key.privateHandle,
        Buffer.alloc(4096),
      );
      return 'returned';
    } catch (e) {
      return (e as Error).message.split(':')[0];
    } finally {
      this.lib.C_DestroyObject(this.s, aes);
    }
  }

  /** Deletes both halves of a key pair (undoing a setup that failed half-way). */
  destroyKey(key: TokenKey): void {
    for (const h of [key.privateHandle, key.publicHandle]) {
      try {
        this.lib.C_DestroyObject(this.s, h);
      } catch (e) {
        throw new Pkcs11TokenError(
          'device',
          `cannot delete key "${key.label}" from token "${this.label}": ${(e as Error).message}`,
          p11code(e),
        );
      }
    }
  }

  /** Attribute flags as the token reports them (sensitive, extractable, never-extractable). */
  keyFlags(key: TokenKey): { sensitive: boolean; extractable: boolean; neverExtractable: boolean } {
    const attrs = this.lib.C_GetAttributeValue(this.s, key.privateHandle, [
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
    ]);
    const flag = (i: number) => (attrs[i].value as Buffer)[0] === 1;
    return { sensitive: flag(0), extractable: flag(1), neverExtractable: flag(2) };
  }

  close(): void {
    if (!this.session) return;
    try {
      this.lib.C_CloseSession(this.session);
    } finally {
      this.session = null;
      releaseModule(this.config.modulePath);
    }
  }
}
