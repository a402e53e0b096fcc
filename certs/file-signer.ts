import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SignerDisposedError, type SignatureAlgorithm, type Signer } from './signer.ts';
import { spkiFromRaw, type PrivateKey } from './keys.ts';

/**
 * A Signer over a key held in memory after the station unlocked its encrypted key file.
 * It takes ownership of `key.secret` and wipes it on dispose().
 */
class InMemorySigner implements Signer {
  readonly algorithm: SignatureAlgorithm;
  private readonly spki: Uint8Array;
  private secret: Uint8Array | null;

  constructor(
    key: PrivateKey,
    readonly location: string,
  ) {
    this.algorithm = key.algorithm === 'p256' ? 'ecdsa-p256-sha256' : 'ed25519';
    this.spki = spkiFromRaw(key.algorithm, key.publicKey);
    this.secret = key.secret;
  }

  publicKeySpki(): Uint8Array {
    return this.spki.slice();
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const secret = this.secret;
    if (!secret) throw new SignerDisposedError(this.location);
    if (this.algorithm === 'ed25519') return ed25519.sign(data, secret);
    // X.509 wants DER; noble hashes with SHA-256 itself (prehash) and RFC 6979 nonces.
    return p256.sign(data, secret, { prehash: true, format: 'der', lowS: true });
  }

  dispose(): void {
    this.secret?.fill(0);
    this.secret = null;
  }
}

/**
 * Wraps an unlocked private key (P-256 → 'ecdsa-p256-sha256', Ed25519 → 'ed25519') as a
 * Signer. `location` is what the station records, e.g. "file:issuing-ca.key.pem".
 */
export function createFileSigner(key: PrivateKey, location: string): Signer {
  return new InMemorySigner(key, location);
}
