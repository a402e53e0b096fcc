import { createPrivateKey, sign as opensslSign, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SignerDisposedError, type SignatureAlgorithm, type Signer } from './signer.ts';
import { encodePkcs8, spkiFromRaw, type PrivateKey } from './keys.ts';

/**
 * A Signer over a key held in memory after the station unlocked its encrypted key file.
 * It takes ownership of `key.secret`.
 *
 * P-256 keys sign through OpenSSL (node:crypto): about 20x faster than JS, and every
 * board needs two signatures on the line's event loop. The scalar is handed to OpenSSL
 * once and `key.secret` is wiped at once; OpenSSL keeps the key in its own heap and
 * clears it when the key object is collected after dispose(). OpenSSL's ECDSA nonces are
 * hedged (derived from the key, the digest and fresh randomness), so a weak RNG alone
 * cannot leak the key; signatures are normalised to low S. Ed25519 (ledger) stays on noble
 * and is deterministic by definition; its seed is wiped on dispose().
 */
class InMemorySigner implements Signer {
  readonly algorithm: SignatureAlgorithm;
  private readonly spki: Uint8Array;
  private secret: Uint8Array | null = null;
  private p256Key: KeyObject | null = null;
  private disposed = false;

  constructor(
    key: PrivateKey,
    readonly location: string,
  ) {
    this.algorithm = key.algorithm === 'p256' ? 'ecdsa-p256-sha256' : 'ed25519';
    this.spki = spkiFromRaw(key.algorithm, key.publicKey);
    if (key.algorithm === 'ed25519') {
      this.secret = key.secret;
      return;
    }
    const pkcs8 = encodePkcs8(key);
    try {
      this.p256Key = createPrivateKey({
        key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength),
        format: 'der',
        type: 'pkcs8',
      });
    } finally {
      pkcs8.fill(0);
      key.secret.fill(0);
    }
  }

  publicKeySpki(): Uint8Array {
    return this.spki.slice();
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.disposed) throw new SignerDisposedError(this.location);
    if (this.secret) return ed25519.sign(data, this.secret);
    if (!this.p256Key) throw new SignerDisposedError(this.location);
    // X.509 wants DER: SEQUENCE { r, s }.
    const der = opensslSign('sha256', data, { key: this.p256Key, dsaEncoding: 'der' });
    const sig = p256.Signature.fromBytes(der, 'der');
    if (!sig.hasHighS()) return new Uint8Array(der);
    return new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s).toBytes('der');
  }

  dispose(): void {
    this.disposed = true;
    this.secret?.fill(0);
    this.secret = null;
    this.p256Key = null;
  }
}

/**
 * Wraps an unlocked private key (P-256 → 'ecdsa-p256-sha256', Ed25519 → 'ed25519') as a
 * Signer. `location` is what the station records, e.g. "file:issuing-ca.key.pem".
 */
export function createFileSigner(key: PrivateKey, location: string): Signer {
  return new InMemorySigner(key, location);
}
