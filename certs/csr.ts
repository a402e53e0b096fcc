import { pkijs } from './pkijs-engine.ts';
import { derFromInput, encodeDer, parseDer } from './der.ts';
import { CsrError, MalformedInputError, PkiError } from './errors.ts';
import { parseSpki, type PublicKeyInfo } from './keys.ts';
import { verifyX509Signature } from './signature-verify.ts';

/** A CSR whose self-signature has been checked. Only its public key is used for issuance. */
export interface VerifiedCsr {
  publicKey: PublicKeyInfo;
  publicKeySpki: Uint8Array;
  /** Subject as the board wrote it (informational: keyline sets the subject itself). */
  subject: string;
}

/**
 * Parses a PKCS#10 request (DER or PEM) and verifies its signature with the key it
 * carries. Only P-256 keys are accepted (device keys are P-256). Throws CsrError.
 */
export function verifyCsr(input: Uint8Array | string): VerifiedCsr {
  let req: pkijs.CertificationRequest;
  try {
    const der = derFromInput(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'CSR');
    req = new pkijs.CertificationRequest({ schema: parseDer(der, 'CSR') });
  } catch (e) {
    if (e instanceof MalformedInputError) throw new CsrError(e.message);
    throw new CsrError(`does not parse: ${(e as Error).message}`);
  }
  let spkiDer: Uint8Array;
  let publicKey: PublicKeyInfo;
  try {
    spkiDer = encodeDer(req.subjectPublicKeyInfo.toSchema());
    publicKey = parseSpki(spkiDer);
  } catch (e) {
    throw new CsrError(`public key: ${e instanceof PkiError ? e.message : (e as Error).message}`);
  }
  if (publicKey.algorithm !== 'p256')
    throw new CsrError(`key is ${publicKey.algorithm}; device keys must be P-256`);
  const ok = verifyX509Signature(
    req.signatureAlgorithm.algorithmId,
    publicKey,
    new Uint8Array(req.tbsView),
    new Uint8Array(req.signatureValue.valueBlock.valueHexView),
  );
  if (ok === undefined)
    throw new CsrError(
      `signature algorithm ${req.signatureAlgorithm.algorithmId} is not supported`,
    );
  if (!ok) throw new CsrError('signature does not verify with the key in the request');
  const subject = req.subject.typesAndValues
    .map(
      (tv) =>
        `${tv.type}=${String((tv.value as { valueBlock: { value: unknown } }).valueBlock.value)}`,
    )
    .join(',');
  return { publicKey, publicKeySpki: spkiDer, subject };
}
