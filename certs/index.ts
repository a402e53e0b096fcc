/**
 * keyline PKI core: pure TypeScript, no I/O. CA setup and import checks, device profiles,
 * two-phase device issuance (plan → ledger intent → sign), CSRs, CRLs, certificate
 * description and chain verification. The station (main/station) does the file I/O.
 */
export * from './hardware-ids.ts';
export { SignerDisposedError, type SignatureAlgorithm, type Signer } from './signer.ts';
export {
  PkiError,
  MalformedInputError,
  WrongPassphraseError,
  UnsupportedKeyError,
  CsrError,
  CaImportError,
  ProfileError,
  IssuanceError,
  ChainVerificationError,
  type ChainFailure,
} from './errors.ts';
export { pemEncode, pemDecodeAll, toHex, fromHex, sha256Hex, type PemBlock } from './der.ts';
export {
  generateP256,
  generateEd25519,
  encodePkcs8,
  decodePkcs8,
  parseSpki,
  spkiFromRaw,
  keyMatchesSpki,
  zeroizeKey,
  type KeyAlgorithm,
  type PublicKeyAlgorithm,
  type PublicKeyInfo,
  type PrivateKey,
} from './keys.ts';
export {
  encryptPkcs8,
  decryptPkcs8,
  encryptPrivateKeyPem,
  decryptPrivateKeyPem,
  DEFAULT_PBKDF2_ITERATIONS,
  type EncryptOptions,
} from './pkcs8-encryption.ts';
export { createFileSigner } from './file-signer.ts';
export { type Issuer } from './issuer.ts';
export {
  createDevelopmentCa,
  issueDevelopmentCaCertificates,
  issueCaCertificate,
  checkIssuingCa,
  checkIssuingCaCertificate,
  type DevelopmentCa,
  type DevelopmentCaOptions,
  type DevelopmentCaCertificatesRequest,
  type CaCertificateRequest,
  type IssuingCaCandidate,
  type IssuingCaCertificateCandidate,
} from './ca.ts';
export { resolveDeviceProfile, DEFAULT_DEVICE_PROFILE, type DeviceProfile } from './profile.ts';
export {
  sanUrisFor,
  hashIdForSan,
  imeiUrn,
  hardwareIdsFromSanUris,
  type SanMode,
  type SanIds,
  type HardwareIdKind,
} from './san.ts';
export {
  planDeviceCertificates,
  signDevicePlan,
  DevicePlan,
  DEVICE_ROLES,
  type DevicePlanInput,
  type PlannedCertificate,
  type IssuedCertificate,
  type IssuedDevice,
} from './issuance.ts';
export { verifyCsr, type VerifiedCsr } from './csr.ts';
export {
  buildCrl,
  CRL_REASONS,
  type CrlReason,
  type RevokedEntry,
  type CrlRequest,
  type SignedCrl,
} from './crl.ts';
export {
  describeCertificate,
  parseCertificate,
  type CertificateDescription,
  type ParsedCertificate,
  type DeviceRole,
} from './certificate-info.ts';
export { verifyChain, type VerifyChainOptions, type VerifiedChain } from './verify-chain.ts';
export { verifyX509Signature } from './signature-verify.ts';
export { pemBytes } from './pem-bytes.ts';
