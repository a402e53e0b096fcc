import { bytesEqual } from './der.ts';
import { ChainVerificationError, type ChainFailure } from './errors.ts';
import {
  parseCertificate,
  toDescription,
  type CertificateDescription,
  type ParsedCertificate,
} from './certificate-info.ts';
import { UNDERSTOOD_CRITICAL_EXTENSIONS } from './oids.ts';
import { verifyX509Signature } from './signature-verify.ts';

export interface VerifyChainOptions {
  /** Time at which validity is checked (default: now). */
  at?: Date;
}

export interface VerifiedChain {
  /** Leaf first, trust anchor last. */
  path: CertificateDescription[];
}

function fail(reason: ChainFailure, depth: number, cert: ParsedCertificate, detail: string): never {
  throw new ChainVerificationError(reason, depth, cert.subject, detail);
}

function checkValidity(cert: ParsedCertificate, depth: number, at: Date): void {
  if (at < cert.notBefore)
    fail('not-yet-valid', depth, cert, `valid from ${cert.notBefore.toISOString()}`);
  if (at > cert.notAfter) fail('expired', depth, cert, `expired ${cert.notAfter.toISOString()}`);
}

function checkCriticalExtensions(cert: ParsedCertificate, depth: number): void {
  for (const oid of cert.criticalExtensions)
    if (!UNDERSTOOD_CRITICAL_EXTENSIONS.has(oid))
      fail('unknown-critical-extension', depth, cert, `critical extension ${oid}`);
}

function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  if (!bytesEqual(child.issuerNameDer, parent.subjectNameDer)) return false;
  if (child.authorityKeyIdentifierHex && parent.subjectKeyIdentifierHex)
    return child.authorityKeyIdentifierHex === parent.subjectKeyIdentifierHex;
  return true;
}

function checkSignedBy(child: ParsedCertificate, parent: ParsedCertificate, depth: number): void {
  const ok = verifyX509Signature(
    child.signatureAlgorithmOid,
    parent.publicKey,
    child.tbsDer,
    child.signature,
  );
  if (ok === undefined)
    fail(
      'unsupported-algorithm',
      depth,
      child,
      `signature ${child.signatureAlgorithmOid} with a ${parent.publicKey.algorithm} issuer key`,
    );
  if (!ok) fail('bad-signature', depth, child, `signature does not verify under ${parent.subject}`);
}

/**
 * Verifies leaf → intermediates → root in pure TypeScript: names and key identifiers chain,
 * every signature verifies, every certificate is within its validity at `opts.at`, every
 * issuer is a CA allowed to sign certificates (basicConstraints cA, keyUsage keyCertSign
 * when present) within its pathLenConstraint, and no certificate carries a critical
 * extension keyline does not understand. The root is the trust anchor: it must be the
 * certificate passed as `rootDer` (its self-signature is checked too).
 * Intermediates may be given in any order. Throws ChainVerificationError on failure.
 */
export function verifyChain(
  leafDer: Uint8Array | string,
  intermediates: ReadonlyArray<Uint8Array | string>,
  rootDer: Uint8Array | string,
  opts: VerifyChainOptions = {},
): VerifiedChain {
  const at = opts.at ?? new Date();
  const leaf = parseCertificate(leafDer);
  const root = parseCertificate(rootDer);
  const pool = intermediates.map((c) => parseCertificate(c));
  const path: ParsedCertificate[] = [leaf];

  let current = leaf;
  for (let depth = 0; ; depth++) {
    checkValidity(current, depth, at);
    checkCriticalExtensions(current, depth);
    if (bytesEqual(current.der, root.der)) break;
    let parent: ParsedCertificate | undefined;
    if (issuedBy(current, root)) parent = root;
    else parent = pool.find((c) => issuedBy(current, c) && !path.includes(c));
    if (!parent)
      fail(
        current.selfIssued ? 'untrusted-root' : 'no-issuer',
        depth,
        current,
        `no certificate for issuer ${current.issuer}` +
          (current.authorityKeyIdentifierHex
            ? ` (key id ${current.authorityKeyIdentifierHex})`
            : ''),
      );
    checkSignedBy(current, parent, depth);
    const pd = depth + 1;
    if (!parent.isCa) fail('issuer-not-ca', pd, parent, 'basicConstraints cA is not set');
    if (parent.keyUsage && !parent.keyUsage.includes('keyCertSign'))
      fail('issuer-cannot-sign-certs', pd, parent, 'keyUsage lacks keyCertSign');
    // pathLen counts the non-self-issued intermediates below this CA (RFC 5280 §4.2.1.9).
    const intermediatesBelow = path.slice(1).filter((c) => !c.selfIssued).length;
    if (parent.pathLenConstraint !== undefined && intermediatesBelow > parent.pathLenConstraint)
      fail(
        'path-length-exceeded',
        pd,
        parent,
        `pathLenConstraint ${parent.pathLenConstraint}, ${intermediatesBelow} CA certificates below`,
      );
    path.push(parent);
    current = parent;
    if (path.length > 8) fail('no-issuer', pd, parent, 'chain longer than 8 certificates');
  }
  // The anchor's own signature: catches a corrupted or substituted root file.
  if (root.selfIssued) checkSignedBy(root, root, path.length - 1);
  return { path: path.map(toDescription) };
}
