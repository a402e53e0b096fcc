import { derTlv, fromHex, pemEncode } from './der.ts';
import { IssuanceError } from './errors.ts';
import { assertSignerMatches, issuerInfo, type Issuer } from './issuer.ts';
import { OID } from './oids.ts';
import {
  authorityKeyIdentifierValue,
  derSmallInt,
  derTime,
  derUnsignedInteger,
  encodeExtension,
  signatureAlgorithmDer,
  signTbs,
} from './x509-build.ts';

/** RFC 5280 §5.3.1 CRLReason values (7 is unused). */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type CrlReason = keyof typeof CRL_REASONS;

export interface RevokedEntry {
  /** Unsigned serial in hex, as CertificateDescription.serialHex / PlannedCertificate.serialHex. */
  serialHex: string;
  revokedAt: Date;
  /** Omitted from the entry when 'unspecified' (RFC 5280 recommends that). */
  reason: CrlReason;
}

export interface CrlRequest {
  issuer: Issuer;
  /** Monotonic CRL number (the caller persists it). */
  crlNumber: bigint | number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly RevokedEntry[];
}

export interface SignedCrl {
  der: Uint8Array;
  pem: string;
}

function bigintBytes(n: bigint): Uint8Array {
  if (n < 0n) throw new IssuanceError('CRL', 'CRL number must not be negative');
  const hex = n.toString(16);
  return fromHex(hex.length % 2 ? '0' + hex : hex);
}

/**
 * A v2 CRL signed through the issuer's signer: CRL number and AKI extensions, one entry
 * per revoked (or aborted) serial with its reason code.
 */
export async function buildCrl(req: CrlRequest): Promise<SignedCrl> {
  const info = issuerInfo(req.issuer.certificateDer);
  assertSignerMatches(info, req.issuer.signer, 'CRL');
  if (!(req.nextUpdate > req.thisUpdate))
    throw new IssuanceError('CRL', 'nextUpdate must be after thisUpdate');
  const crlNumber = bigintBytes(BigInt(req.crlNumber));
  if (crlNumber.length > 20) throw new IssuanceError('CRL', 'CRL number longer than 20 octets');
  const entries = req.entries.map((e) => {
    if (!/^[0-9a-f]+$/i.test(e.serialHex))
      throw new IssuanceError('CRL', `bad serial ${e.serialHex}`);
    const code = CRL_REASONS[e.reason];
    if (code === undefined) throw new IssuanceError('CRL', `unknown reason ${String(e.reason)}`);
    const serial = derUnsignedInteger(
      fromHex(e.serialHex.length % 2 ? '0' + e.serialHex : e.serialHex),
    );
    const parts = [serial, derTime(e.revokedAt)];
    if (code !== 0)
      parts.push(
        derTlv(0x30, encodeExtension(OID.crlReason, false, derTlv(0x0a, new Uint8Array([code])))),
      );
    return derTlv(0x30, ...parts);
  });
  const tbs = derTlv(
    0x30,
    derSmallInt(1), // v2
    signatureAlgorithmDer(req.issuer.signer.algorithm),
    info.certificate.subjectNameDer,
    derTime(req.thisUpdate),
    derTime(req.nextUpdate),
    ...(entries.length ? [derTlv(0x30, ...entries)] : []),
    derTlv(
      0xa0,
      derTlv(
        0x30,
        encodeExtension(
          OID.authorityKeyIdentifier,
          false,
          authorityKeyIdentifierValue(info.keyIdentifier),
        ),
        encodeExtension(OID.crlNumber, false, derUnsignedInteger(crlNumber)),
      ),
    ),
  );
  const der = await signTbs(tbs, req.issuer.signer, 'CRL');
  return { der, pem: pemEncode('X509 CRL', der) };
}
