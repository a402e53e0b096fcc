/**
 * A signing key the station uses without knowing where it lives: a passphrase-encrypted
 * file unlocked into memory, or an object inside a PKCS#11 token that never leaves it.
 * Certificates, CRLs and ledger checkpoints are all signed through this interface.
 */
export type SignatureAlgorithm = 'ecdsa-p256-sha256' | 'ed25519';

export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** Where the key lives, for display and the station record ("file", "pkcs11:<token>"). */
  readonly location: string;
  /** DER SubjectPublicKeyInfo of the key. */
  publicKeySpki(): Uint8Array;
  /**
   * Signs `data` (the signer hashes it itself where the algorithm requires).
   * ECDSA signatures are DER-encoded (X.509 form); Ed25519 signatures are the raw 64 bytes.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Drops any key material held in memory. The signer is unusable afterwards. */
  dispose(): void;
}

export class SignerDisposedError extends Error {
  override name = 'SignerDisposedError';
  constructor(location: string) {
    super(`signer ${location} was disposed (station locked)`);
  }
}
