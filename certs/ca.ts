import { CaImportError, ChainVerificationError } from './errors.ts';
import { createFileSigner } from './file-signer.ts';
import { generateP256, keyMatchesSpki, spkiFromRaw, type PrivateKey } from './keys.ts';
import {
  parseCertificate,
  toDescription,
  type CertificateDescription,
  type ParsedCertificate,
} from './certificate-info.ts';
import { issuerInfo, assertSignerMatches, type Issuer } from './issuer.ts';
import { OID } from './oids.ts';
import type { Signer } from './signer.ts';
import { verifyChain } from './verify-chain.ts';
import {
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  derOctetString,
  encodeExtension,
  encodeName,
  encodeTbsCertificate,
  keyIdentifier,
  keyUsageValue,
  randomSerial,
  signTbs,
  type NameAttribute,
} from './x509-build.ts';

const DAY_MS = 86_400_000;

export interface CaCertificateRequest {
  /** Subject attributes, root first (e.g. O then CN). */
  subject: readonly NameAttribute[];
  subjectSpki: Uint8Array;
  /** Max number of CA certificates below this one (basicConstraints pathLen). */
  pathLen: number;
  notBefore: Date;
  notAfter: Date;
  /** Omit for a self-signed root: `signer` then signs its own certificate. */
  issuer?: Issuer;
  signer: Signer;
}

/**
 * Issues a CA certificate (basicConstraints cA + pathLen, keyUsage keyCertSign|cRLSign, SKI,
 * AKI), self-signed when no issuer is given. Signing goes through the Signer, so the same
 * code serves file keys and token keys.
 */
export async function issueCaCertificate(req: CaCertificateRequest): Promise<Uint8Array> {
  const subjectNameDer = encodeName(req.subject);
  const ski = keyIdentifier(req.subjectSpki);
  let issuerNameDer = subjectNameDer;
  let aki = ski;
  let signer = req.signer;
  if (req.issuer) {
    const info = issuerInfo(req.issuer.certificateDer);
    assertSignerMatches(info, req.issuer.signer, 'CA certificate');
    issuerNameDer = info.certificate.subjectNameDer;
    aki = info.keyIdentifier;
    signer = req.issuer.signer;
  }
  const tbs = encodeTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: signer.algorithm,
    issuerNameDer,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    subjectNameDer,
    subjectPublicKeySpki: req.subjectSpki,
    extensions: [
      encodeExtension(OID.basicConstraints, true, basicConstraintsValue(true, req.pathLen)),
      encodeExtension(OID.keyUsage, true, keyUsageValue(['keyCertSign', 'cRLSign'])),
      encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(ski)),
      encodeExtension(OID.authorityKeyIdentifier, false, authorityKeyIdentifierValue(aki)),
    ],
  });
  return signTbs(tbs, signer, 'CA certificate');
}

export interface DevelopmentCaOptions {
  /** Organisation name in both CA subjects. */
  org: string;
  now?: Date;
  rootValidityDays?: number;
  issuingValidityDays?: number;
}

/** Freshly generated CA keys and certificates; the caller encrypts and then zeroizes the keys. */
export interface DevelopmentCa {
  root: { certificateDer: Uint8Array; key: PrivateKey };
  issuing: { certificateDer: Uint8Array; key: PrivateKey };
}

export interface DevelopmentCaCertificatesRequest extends DevelopmentCaOptions {
  /** The development root's key; the root CA certificate is self-signed with it. */
  rootKey: PrivateKey;
  /** Public key (SPKI DER) of the issuing CA, wherever its private half lives. */
  issuingSpki: Uint8Array;
}

/**
 * Certifies a development root (pathLen 1, self-signed) and an issuing CA under it
 * (pathLen 0), both valid from a minute before `now`. The root key is only read: the
 * signer made from it works on a copy and is disposed here; the caller still owns it.
 */
export async function issueDevelopmentCaCertificates(
  req: DevelopmentCaCertificatesRequest,
): Promise<{ rootDer: Uint8Array; issuingDer: Uint8Array }> {
  const now = req.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  const rootSigner = createFileSigner(
    { ...req.rootKey, secret: req.rootKey.secret.slice() },
    'memory:root-ca',
  );
  try {
    const rootDer = await issueCaCertificate({
      subject: [
        { oid: OID.organizationName, value: req.org },
        { oid: OID.commonName, value: `${req.org} Development Root CA` },
      ],
      subjectSpki: spkiFromRaw('p256', req.rootKey.publicKey),
      pathLen: 1,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (req.rootValidityDays ?? 9125) * DAY_MS),
      signer: rootSigner,
    });
    const issuingDer = await issueCaCertificate({
      subject: [
        { oid: OID.organizationName, value: req.org },
        { oid: OID.commonName, value: `${req.org} Issuing CA` },
      ],
      subjectSpki: req.issuingSpki,
      pathLen: 0,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (req.issuingValidityDays ?? 7300) * DAY_MS),
      issuer: { certificateDer: rootDer, signer: rootSigner },
      signer: rootSigner,
    });
    return { rootDer, issuingDer };
  } finally {
    rootSigner.dispose();
  }
}

/**
 * A development root CA (pathLen 1) and an issuing CA under it (pathLen 0), P-256 /
 * SHA-256. A production root is created offline; this one exists for development lines.
 */
export async function createDevelopmentCa(opts: DevelopmentCaOptions): Promise<DevelopmentCa> {
  const rootKey = generateP256();
  const issuingKey = generateP256();
  const { rootDer, issuingDer } = await issueDevelopmentCaCertificates({
    ...opts,
    rootKey,
    issuingSpki: spkiFromRaw('p256', issuingKey.publicKey),
  });
  return {
    root: { certificateDer: rootDer, key: rootKey },
    issuing: { certificateDer: issuingDer, key: issuingKey },
  };
}

export interface IssuingCaCertificateCandidate {
  certificateDer: Uint8Array;
  /** Certificates above it (intermediates and, last, the root) if the customer gave them. */
  chainDers?: Uint8Array[];
  now?: Date;
}

export interface IssuingCaCandidate extends IssuingCaCertificateCandidate {
  key: PrivateKey;
}

/**
 * Checks a customer's issuing CA certificate before import, wherever its key lives: a
 * currently valid CA certificate with a P-256 key, allowed to sign certificates and CRLs,
 * whose chain verifies when it is supplied up to a self-signed root. Throws CaImportError.
 */
export function checkIssuingCaCertificate(c: IssuingCaCertificateCandidate): ParsedCertificate {
  const cert = parseCertificate(c.certificateDer);
  const now = c.now ?? new Date();
  if (!cert.isCa)
    throw new CaImportError(
      `${cert.subject} is not a CA certificate (basicConstraints cA is not set)`,
    );
  if (cert.keyUsage && !cert.keyUsage.includes('keyCertSign'))
    throw new CaImportError(`${cert.subject} keyUsage lacks keyCertSign`);
  if (cert.keyUsage && !cert.keyUsage.includes('cRLSign'))
    throw new CaImportError(
      `${cert.subject} keyUsage lacks cRLSign (keyline signs the revocation list with it)`,
    );
  if (now < cert.notBefore || now > cert.notAfter)
    throw new CaImportError(
      `${cert.subject} is not valid now (${cert.notBefore.toISOString()} .. ${cert.notAfter.toISOString()})`,
    );
  if (cert.publicKey.algorithm !== 'p256')
    throw new CaImportError(
      `${cert.subject} has a ${cert.publicKey.algorithm} key; keyline issues with P-256`,
    );
  const chain = c.chainDers ?? [];
  const top = chain.length ? parseCertificate(chain[chain.length - 1]) : undefined;
  if (top?.selfIssued) {
    try {
      verifyChain(c.certificateDer, chain.slice(0, -1), chain[chain.length - 1], { at: now });
    } catch (e) {
      if (e instanceof ChainVerificationError)
        throw new CaImportError(`its chain does not verify: ${e.message}`);
      throw e;
    }
  }
  return cert;
}

/**
 * Checks a customer's issuing CA with its key in hand: the certificate as
 * checkIssuingCaCertificate does, and a P-256 private key matching it.
 */
export function checkIssuingCa(c: IssuingCaCandidate): CertificateDescription {
  const cert = checkIssuingCaCertificate(c);
  if (c.key.algorithm !== 'p256' || !keyMatchesSpki(c.key, cert.spkiDer))
    throw new CaImportError(`the private key does not match the certificate ${cert.subject}`);
  return toDescription(cert);
}
