import { bytesEqual, toHex } from './der.ts';
import { IssuanceError } from './errors.ts';
import { parseCertificate, type ParsedCertificate } from './certificate-info.ts';
import { keyIdentifier } from './x509-build.ts';
import type { Signer } from './signer.ts';

/** The issuing CA as issuance sees it: its certificate plus a signer for its key. */
export interface Issuer {
  certificateDer: Uint8Array;
  signer: Signer;
}

/** What building a TBS needs from the issuer certificate, parsed once per certificate. */
export interface IssuerInfo {
  certificate: ParsedCertificate;
  /** AKI for certificates it issues: its SKI, or one computed from its key. */
  keyIdentifier: Uint8Array;
}

const cache = new WeakMap<Uint8Array, IssuerInfo>();

export function issuerInfo(certificateDer: Uint8Array): IssuerInfo {
  let info = cache.get(certificateDer);
  if (!info) {
    const certificate = parseCertificate(certificateDer);
    const keyId = certificate.subjectKeyIdentifierHex
      ? new Uint8Array(Buffer.from(certificate.subjectKeyIdentifierHex, 'hex'))
      : keyIdentifier(certificate.spkiDer);
    info = { certificate, keyIdentifier: keyId };
    cache.set(certificateDer, info);
  }
  return info;
}

/** Refuses a signer whose key is not the one in the issuer certificate. */
export function assertSignerMatches(info: IssuerInfo, signer: Signer, step: string): void {
  if (!bytesEqual(signer.publicKeySpki(), info.certificate.spkiDer))
    throw new IssuanceError(
      step,
      `signer ${signer.location} does not hold the key of issuer ${info.certificate.subject} ` +
        `(certificate key id ${toHex(info.keyIdentifier)})`,
    );
}
