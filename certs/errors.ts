/**
 * Typed failures of the PKI core. Every error says what was being done and on which object
 * (role, serial, file role); none ever carries key material or a passphrase.
 */
export class PkiError extends Error {
  override name = 'PkiError';
  /** Stable machine-readable code for the CLI's `--json` output and the UI. */
  readonly code: string = 'PKI_ERROR';
}

/** DER/PEM input that does not parse as the structure it claims to be. */
export class MalformedInputError extends PkiError {
  override name = 'MalformedInputError';
  override readonly code = 'MALFORMED_INPUT';
  constructor(
    readonly what: string,
    reason: string,
  ) {
    super(`malformed ${what}: ${reason}`);
  }
}

/** An encrypted private key whose passphrase is wrong (or whose ciphertext is corrupt). */
export class WrongPassphraseError extends PkiError {
  override name = 'WrongPassphraseError';
  override readonly code = 'WRONG_PASSPHRASE';
  constructor(readonly keyName: string) {
    super(`wrong passphrase for ${keyName} (or the encrypted key is corrupt)`);
  }
}

/** A key or algorithm keyline does not support (only P-256 ECDSA and Ed25519 are). */
export class UnsupportedKeyError extends PkiError {
  override name = 'UnsupportedKeyError';
  override readonly code = 'UNSUPPORTED_KEY';
  constructor(
    readonly what: string,
    reason: string,
  ) {
    super(`unsupported ${what}: ${reason}`);
  }
}

/** A certificate signing request that is malformed, unsupported or wrongly signed. */
export class CsrError extends PkiError {
  override name = 'CsrError';
  override readonly code = 'BAD_CSR';
  constructor(reason: string) {
    super(`certificate signing request rejected: ${reason}`);
  }
}

/** A customer issuing CA that cannot be imported (not a CA, key mismatch, expired...). */
export class CaImportError extends PkiError {
  override name = 'CaImportError';
  override readonly code = 'CA_IMPORT_REJECTED';
  constructor(readonly reason: string) {
    super(`issuing CA rejected: ${reason}`);
  }
}

/** A device profile that is invalid (validity, salt, organisation). */
export class ProfileError extends PkiError {
  override name = 'ProfileError';
  override readonly code = 'BAD_PROFILE';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`device profile field ${field}: ${reason}`);
  }
}

/** Issuance could not complete (signer/issuer mismatch, signer failure). */
export class IssuanceError extends PkiError {
  override name = 'IssuanceError';
  override readonly code = 'ISSUANCE_FAILED';
  constructor(
    readonly step: string,
    reason: string,
  ) {
    super(`issuance failed at ${step}: ${reason}`);
  }
}

/** Why a chain did not verify; `depth` 0 is the leaf. */
export type ChainFailure =
  | 'no-issuer'
  | 'bad-signature'
  | 'not-yet-valid'
  | 'expired'
  | 'issuer-not-ca'
  | 'issuer-cannot-sign-certs'
  | 'path-length-exceeded'
  | 'unknown-critical-extension'
  | 'unsupported-algorithm'
  | 'untrusted-root';

export class ChainVerificationError extends PkiError {
  override name = 'ChainVerificationError';
  override readonly code = 'CHAIN_INVALID';
  constructor(
    readonly reason: ChainFailure,
    readonly depth: number,
    readonly subject: string,
    detail: string,
  ) {
    super(`certificate chain invalid at depth ${depth} (${subject}): ${reason}: ${detail}`);
  }
}
